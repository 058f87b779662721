"""The index folder: immutable versions, an atomic `current` switch, validation on load, one writer.

Layout of `index/`:

    current            symlink -> versions/<version>   (switched with one atomic rename)
    versions/<v>/      manifest.json, docs.sqlite, vectors.npy, dense.faiss, chunks.npy,
                       articles.npy, issues.npy, bm25_*.npy, bm25_vocab.json
    versions/.tmp-<v>/ a build in progress (removed by the next build if it was killed)
    cache/vectors.sqlite   embedding cache shared by all versions
    .lock              held (flock) by the one running build; the kernel drops it if the build dies

A version folder is never changed after it is renamed into place, so readers never see a
half-written index; old versions are removed only after two newer ones exist.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bm25 import BM25Index
from .errors import IndexBusy, IndexInvalid, IndexMissing
from .models import Article, ArticleRef, Issue, IssueSummary

FORMAT_VERSION = 1
KEEP_VERSIONS = 2
BASELINE_SAMPLE = 1024
# Exact search while it is fast enough (~3.5-5 ms per 100k chunks on one thread: ~90 ms at the
# 2.4M chunks of a 50k-issue archive, recall 1.0, no build time, less memory than HNSW);
# HNSW beyond (see docs/BENCHMARKS.md for latency and recall).
EXACT_SEARCH_LIMIT = 3_000_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 400

ISSUE_DTYPE = np.dtype([("number", "<i4"), ("date", "<i4")])
ARTICLE_DTYPE = np.dtype([("issue", "<i4"), ("index", "<i2"), ("section", "<i2")])
CHUNK_DTYPE = np.dtype([("article", "<i4"), ("start", "<i4"), ("end", "<i4")])


def date_int(iso: str) -> int:
    return int(iso.replace("-", "")) if iso else 0


@dataclass(frozen=True)
class IndexPaths:
    root: Path

    @property
    def versions(self) -> Path:
        return self.root / "versions"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def cache(self) -> Path:
        return self.root / "cache" / "vectors.sqlite"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def current_target(self) -> Path | None:
        """The version folder `current` points to, or None (no index yet)."""
        try:
            target = os.readlink(self.current)
        except (FileNotFoundError, OSError):
            return None
        path = Path(target)
        return path if path.is_absolute() else (self.root / path)

    def all_versions(self) -> list[Path]:
        """Complete version folders, newest first."""
        if not self.versions.is_dir():
            return []
        found = [p for p in self.versions.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return sorted(found, key=lambda p: p.name, reverse=True)


def new_version_name() -> str:
    """Sortable by creation time, down to the nanosecond; the pid keeps two writers apart."""
    now = time.time_ns()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9)) + f".{now % 10**9:09d}-{os.getpid()}"


# ---------------------------------------------------------------- writing


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


def _write_docs(path: Path, data: VersionData) -> None:
    db = sqlite3.connect(str(path))
    db.executescript(
        """
        CREATE TABLE issues (id INTEGER PRIMARY KEY, series TEXT, number INTEGER, date TEXT,
                             office TEXT, sections TEXT, file TEXT, encoding TEXT, article_count INTEGER,
                             volume TEXT);
        CREATE TABLE articles (id INTEGER PRIMARY KEY, issue INTEGER, idx INTEGER, section TEXT,
                               title TEXT, text TEXT);
        """
    )
    db.executemany(
        "INSERT INTO issues VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            (i, r["series"], r["number"], r["date"], r["office"], json.dumps(r["sections"], ensure_ascii=False),
             r["file"], r["encoding"], r["article_count"], r.get("volume", ""))
            for i, r in enumerate(data.issues)
        ),
    )
    db.executemany(
        "INSERT INTO articles VALUES (?,?,?,?,?,?)",
        ((i, r["issue"], r["index"], r["section"], r["title"], r["text"]) for i, r in enumerate(data.articles)),
    )
    db.commit()
    db.close()


def _build_faiss(vectors: np.ndarray):
    import faiss

    dim = vectors.shape[1]
    if vectors.shape[0] <= EXACT_SEARCH_LIMIT:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    if vectors.shape[0]:
        # building uses every core; searching stays on one (see LoadedIndex)
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        try:
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
    _write_docs(tmp / "docs.sqlite", data)
    data.bm25.save(tmp)
    if on_step:
        on_step("faiss")
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


# ---------------------------------------------------------------- reading


def read_manifest(version_dir: Path) -> dict:
    try:
        return json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexInvalid(f"{version_dir}: no manifest.json (incomplete build)") from None
    except (OSError, ValueError) as exc:
        raise IndexInvalid(f"{version_dir}/manifest.json: unreadable ({exc})") from None


@dataclass(frozen=True)
class IssueRecord:
    """An indexed issue as stored (its row id, and no article bodies)."""

    id: int
    series: str
    number: int
    date: str
    office: str
    sections: tuple[str, ...]
    file: str
    encoding: str
    article_count: int
    volume: str

    def summary(self) -> IssueSummary:
        return IssueSummary(self.series, self.number, self.date, self.office, self.sections,
                            self.article_count, self.file)


_ISSUE_COLS = "id, series, number, date, office, sections, file, encoding, article_count, volume"
_ARTICLE_COLS = "id, issue, idx, section, title, text"


def _issue_record(row: tuple) -> IssueRecord:
    return IssueRecord(*row[:5], tuple(json.loads(row[5])), row[6], row[7], row[8], row[9] or "")


@dataclass(frozen=True)
class ArticleRecord:
    """An indexed article as stored: its row id, its issue's row id, and its text."""

    id: int
    issue_id: int
    index: int  # 1-based position in its issue
    section: str
    title: str
    text: str


def _pairwise_spread(vectors: np.ndarray) -> float:
    """Standard deviation of the cosines between distinct rows (0.0 with fewer than 3 rows)."""
    if len(vectors) < 3:
        return 0.0
    sims = vectors @ vectors.T
    return float(np.std(sims[~np.eye(len(vectors), dtype=bool)]))


class LoadedIndex:
    """One version, loaded and validated; read-only and safe to share between threads."""

    def __init__(self, version_dir: Path) -> None:
        import faiss

        self.path = version_dir
        self.manifest = read_manifest(version_dir)
        fmt = self.manifest.get("format_version")
        if fmt != FORMAT_VERSION:
            raise IndexInvalid(
                f"{version_dir}: index format {fmt}, this program reads format {FORMAT_VERSION}; "
                "re-index with `bulletin-bot index`"
            )
        counts = self.manifest["counts"]

        def load(name: str, read):
            try:
                return read()
            except Exception as exc:  # numpy, json and faiss raise many kinds for a damaged file
                raise IndexInvalid(f"{version_dir}: damaged index file {name} ({type(exc).__name__}: {exc})") from None

        self.issues = load("issues.npy", lambda: np.load(version_dir / "issues.npy", allow_pickle=False))
        self.articles = load("articles.npy", lambda: np.load(version_dir / "articles.npy", allow_pickle=False))
        self.chunks = load("chunks.npy", lambda: np.load(version_dir / "chunks.npy", allow_pickle=False))
        self.vectors = load("vectors.npy", lambda: np.load(version_dir / "vectors.npy", mmap_mode="r", allow_pickle=False))
        self.bm25 = load("bm25_*", lambda: BM25Index.load(version_dir))
        self.faiss = load("dense.faiss", lambda: faiss.read_index(str(version_dir / "dense.faiss")))
        n_chunks = int(counts["chunks"])
        checks = {
            "issues table": (len(self.issues), int(counts["issues"])),
            "articles table": (len(self.articles), int(counts["articles"])),
            "chunks table": (len(self.chunks), n_chunks),
            "vectors": (self.vectors.shape[0], n_chunks),
            "FAISS index": (int(self.faiss.ntotal), n_chunks),
            "BM25 index": (self.bm25.n_docs, n_chunks),
        }
        for what, (have, want) in checks.items():
            if have != want:
                raise IndexInvalid(f"{version_dir}: {what} holds {have} rows, manifest says {want}")
        if n_chunks and self.vectors.shape[1] != int(self.manifest["dimension"]):
            raise IndexInvalid(f"{version_dir}: vectors have dimension {self.vectors.shape[1]}")
        if hasattr(self.faiss, "hnsw"):
            self.faiss.hnsw.efSearch = HNSW_EF_SEARCH
        # one question at a time: OpenMP threads only add overhead (48 ms vs 0.8 ms for an
        # 11k-vector flat search on 2 busy cores)
        faiss.omp_set_num_threads(1)
        self._db_lock = threading.Lock()
        try:
            uri = f"file:{version_dir / 'docs.sqlite'}?mode=ro&immutable=1"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            (n_art,) = self._db.execute("SELECT count(*) FROM articles").fetchone()
        except sqlite3.Error as exc:
            raise IndexInvalid(f"{version_dir}/docs.sqlite: {exc}") from None
        if n_art != int(counts["articles"]):
            raise IndexInvalid(f"{version_dir}/docs.sqlite: {n_art} articles, manifest says {counts['articles']}")
        self.sections: list[str] = list(self.manifest["sections"])
        # a fixed random sample of chunk vectors: a question's mean similarity to it is the
        # model's baseline for "unrelated", used to judge whether the best hit stands out
        rng = np.random.default_rng(0)
        pick = np.sort(rng.choice(n_chunks, size=min(BASELINE_SAMPLE, n_chunks), replace=False)) if n_chunks else []
        dim = int(self.manifest["dimension"])
        self.baseline_vectors = (
            np.asarray(self.vectors[pick], dtype=np.float32) if n_chunks else np.zeros((0, dim), dtype=np.float32)
        )
        # how widely the model's similarities spread between unrelated chunks (std of the
        # sample's pairwise cosines): static-zh about 0.16, e5 about 0.02. Dense lifts are put
        # on one scale with it, so the "not found" threshold means the same for every model.
        self.dense_spread = _pairwise_spread(self.baseline_vectors)
        self.chunk_article = np.asarray(self.chunks["article"])
        self.article_issue = np.asarray(self.articles["issue"])

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    def close(self) -> None:
        self._db.close()

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._db_lock:
            return self._db.execute(sql, args).fetchall()

    def article(self, article_id: int) -> ArticleRecord | None:
        rows = self._query(f"SELECT {_ARTICLE_COLS} FROM articles WHERE id=?", (int(article_id),))
        return ArticleRecord(*rows[0]) if rows else None

    def article_records(self, article_ids: list[int]) -> dict[int, ArticleRecord]:
        """The articles with these row ids (one query, whatever their number)."""
        if not article_ids:
            return {}
        marks = ",".join("?" * len(article_ids))
        rows = self._query(f"SELECT {_ARTICLE_COLS} FROM articles WHERE id IN ({marks})",
                           tuple(int(a) for a in article_ids))
        return {r[0]: ArticleRecord(*r) for r in rows}

    def all_articles(self) -> Iterator[ArticleRecord]:
        """Every article, in index order (for evaluation and benchmarks)."""
        for row in self._query(f"SELECT {_ARTICLE_COLS} FROM articles ORDER BY id"):
            yield ArticleRecord(*row)

    def contents(self, issue_id: int) -> list[ArticleRef]:
        """An issue's articles in order, without their bodies."""
        rows = self._query("SELECT id, idx, section, title FROM articles WHERE issue=? ORDER BY id", (int(issue_id),))
        return [ArticleRef(*r) for r in rows]

    def issue(self, issue_id: int) -> IssueRecord | None:
        rows = self._query(f"SELECT {_ISSUE_COLS} FROM issues WHERE id=?", (int(issue_id),))
        return _issue_record(rows[0]) if rows else None

    def issues_numbered(self, number: int) -> list[IssueRecord]:
        """Every issue with that number (several series may share one), newest first."""
        rows = self._query(f"SELECT {_ISSUE_COLS} FROM issues WHERE number=? ORDER BY date DESC", (int(number),))
        return [_issue_record(r) for r in rows]

    def all_issues(self, limit: int | None = None) -> list[IssueRecord]:
        """Issues, newest first."""
        sql = f"SELECT {_ISSUE_COLS} FROM issues ORDER BY date DESC, number DESC"
        rows = self._query(sql + " LIMIT ?", (limit,)) if limit else self._query(sql)
        return [_issue_record(r) for r in rows]


def read_issues(version_dir: Path, files: set[str]) -> dict[str, Issue]:
    """Issues already parsed into a version, by corpus-relative file name (for reuse by the next
    build); empty when the version cannot be read or predates a column (all is parsed again)."""
    out: dict[str, Issue] = {}
    if not files:
        return out
    try:
        db = sqlite3.connect(f"file:{version_dir / 'docs.sqlite'}?mode=ro", uri=True)
    except sqlite3.Error:
        return out
    try:
        issues = [_issue_record(r) for r in db.execute(f"SELECT {_ISSUE_COLS} FROM issues")]
        wanted = {r.id: r for r in issues if r.file in files}
        arts: dict[int, list[Article]] = {i: [] for i in wanted}
        for _id, issue_id, idx, section, title, text in db.execute(f"SELECT {_ARTICLE_COLS} FROM articles ORDER BY id"):
            if issue_id in arts:
                arts[issue_id].append(Article(section, title, tuple(text.split("\n")), idx))
        for issue_id, r in wanted.items():
            out[r.file] = Issue(file=r.file, series=r.series, number=r.number, date=r.date, office=r.office,
                                sections=r.sections, articles=tuple(arts[issue_id]), encoding=r.encoding,
                                volume=r.volume)
    except sqlite3.Error:
        return {}
    finally:
        db.close()
    return out


def load_current(paths: IndexPaths, warn=None) -> LoadedIndex:
    """Load the version `current` points to; if it fails validation, the newest good one."""
    target = paths.current_target()
    if target is None:
        raise IndexMissing(f"no index in {paths.root}: build one with `bulletin-bot index --index {paths.root}`")
    candidates = [target] + [p for p in paths.all_versions() if p.resolve() != target.resolve()]
    first_error: IndexInvalid | None = None
    for candidate in candidates:
        try:
            loaded = LoadedIndex(candidate)
        except IndexInvalid as exc:
            first_error = first_error or exc
            if warn:
                warn(f"index version refused: {exc}")
            continue
        if candidate is not target and warn:
            warn(f"using previous good index version {candidate.name}")
        return loaded
    assert first_error is not None
    raise IndexInvalid(f"{first_error}; no earlier good version either: re-index with `bulletin-bot index`")
