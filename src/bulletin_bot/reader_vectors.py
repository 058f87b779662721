"""The reader's own vectors of every chunk of a version, computed after its build.

The index's model (static-zh) embeds a whole archive in seconds, but a question in the user's
own words shares few words, and little of static-zh's meaning, with the passage that answers
it. The reader (multilingual-e5-small, the model that already judges whether a passage answers)
does read such a question, and the second stage weighs its cosine between the question and each
candidate's chunks (ranking/second_stage.py). The reader takes about 0.1 s a chunk on two cores
(about an hour for an archive of 826 issues), so it is not part of the build: a new version is
served at once, ranked without these vectors, and with them from the moment they are complete.

They live beside the versions, in `reader/<version>.npy` (float16, one row per chunk), written
once and renamed into place, so a version folder is still never changed after its switch. Each
vector also goes into the embedding cache as soon as it is made, so a run that is killed, or the
next version's run, reads only the chunks no run has read before.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .models import Progress, ProgressCallback
from .store import IndexPaths, VectorCache, read_manifest, text_key

BATCH = 64  # chunks read (and committed to the cache) per step: about 6 s on two cores
# past this many chunks (about 5,000 issues; some 5 hours of reading here) no pass is started:
# a province's archive would keep both cores busy for days, and is ranked without the vectors
MAX_CHUNKS = 250_000
DTYPE = np.float16  # the cosines need no more, and the file is half the size


@dataclass(frozen=True)
class ReaderOutcome:
    version: str
    chunks: int
    read: int  # chunks the reader read this time
    cached: int  # chunks whose vectors came from the cache
    complete: bool  # False when stopped before the end (what was read is in the cache)


def _chunk_texts(version_dir: Path) -> list[str]:
    """Each chunk's text as the index embedded it (title, newline, the chunk)."""
    from .indexer import chunk_embed_text

    chunks = np.load(version_dir / "chunks.npy", allow_pickle=False)
    db = sqlite3.connect(f"file:{version_dir / 'docs.sqlite'}?mode=ro&immutable=1", uri=True)
    try:
        articles = {i: (t, x) for i, t, x in db.execute("SELECT id, title, text FROM articles")}
    finally:
        db.close()
    return [chunk_embed_text(articles[int(a)][0], articles[int(a)][1][int(s):int(e)]) for a, s, e in chunks]


def missing(paths: IndexPaths) -> str | None:
    """The current version, when its reader vectors are not there yet (None: nothing to do)."""
    target = paths.current_target()
    if target is None:
        return None
    version = str(read_manifest(target)["version"])
    return None if paths.reader_file(version).is_file() else version


def compute(paths: IndexPaths, reader, progress: ProgressCallback | None = None,
            stop: Callable[[], bool] | None = None) -> ReaderOutcome | None:
    """Read every chunk of the current version with `reader` (embedding.E5Reader) and write its
    vectors file; None when there is no index or the file is already there. `stop` is asked
    between batches: when it says so, the run ends early (what it read stays in the cache)."""
    target = paths.current_target()
    if target is None:
        return None
    version = str(read_manifest(target)["version"])
    out_path = paths.reader_file(version)
    if out_path.is_file():
        return None
    texts = _chunk_texts(target)
    keys = [text_key(reader.model_id, t) for t in texts]
    vectors = np.zeros((len(texts), reader.dimension), dtype=DTYPE)
    cache = VectorCache(paths.cache)
    try:
        found = cache.get_vectors(keys, reader.dimension)
        todo: list[int] = []
        first_of: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            vec = found.get(k)
            if vec is not None:
                vectors[i] = vec
            elif first_of.setdefault(k, i) == i:  # repeated boilerplate is read once
                todo.append(i)
        cached = len(texts) - sum(1 for k in keys if k not in found)
        if progress:
            progress(Progress("read", 0, len(todo), f"{cached} cached"))
        for start in range(0, len(todo), BATCH):
            if stop is not None and stop():
                return ReaderOutcome(version, len(texts), start, cached, False)
            batch = todo[start : start + BATCH]
            vecs = reader.passage_vectors([texts[i] for i in batch])
            cache.put_vectors([keys[i] for i in batch], vecs)
            vectors[batch] = vecs
            if progress:
                progress(Progress("read", start + len(batch), len(todo)))
        for i, k in enumerate(keys):
            if k not in found and first_of[k] != i:
                vectors[i] = vectors[first_of[k]]
    finally:
        cache.close()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, vectors, allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out_path)
    return ReaderOutcome(version, len(texts), len(todo), cached, True)


def clean_up(paths: IndexPaths) -> None:
    """Remove the vectors of versions that are gone, and temporary files of killed runs."""
    folder = paths.reader
    if not folder.is_dir():
        return
    kept = {p.name for p in paths.all_versions()} if paths.versions.is_dir() else set()
    for p in folder.iterdir():
        if p.name.startswith(".") or p.stem not in kept:
            p.unlink(missing_ok=True)
