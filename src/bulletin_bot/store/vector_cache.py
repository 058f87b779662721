"""Embedding cache: vectors keyed by model id and a hash of the embedded text.

SQLite in WAL mode, committed batch by batch, so a build killed half way keeps every vector
it already paid for and the next build reuses them. (Search tokens were once cached here
too; jieba-rs now cuts them faster than the cache read them back. Old caches keep an unused
`tokens` table.)
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def text_key(namespace: str, text: str) -> bytes:
    return hashlib.blake2b(f"{namespace}\0{text}".encode("utf-8"), digest_size=16).digest()


class VectorCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def get_vectors(self, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        """The cached vectors among `keys` (of the right dimension), looked up 500 at a time."""
        out: dict[bytes, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            batch = list(keys[i : i + 500])
            marks = ",".join("?" * len(batch))
            for key, blob in self.db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", batch):
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape[0] == dim:
                    out[bytes(key)] = vec
        return out

    def put_vectors(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        rows = [(k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in zip(keys, vectors)]
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
