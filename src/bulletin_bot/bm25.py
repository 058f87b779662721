"""BM25 over pre-tokenised documents, stored as a sparse term-by-document matrix.

The weights are computed at build time, so a query is a sum of a few sparse columns
(`np.bincount` over their rows): a few milliseconds even for millions of chunks. Arrays are
saved as `.npy` without pickle and loaded memory-mapped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import chain
from dataclasses import dataclass
from pathlib import Path

import numpy as np

K1 = 1.2
B = 0.75


class _Vocabulary(dict):
    """token -> term id, a new id on first sight (so lookups stay in C, via map)."""

    def __missing__(self, token: str) -> int:
        self[token] = n = len(self)
        return n


@dataclass
class BM25Index:
    vocab: dict[str, int]
    idf: np.ndarray  # float32 (n_terms,)
    indptr: np.ndarray  # int64 (n_terms + 1,): column pointers
    doc_ids: np.ndarray  # int32: row (document) of each weight
    weights: np.ndarray  # float32: BM25 term weight of each (term, document)
    n_docs: int

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]]) -> BM25Index:
        # one dict lookup per token in Python; counting and ordering are done by numpy
        # (a per-document count dict was 3 s of a 13 s build at 825 issues)
        vocab = _Vocabulary()
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        ids = np.fromiter(map(vocab.__getitem__, chain.from_iterable(docs)), dtype=np.int64, count=int(lengths.sum()))
        n_docs = len(docs)
        n_terms = len(vocab)
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        # a (term, document) pair as one int64, so np.unique counts and sorts by term, then document
        pairs, tf = np.unique(ids * max(n_docs, 1) + doc_of, return_counts=True)
        col = (pairs // max(n_docs, 1)).astype(np.int32)
        row = (pairs % max(n_docs, 1)).astype(np.int32)
        tf = tf.astype(np.float32)
        df = np.bincount(col, minlength=n_terms).astype(np.float32)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        lengths = lengths.astype(np.float32)
        avgdl = float(lengths.mean()) if n_docs else 1.0
        norm = K1 * (1.0 - B + B * lengths[row] / max(avgdl, 1e-9))
        weights = (idf[col] * tf * (K1 + 1.0) / (tf + norm)).astype(np.float32)
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=indptr[1:])
        return cls(dict(vocab), idf, indptr, row, weights, n_docs)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "bm25_idf.npy", self.idf, allow_pickle=False)
        np.save(folder / "bm25_indptr.npy", self.indptr, allow_pickle=False)
        np.save(folder / "bm25_docs.npy", self.doc_ids, allow_pickle=False)
        np.save(folder / "bm25_weights.npy", self.weights, allow_pickle=False)
        meta = {"n_docs": self.n_docs, "k1": K1, "b": B, "vocab": self.vocab}
        (folder / "bm25_vocab.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> BM25Index:
        mode = "r" if mmap else None
        meta = json.loads((folder / "bm25_vocab.json").read_text(encoding="utf-8"))
        return cls(
            vocab=meta["vocab"],
            idf=np.load(folder / "bm25_idf.npy", mmap_mode=mode, allow_pickle=False),
            indptr=np.load(folder / "bm25_indptr.npy", mmap_mode=mode, allow_pickle=False),
            doc_ids=np.load(folder / "bm25_docs.npy", mmap_mode=mode, allow_pickle=False),
            weights=np.load(folder / "bm25_weights.npy", mmap_mode=mode, allow_pickle=False),
            n_docs=int(meta["n_docs"]),
        )

    def scores(self, query_tokens: Iterable[str]) -> np.ndarray:
        """BM25 score of every document (float32, length n_docs)."""
        parts_docs = []
        parts_w = []
        for tok in query_tokens:
            t = self.vocab.get(tok)
            if t is None:
                continue
            a, b = int(self.indptr[t]), int(self.indptr[t + 1])
            parts_docs.append(self.doc_ids[a:b])
            parts_w.append(self.weights[a:b])
        if not parts_docs:
            return np.zeros(self.n_docs, dtype=np.float32)
        docs = np.concatenate(parts_docs)
        w = np.concatenate(parts_w)
        return np.bincount(docs, weights=w, minlength=self.n_docs).astype(np.float32)
