"""A version loaded for questions: its arrays, FAISS and BM25 memory-mapped, docs.sqlite opened
read-only, every query of it returning typed records; and picking the version to serve."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..bm25 import BM25Index
from ..errors import IndexInvalid, IndexMissing
from ..models import ArticleRef
from .docs import _ARTICLE_COLS, _ISSUE_COLS, ArticleRecord, IssueRecord, _issue_record
from .layout import BASELINE_SAMPLE, FORMAT_VERSION, HNSW_EF_SEARCH, IVF_NPROBE, IndexPaths, read_manifest

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
        on_milvus = self.manifest.get("backend", {}).get("name") == "milvus"
        # a Milvus version has no FAISS index: Milvus searches its vectors
        self.faiss = None if on_milvus else load("dense.faiss", lambda: faiss.read_index(str(version_dir / "dense.faiss")))
        n_chunks = int(counts["chunks"])
        checks = {
            "issues table": (len(self.issues), int(counts["issues"])),
            "articles table": (len(self.articles), int(counts["articles"])),
            "chunks table": (len(self.chunks), n_chunks),
            "vectors": (self.vectors.shape[0], n_chunks),
            "BM25 index": (self.bm25.n_docs, n_chunks),
        }
        if self.faiss is not None:
            checks["FAISS index"] = (int(self.faiss.ntotal), n_chunks)
        for what, (have, want) in checks.items():
            if have != want:
                raise IndexInvalid(f"{version_dir}: {what} holds {have} rows, manifest says {want}")
        if n_chunks and self.vectors.shape[1] != int(self.manifest["dimension"]):
            raise IndexInvalid(f"{version_dir}: vectors have dimension {self.vectors.shape[1]}")
        if hasattr(self.faiss, "hnsw"):
            self.faiss.hnsw.efSearch = HNSW_EF_SEARCH
        if hasattr(self.faiss, "nprobe"):
            self.faiss.nprobe = IVF_NPROBE
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
        self._reader_vectors: np.ndarray | None = None
        self.reader_baseline = np.zeros((0, 0), dtype=np.float32)  # a sample of them, as baseline_vectors
        self.article_issue = np.asarray(self.articles["issue"])
        # where the first stage's candidate lists come from: None = this folder (FAISS, BM25)
        self.milvus = None
        backend = self.manifest.get("backend", {})
        if backend.get("name") == "milvus":
            from .milvus import MilvusSource

            self.milvus = MilvusSource(backend["uri"], backend["collection"], n_chunks)
            self.milvus.check()

    @property
    def backend(self) -> str:
        """Where the candidate lists come from: "embedded", or "milvus at <uri>"."""
        return f"milvus at {self.milvus.uri}, collection {self.milvus.collection}" if self.milvus else "embedded"

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    def close(self) -> None:
        self._db.close()

    @property
    def reader_vectors(self) -> np.ndarray | None:
        """The reader's vectors of this version's chunks (reader_vectors.py), once they are all
        there; None before (looked for again at each call until found: a file test costs µs)."""
        if self._reader_vectors is None:
            path = IndexPaths(self.path.parent.parent).reader_file(self.version)
            if path.is_file():
                try:
                    vecs = np.load(path, mmap_mode="r", allow_pickle=False)
                except (OSError, ValueError):
                    return None  # half-copied by hand, or damaged: ranked without, as before it came
                if vecs.ndim == 2 and vecs.shape[0] == len(self.chunks):
                    rng = np.random.default_rng(0)
                    pick = np.sort(rng.choice(len(vecs), size=min(BASELINE_SAMPLE, len(vecs)), replace=False))
                    self.reader_baseline = np.asarray(vecs[pick], dtype=np.float32)
                    self._reader_vectors = vecs
        return self._reader_vectors

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

    def articles_dated(self, date_from: str, date_to: str) -> list[tuple[ArticleRecord, IssueRecord]]:
        """Every article of the issues dated from `date_from` to `date_to` (inclusive ISO dates),
        with its issue, in one query: a dossier reads a whole period, not one question's page."""
        cols = ", ".join(f"a.{c.strip()}" for c in _ARTICLE_COLS.split(",")) + ", " + ", ".join(
            f"i.{c.strip()}" for c in _ISSUE_COLS.split(","))
        rows = self._query(f"SELECT {cols} FROM articles a JOIN issues i ON a.issue = i.id "
                           "WHERE i.date BETWEEN ? AND ? ORDER BY i.date, i.number, a.idx", (date_from, date_to))
        n = len(_ARTICLE_COLS.split(","))
        return [(ArticleRecord(*r[:n]), _issue_record(r[n:])) for r in rows]

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
