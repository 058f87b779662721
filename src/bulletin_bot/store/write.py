"""Writing a version: the single-writer lock, the files of a version, the atomic switch, clean-up."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bm25 import BM25Index
from ..errors import IndexBusy
from .docs import write_docs
from .layout import (
    ARTICLE_DTYPE,
    EXACT_SEARCH_LIMIT,
    IVF_LISTS,
    IVF_NPROBE,
    IVF_TRAIN_PER_LIST,
    ISSUE_DTYPE,
    KEEP_VERSIONS,
    IndexPaths,
    date_int,
)

@contextmanager
def build_lock(paths: IndexPaths, wait: float = 0.0) -> Iterator[None]:
    """Hold the single-writer lock; raise IndexBusy if another build has it after `wait` s."""
    paths.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = ""
                    try:
                        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
                    except OSError:
                        pass
                    who = f" (process {holder})" if holder else ""
                    raise IndexBusy(
                        f"another index build is running on {paths.root}{who}; "
                        "wait for it to finish (or use --wait SECONDS)"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing drops the flock; a killed process drops it too


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class VersionData:
    """Everything a version holds, ready to be written."""

    manifest: dict
    issues: list[dict]  # series, number, date, office, sections, file, encoding, article_count, volume
    articles: list[dict]  # issue (row), index, section, title, text
    chunks: np.ndarray  # CHUNK_DTYPE
    vectors: np.ndarray  # float32 (n_chunks, dim), normalised
    bm25: BM25Index


def trained_ivf(vectors: np.ndarray, lists: int):
    """An empty inverted file of `lists` lists, its centroids trained on an even sample of
    `vectors` (a fixed seed: the same archive, the same lists), probed IVF_NPROBE wide."""
    import faiss

    n, dim = vectors.shape
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
    rows = np.sort(np.random.default_rng(0).choice(n, size=min(n, lists * IVF_TRAIN_PER_LIST), replace=False))
    index.train(np.ascontiguousarray(vectors[rows], dtype=np.float32))
    index.nprobe = IVF_NPROBE
    return index


def _build_faiss(vectors: np.ndarray):
    import faiss

    dim, n = vectors.shape[1], vectors.shape[0]
    # building uses every core; searching stays on one (see LoadedIndex)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        if n <= EXACT_SEARCH_LIMIT:
            index = faiss.IndexFlatIP(dim)
        else:
            index = trained_ivf(vectors, max(1, min(IVF_LISTS, n // IVF_TRAIN_PER_LIST)))
        if n:
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    finally:
        faiss.omp_set_num_threads(1)
    return index


def write_version(paths: IndexPaths, data: VersionData, on_step=None) -> Path:
    """Write a complete version beside the current one; return its folder (not yet current)."""
    import faiss

    name = data.manifest["version"]
    paths.versions.mkdir(parents=True, exist_ok=True)
    tmp = paths.versions / f".tmp-{name}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    sections = data.manifest["sections"]
    section_ids = {s: i for i, s in enumerate(sections)}
    issue_arr = np.array([(r["number"], date_int(r["date"])) for r in data.issues], dtype=ISSUE_DTYPE)
    article_arr = np.array(
        [(r["issue"], r["index"], section_ids[r["section"]]) for r in data.articles], dtype=ARTICLE_DTYPE
    )
    np.save(tmp / "issues.npy", issue_arr, allow_pickle=False)
    np.save(tmp / "articles.npy", article_arr, allow_pickle=False)
    np.save(tmp / "chunks.npy", data.chunks, allow_pickle=False)
    np.save(tmp / "vectors.npy", np.ascontiguousarray(data.vectors, dtype=np.float32), allow_pickle=False)
    if on_step:
        on_step("docs")
    write_docs(tmp / "docs.sqlite", data.issues, data.articles)
    data.bm25.save(tmp)
    if on_step:
        on_step("faiss")
    if data.manifest.get("backend", {}).get("name") == "milvus":
        data.manifest["faiss"] = None  # Milvus searches the vectors (HNSW over 5M chunks would take ~20 min here)
    else:
        index = _build_faiss(data.vectors)
        faiss.write_index(index, str(tmp / "dense.faiss"))
        data.manifest["faiss"] = type(index).__name__
    # the manifest goes last: a folder without one is never loaded
    (tmp / "manifest.json").write_text(json.dumps(data.manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    _fsync_dir(tmp)
    final = paths.versions / name
    os.rename(tmp, final)
    _fsync_dir(paths.versions)
    return final


def switch_current(paths: IndexPaths, version_dir: Path) -> None:
    """Point `current` at `version_dir` with one atomic rename."""
    link_tmp = paths.root / f".current-{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(os.path.relpath(version_dir, paths.root), link_tmp)
    os.replace(link_tmp, paths.current)
    _fsync_dir(paths.root)


def clean_up(paths: IndexPaths) -> None:
    """Remove half-written folders of killed builds and versions older than the last few.

    Call only while holding the build lock.
    """
    if not paths.versions.is_dir():
        return
    for p in paths.versions.iterdir():
        if p.name.startswith(".tmp-"):
            shutil.rmtree(p, ignore_errors=True)
    current = paths.current_target()
    current_real = current.resolve() if current else None
    others = [p for p in paths.all_versions() if p.resolve() != current_real]
    for p in others[KEEP_VERSIONS - 1 :]:
        shutil.rmtree(p, ignore_errors=True)
    for p in paths.root.glob(".current-*"):
        p.unlink(missing_ok=True)
