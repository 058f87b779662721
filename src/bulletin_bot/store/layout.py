"""The index folder: immutable versions, an atomic `current` switch, validation on load, one writer.

Layout of `index/`:

    current            symlink -> versions/<version>   (switched with one atomic rename)
    versions/<v>/      manifest.json, docs.sqlite, vectors.npy, dense.faiss (not on Milvus), chunks.npy,
                       articles.npy, issues.npy, bm25_*.npy, bm25_vocab.json
    versions/.tmp-<v>/ a build in progress (removed by the next build if it was killed)
    cache/vectors.sqlite   embedding cache shared by all versions
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


def read_manifest(version_dir: Path) -> dict:
    try:
        return json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexInvalid(f"{version_dir}: no manifest.json (incomplete build)") from None
    except (OSError, ValueError) as exc:
        raise IndexInvalid(f"{version_dir}/manifest.json: unreadable ({exc})") from None

