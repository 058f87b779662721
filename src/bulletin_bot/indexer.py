"""Corpus folder -> a new index version, incrementally.

Only new or changed files (by content hash) are parsed; unchanged ones are read back from the
current version. Every chunk's vector comes from the cache when the same model has embedded
the same text before, so an unchanged corpus embeds nothing, and a build killed half way
resumes where it stopped. The new version is switched in only when complete.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .bm25 import BM25Builder
from .chunking import ChunkerSettings, chunk_spans
from .corpus import OUTSIDE, corpus_files, duplicate_key
from .errors import BulletinError, ParseError
from .models import FileProblem, IndexReport, Issue, Progress, ProgressCallback
from .parsing import PARSER_VERSION, issue_label, parse_bytes
from .readers import SUPPORTED_LABEL
from .sandbox import ParseLimits, ParsePool, cpu_workers
from .store import (
    read_issues,
    CHUNK_DTYPE,
    FORMAT_VERSION,
    IndexPaths,
    LoadedIndex,
    VersionData,
    build_lock,
    clean_up,
    new_version_name,
    read_manifest,
    switch_current,
    write_version,
)
from .text import TOKENIZER_VERSION, search_tokens
from .store import VectorCache, text_key

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
EMBED_BATCH = 128  # texts per cache commit: a killed build loses at most this much work
CHEAP_EMBED_BATCH = 1024  # a cheap model (static-zh) does 1024 in ~0.1 s; bigger batches run ~20% faster
DUPLICATE = "duplicate of "
KEPT = "kept"  # a file record's status: unreadable now, its last good issue still served


@dataclass(frozen=True)
class BuildOptions:
    corpus: Path
    index: Path
    model_name: str
    chunker: ChunkerSettings = ChunkerSettings()
    max_bytes: int = DEFAULT_MAX_BYTES
    strict: bool = False
    wait: float = 0.0
    # every file is parsed in worker processes under these limits (see sandbox.py); None parses
    # in this process, for measurements only
    parse_limits: ParseLimits | None = ParseLimits()
    parse_workers: int = 0  # 0: one per core
    # "embedded" (FAISS and BM25 in the folder) or "milvus": the first stage's candidate lists
    # also come from a Milvus collection at `milvus_uri` (see store/milvus.py)
    backend: str = "embedded"
    milvus_uri: str = ""


def chunk_embed_text(title: str, body: str) -> str:
    """What is embedded and tokenised for a chunk: the title gives every chunk its topic."""
    return f"{title}\n{body}"


def embed_batch_size(embedder) -> int:
    """Texts embedded (and committed to the vector cache) per step of a build."""
    return CHEAP_EMBED_BATCH if getattr(embedder, "cheap", False) else EMBED_BATCH


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unreadable(exc: OSError) -> str:
    """Why a corpus file could not be read, for the admin."""
    if isinstance(exc, FileNotFoundError):
        return "removed while the index was being built"
    return f"cannot read the file: {exc.strerror or exc}"


def _parse_all(jobs, options: BuildOptions):
    """(file, Issue or ParseError) for each (file, data) job, parsed as `options` say."""
    if options.parse_limits is None:
        for rel, data in jobs:
            try:
                yield rel, parse_bytes(data, rel)
            except ParseError as exc:
                yield rel, exc
        return
    with ParsePool(options.parse_limits, options.parse_workers or cpu_workers()) as pool:
        yield from pool.parse_many(jobs)


def _previous(paths: IndexPaths) -> tuple[dict, Path | None]:
    """Manifest and folder of the current version, if it is one we can reuse."""
    target = paths.current_target()
    if target is None:
        return {}, None
    try:
        manifest = read_manifest(target)
    except BulletinError:
        return {}, None
    if manifest.get("format_version") != FORMAT_VERSION or not (target / "docs.sqlite").is_file():
        return {}, None
    return manifest, target


def _served(record: dict | None) -> bool:
    """Was this file's issue in the version being replaced (read from it, or kept from before)?"""
    return record is not None and record.get("status") in ("indexed", KEPT)


def _tally(category: dict[str, str], left_out: set[str]) -> dict[str, int]:
    """added/changed/unchanged over the files that are in the new version as read now: a file
    kept from before or left out is counted there, once, and not here too."""
    out = {"added": 0, "changed": 0, "unchanged": 0}
    for rel, what in category.items():
        if rel not in left_out:
            out[what] += 1
    return out


def _loads(version_dir: Path) -> bool:
    """Does the version pass the checks readers make? A damaged one must be rebuilt, not kept."""
    try:
        LoadedIndex(version_dir).close()
    except BulletinError:
        return False
    return True


def _listed(problems: dict[str, str], files: set[str]) -> tuple[FileProblem, ...]:
    return tuple(FileProblem(f, problems[f]) for f in sorted(files))


def _backend_of(manifest: dict) -> dict:
    return manifest.get("backend", {"name": "embedded"})


def _collections_named(paths: IndexPaths) -> set[str]:
    """The Milvus collections the version folders name (a damaged folder names none)."""
    named = set()
    for version_dir in paths.all_versions():
        try:
            named.add(_backend_of(read_manifest(version_dir)).get("collection"))
        except BulletinError:
            continue
    return {n for n in named if n}


def _same_backend(old: dict, options: BuildOptions) -> bool:
    """Is the version built for the backend (and Milvus server) asked for now?"""
    if options.backend != "milvus":
        return old.get("name") == "embedded"
    return old.get("name") == "milvus" and old.get("uri") == options.milvus_uri


def _write_milvus(options: BuildOptions, version: str, issue_rows: list[dict], article_rows: list[dict],
                  chunks: np.ndarray, texts: list[str], vectors: np.ndarray) -> str:
    from .store import date_int
    from .store.milvus import ChunkRows, write_collection

    art = np.asarray(chunks["article"], dtype=np.int64)
    art_issue = np.array([r["issue"] for r in article_rows], dtype=np.int64)
    art_section = [r["section"] for r in article_rows]
    issue = art_issue[art] if len(art) else np.zeros(0, dtype=np.int64)
    number = np.array([r["number"] for r in issue_rows], dtype=np.int64)
    day = np.array([date_int(r["date"]) for r in issue_rows], dtype=np.int64)
    rows = ChunkRows(article=art, issue=issue, number=number[issue] if len(issue) else issue,
                     date=day[issue] if len(issue) else issue, section=[art_section[a] for a in art.tolist()],
                     text=texts, vectors=vectors)
    return write_collection(options.milvus_uri, _milvus_tag(IndexPaths(options.index)), version, rows)


def _milvus_tag(paths: IndexPaths) -> str:
    """This index folder's own name among the collections of a Milvus server, made once."""
    import secrets

    tag_file = paths.root / "milvus-tag"
    if not tag_file.is_file():
        tag_file.write_text(secrets.token_hex(4), encoding="ascii")
    return tag_file.read_text(encoding="ascii").strip()


def _emit(progress: ProgressCallback | None, stage: str, done: int, total: int, message: str = "") -> None:
    if progress:
        progress(Progress(stage, done, total, message))


def build_index(options: BuildOptions, embedder, progress: ProgressCallback | None = None) -> IndexReport:
    """Bring the index in `options.index` up to date with `options.corpus`."""
    started = time.monotonic()
    paths = IndexPaths(options.index)
    if not options.corpus.is_dir():
        raise BulletinError(f"corpus folder {options.corpus} does not exist")
    with build_lock(paths, wait=options.wait):
        clean_up(paths)
        old_manifest, old_dir = prev_manifest, prev_dir = _previous(paths)
        # the files of the version served now: an issue whose file turns unreadable is kept from it
        prev_files: dict[str, dict] = prev_manifest.get("files", {})
        if old_manifest.get("parser") != PARSER_VERSION:
            # a newer parser reads files differently: parse everything again (vectors of
            # unchanged text still come from the cache)
            old_manifest, old_dir = {}, None
        old_files: dict[str, dict] = old_manifest.get("files", {})

        # 1. scan: hash every file, parse only what is new or changed (in worker processes,
        # while this one goes on reading and hashing)
        outside: list[Path] = []
        files = corpus_files([options.corpus], outside=outside)
        _emit(progress, "scan", 0, len(files), f"{len(files)} files")
        records: dict[str, dict] = {}
        parsed: dict[str, Issue] = {}
        problems: dict[str, str] = {path.relative_to(options.corpus).as_posix(): OUTSIDE for path in outside}
        reuse: set[str] = set()
        kept: set[str] = set()  # served before, unreadable now: their last good issue is kept
        counts = {"added": 0, "changed": 0, "unchanged": 0}  # what decides whether to build
        category: dict[str, str] = {}  # each file's key of `counts`, for the report
        scanned = [0]

        def count(rel: str, what: str) -> None:
            counts[what] += 1
            category[rel] = what

        def to_parse():
            for n, path in enumerate(files, 1):
                scanned[0] = n
                rel = path.relative_to(options.corpus).as_posix()
                old = old_files.get(rel)
                try:
                    size = path.stat().st_size
                    data = None if size > options.max_bytes else path.read_bytes()
                except OSError as exc:
                    problems[rel] = unreadable(exc)
                    if isinstance(exc, FileNotFoundError):
                        continue  # gone: counted as removed if it was indexed
                    # no hash: whatever can be read next time is parsed again
                    records[rel] = {"sha256": "", "size": 0}
                    if _served(prev_files.get(rel)):
                        kept.add(rel)
                        count(rel, "unchanged")
                    else:
                        count(rel, "added" if old is None else "changed")
                    continue
                if data is None:
                    mb = 1024 * 1024
                    problems[rel] = f"file is {size / mb:.1f} MB, over the {options.max_bytes / mb:g} MB limit"
                    records[rel] = {"sha256": "", "size": size}
                    # counted like any file, so a new one is not "up to date"
                    same = old is not None and old.get("sha256") == "" and old.get("size") == size
                    count(rel, "added" if old is None else "unchanged" if same else "changed")
                    if _served(prev_files.get(rel)):
                        kept.add(rel)
                    continue
                digest = _sha256(data)
                records[rel] = {"sha256": digest, "size": size}
                if old is None:
                    count(rel, "added")
                elif old.get("sha256") == digest:
                    count(rel, "unchanged")
                    if old.get("status") == "indexed":
                        reuse.add(rel)
                        continue
                    if old.get("status") == KEPT:  # the same bad copy: still served from before
                        kept.add(rel)
                        problems[rel] = old.get("reason", "")
                        continue
                    if old.get("status") == "problem" and not old.get("reason", "").startswith(DUPLICATE):
                        problems[rel] = old["reason"]
                        continue
                else:
                    count(rel, "changed")
                yield rel, data

        for rel, outcome in _parse_all(to_parse(), options):
            if isinstance(outcome, ParseError):
                problems[rel] = outcome.reason
                if _served(prev_files.get(rel)):  # a bad copy of an indexed issue: keep the good one
                    kept.add(rel)
            else:
                parsed[rel] = outcome
            _emit(progress, "parse", scanned[0], len(files), rel)
        if old_dir is not None:
            parsed.update(read_issues(old_dir, reuse))
        if prev_dir is not None and kept:
            parsed.update(read_issues(prev_dir, kept))
        kept &= parsed.keys()  # one the served version no longer holds is only a failed file
        missing_reused = sorted(reuse - parsed.keys() - kept)

        def reread():
            for rel in missing_reused:  # the old table lost them: parse again
                try:
                    yield rel, (options.corpus / rel).read_bytes()
                except OSError as exc:
                    problems[rel] = unreadable(exc)

        for rel, outcome in _parse_all(reread(), options):
            if isinstance(outcome, ParseError):
                problems[rel] = outcome.reason
            else:
                parsed[rel] = outcome
        removed = sorted(set(old_files) - set(records))

        # 2. duplicates: a file already indexed keeps its issue; among new ones, the first in name
        # order; an issue kept from before yields to any readable file of it (the admin's fix)
        def precedence(rel: str) -> tuple[int, str]:
            return (2 if rel in kept else 0 if old_files.get(rel, {}).get("status") == "indexed" else 1, rel)

        owners: dict[tuple[str, int, str], str] = {}
        issues: list[Issue] = []
        for rel in sorted(parsed, key=precedence):
            issue = parsed[rel]
            key = duplicate_key(issue)
            if key in owners:
                if rel in kept:
                    kept.discard(rel)  # its own reason stays: it is now just a failed file
                else:
                    problems[rel] = f"{DUPLICATE}{owners[key]} (same series and {issue_label(issue)})"
                continue
            owners[key] = rel
            issues.append(issue)
        if options.strict and problems:
            first = sorted(problems.items())[0]
            raise BulletinError(
                f"--strict: {len(problems)} bad file(s), nothing changed; first: {first[0]}: {first[1]}"
            )

        changed_anything = counts["added"] or counts["changed"] or removed
        same_build = (
            old_manifest.get("model_id") == embedder.model_id
            and old_manifest.get("chunker") == options.chunker.as_dict()
            and old_manifest.get("tokenizer") == TOKENIZER_VERSION
            and _same_backend(_backend_of(old_manifest), options)
        )
        if old_dir is not None and same_build and not changed_anything and _loads(old_dir):
            _emit(progress, "done", 1, 1, "index is up to date")
            c = old_manifest["counts"]
            return IndexReport(
                built=False, version=old_manifest["version"], added=0, changed=0, removed=0,
                unchanged=_tally(category, set(problems))["unchanged"], issues=c["issues"], articles=c["articles"],
                chunks=c["chunks"], embedded=0, reused=0, seconds=time.monotonic() - started,
                problems=_listed(problems, set(problems) - kept), kept=_listed(problems, kept),
                suspect=tuple(FileProblem(p["file"], p["reason"]) for p in old_manifest.get("suspect", [])),
            )
        if not issues and not (removed and not problems):
            # (every file deleted on purpose is the one case that builds an empty index: a
            # deleted issue must never be quoted again)
            if not problems:
                raise BulletinError(f"no issue in {options.corpus} could be indexed (the folder has no {SUPPORTED_LABEL} file)")
            shown = sorted(problems.items())[:20]
            more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
            raise BulletinError(  # the caller never gets a report, so the reasons travel in the message
                f"no issue in {options.corpus} could be indexed; {len(problems)} file(s) refused:\n"
                + "\n".join(f"  {f}: {r}" for f, r in shown) + more
            )

        # 3. rows and chunks
        issues.sort(key=lambda i: (i.date, i.series, i.number, i.file))
        issue_rows, article_rows, chunk_rows, texts = [], [], [], []
        sections: dict[str, None] = {}
        for issue in issues:
            issue_id = len(issue_rows)
            issue_rows.append({
                "series": issue.series, "number": issue.number, "date": issue.date, "office": issue.office,
                "sections": list(issue.sections), "file": issue.file, "encoding": issue.encoding,
                "article_count": len(issue.articles), "volume": issue.volume,
            })
            for art in issue.articles:
                sections.setdefault(art.section, None)
                article_id = len(article_rows)
                body = art.text
                article_rows.append({"issue": issue_id, "index": art.index, "section": art.section,
                                     "title": art.title, "text": body})
                for start, end in chunk_spans(body, options.chunker):
                    chunk_rows.append((article_id, start, end))
                    texts.append(chunk_embed_text(art.title, body[start:end]))
        chunks = np.array(chunk_rows, dtype=CHUNK_DTYPE)
        # memory: a 5M-chunk build held every issue's paragraphs and a tuple per chunk until the
        # end; `article_rows` has each body and `chunks` the spans, and the file records below
        # need only an issue's masthead, so both go before the vectors are allocated
        del chunk_rows, issues
        parsed = {rel: replace(iss, articles=()) for rel, iss in parsed.items()}
        n_chunks = len(texts)

        cache = VectorCache(paths.cache)
        try:
            # 4. BM25 tokens: not cached, since jieba-rs cuts them faster than a cache reads them back;
            # counted batch by batch, since the token lists of 5M chunks did not fit in 21 GB
            builder = BM25Builder()
            for start in range(0, n_chunks, 2000):
                builder.add([search_tokens(t) for t in texts[start : start + 2000]])
                _emit(progress, "tokens", min(start + 2000, n_chunks), n_chunks)
            bm25 = builder.finish()
            del builder

            # 5. vectors: cached ones reused, the rest embedded batch by batch and cached at once
            vec_keys = [text_key(embedder.model_id, t) for t in texts]
            vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
            cached = cache.get_vectors(vec_keys, embedder.dimension)
            missing: list[int] = []
            for i, k in enumerate(vec_keys):
                vec = cached.get(k)
                if vec is None:
                    missing.append(i)
                else:
                    vectors[i] = vec
            # distinct texts only: repeated boilerplate is embedded once
            first_of: dict[bytes, int] = {}
            to_embed = [i for i in missing if first_of.setdefault(vec_keys[i], i) == i]
            _emit(progress, "embed", 0, len(to_embed), f"{len(texts) - len(missing)} cached")
            step = embed_batch_size(embedder)
            for start in range(0, len(to_embed), step):
                batch = to_embed[start : start + step]
                out = np.asarray(embedder.embed_passages([texts[i] for i in batch]), dtype=np.float32)
                cache.put_vectors([vec_keys[i] for i in batch], out)
                vectors[batch] = out
                _emit(progress, "embed", start + len(batch), len(to_embed))
            for i in missing:
                vectors[i] = vectors[first_of[vec_keys[i]]]
            n_embedded, n_reused = len(to_embed), n_chunks - len(missing)
            # per-chunk bookkeeping is done with (the texts too, unless Milvus stores them): freed
            # before writing, where the vectors are copied into the FAISS index
            del cached, vec_keys, first_of, missing, to_embed
            if options.backend != "milvus":
                del texts
        finally:
            cache.close()

        # 6. write beside the current version, then switch
        file_records = {}
        for rel, rec in records.items():
            if rel in kept:
                iss = parsed[rel]
                file_records[rel] = {**rec, "status": KEPT, "reason": problems[rel], "series": iss.series,
                                     "number": iss.number, "volume": iss.volume}
            elif rel in problems:
                file_records[rel] = {**rec, "status": "problem", "reason": problems[rel]}
            elif rel in parsed:
                iss = parsed[rel]
                file_records[rel] = {**rec, "status": "indexed", "series": iss.series, "number": iss.number,
                                     "volume": iss.volume}
                # a reused issue comes back from the index without its warnings: keep the old ones
                reused = rel in reuse and rel not in missing_reused
                warnings = old_files.get(rel, {}).get("warnings", []) if reused else list(iss.warnings)
                if warnings:
                    file_records[rel]["warnings"] = warnings
        version = new_version_name()
        manifest = {
            "format_version": FORMAT_VERSION,
            "version": version,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "model_name": options.model_name,
            "model_id": embedder.model_id,
            "dimension": int(embedder.dimension),
            "chunker": options.chunker.as_dict(),
            "tokenizer": TOKENIZER_VERSION,
            "parser": PARSER_VERSION,
            "corpus": str(options.corpus),
            "counts": {"issues": len(issue_rows), "articles": len(article_rows), "chunks": n_chunks},
            "sections": list(sections),
            "files": file_records,
            "problems": [{"file": f, "reason": r} for f, r in sorted(problems.items()) if f not in kept],
            "kept": [{"file": f, "reason": problems[f]} for f in sorted(kept)],
            "suspect": _suspect(file_records),
        }
        _emit(progress, "write", 0, 1, version)
        if options.backend == "milvus":
            # the collection first: a version folder is never renamed into place before the
            # collection it names is complete
            manifest["backend"] = {"name": "milvus", "uri": options.milvus_uri,
                                   "collection": _write_milvus(options, version, issue_rows, article_rows,
                                                               chunks, texts, vectors)}
        data = VersionData(manifest, issue_rows, article_rows, chunks, vectors, bm25)
        version_dir = write_version(paths, data)
        _emit(progress, "switch", 0, 1, version)
        switch_current(paths, version_dir)
        clean_up(paths)
        if options.backend == "milvus":
            from .store.milvus import drop_unused

            drop_unused(options.milvus_uri, _milvus_tag(paths), _collections_named(paths))
        _emit(progress, "done", 1, 1, version)
        shown = _tally(category, set(problems))
        return IndexReport(
            built=True, version=version, added=shown["added"], changed=shown["changed"], removed=len(removed),
            unchanged=shown["unchanged"], issues=len(issue_rows), articles=len(article_rows),
            chunks=n_chunks, embedded=n_embedded, reused=n_reused,
            seconds=time.monotonic() - started,
            problems=_listed(problems, set(problems) - kept), kept=_listed(problems, kept),
            suspect=tuple(FileProblem(p["file"], p["reason"]) for p in manifest["suspect"]),
        )


def _suspect(file_records: dict[str, dict]) -> list[dict]:
    """Indexed files whose articles look wrongly read (parsing/suspect.py), one entry per file."""
    return [{"file": rel, "reason": "; ".join(rec["warnings"])}
            for rel, rec in sorted(file_records.items()) if rec.get("status") == "indexed" and rec.get("warnings")]
