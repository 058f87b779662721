"""The index folder: immutable versions, an atomic `current` switch, validation on load, one writer.

Layout of `index/`:

    current            symlink -> versions/<version>   (switched with one atomic rename)
    versions/<v>/      manifest.json, docs.sqlite, vectors.npy, dense.faiss (not on Milvus), chunks.npy,
                       articles.npy, issues.npy, bm25_*.npy, bm25_vocab.json
    versions/.tmp-<v>/ a build in progress (removed by the next build if it was killed)
    cache/vectors.sqlite   embedding cache shared by all versions
    reader/<v>.npy     the reader's vectors of version <v>'s chunks (reader_vectors.py), added after it
    subscriptions.sqlite   who follows which topic, and what was delivered (subscriptions.py)
    .lock              held (flock) by the one running build; the kernel drops it if the build dies

A version folder is never changed after it is renamed into place, so readers never see a
half-written index; old versions are removed only after two newer ones exist.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexInvalid

FORMAT_VERSION = 1
KEEP_VERSIONS = 2
BASELINE_SAMPLE = 1024
# Exact search while it is fast enough (~3.5-5 ms per 100k chunks on one thread: ~90 ms at the
# 2.4M chunks of a 50k-issue archive, recall 1.0, no build time, least memory); an inverted file
# beyond. At the 4.06M chunks of a 100k-issue archive (docs/BENCHMARKS.md) IVF with 4,096 lists
# built in 1.4-2 min and, probing 64, found 0.914-0.926 of exact search's top 10 (0.985 of its
# passages) in ~5 ms p95 on one thread, where HNSW (M 32) took 8-22 min to build and found at
# most 0.897 at 9.8 ms: copies of one passage printed in many series fall in one list, but fill
# an HNSW node's links.
EXACT_SEARCH_LIMIT = 3_000_000
IVF_LISTS = 4096  # at most; fewer for fewer vectors (at least IVF_TRAIN_PER_LIST each)
IVF_TRAIN_PER_LIST = 64  # vectors sampled per list to train the lists' centroids
IVF_NPROBE = 64
# versions built before the inverted file (HNSW above the limit) still load, searched this wide
# (at 4.06M chunks recall@10 0.604; 3,200 found 0.856 but added ~50 ms to a warm p95 of 271)
HNSW_EF_SEARCH = 400
HNSW_M = 32  # ... and built with these (benchmarks/bench.py still compares HNSW with them)
HNSW_EF_CONSTRUCTION = 80

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

    @property
    def reader(self) -> Path:
        return self.root / "reader"

    def reader_file(self, version: str) -> Path:
        """Where the reader's vectors of `version` are kept: beside the versions, not in one,
        because a version folder is never changed after its switch."""
        return self.reader / f"{version}.npy"

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


def read_manifest(version_dir: Path) -> dict:
    try:
        return json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexInvalid(f"{version_dir}: no manifest.json (incomplete build)") from None
    except (OSError, ValueError) as exc:
        raise IndexInvalid(f"{version_dir}/manifest.json: unreadable ({exc})") from None

