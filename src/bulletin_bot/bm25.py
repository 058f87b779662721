"""BM25 over pre-tokenised documents, stored as a sparse term-by-document matrix.

The weights are computed at build time, so a query is a sum of a few sparse columns
(`np.bincount` over their rows): a few milliseconds even for millions of chunks. Arrays are
saved as `.npy` without pickle and loaded memory-mapped. `BM25Builder` counts a corpus batch by
batch, so a build never holds more than one batch's tokens.
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
BUILD_BATCH = 2000  # documents per batch when `BM25Index.build` is handed a whole corpus


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
        builder = BM25Builder()
        for start in range(0, len(docs), BUILD_BATCH):
            builder.add(docs[start : start + BUILD_BATCH])
        return builder.finish()

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


@dataclass
class _Batch:
    """The (term, document) pairs of one batch, term-major: `counts[i]` pairs of term `terms[i]`."""

    first_doc: int
    terms: np.ndarray  # int32, ascending: the batch's distinct terms
    counts: np.ndarray  # int32: how many of the batch's documents hold each
    docs: np.ndarray  # uint16 (int32 for a batch over 65,536 documents): document within the batch
    tf: np.ndarray  # uint8 (wider only if a term repeats over 255 times in a document)


class BM25Builder:
    """Builds a `BM25Index` batch by batch, keeping only compact arrays between batches.

    A corpus of 5M chunks as Python token lists did not fit in 21 GB; here each batch's tokens
    are dropped once `add` returns, and what stays is about 4 bytes per (term, document) pair
    (measured on 24k chunks of bulletins, about 80 pairs a chunk). Term ids are given in
    first-seen order over the batches, so the result equals a build of all the documents at
    once, bit for bit.
    """

    def __init__(self) -> None:
        self._vocab = _Vocabulary()
        self._batches: list[_Batch] = []
        self._lengths: list[np.ndarray] = []
        self._df = np.zeros(1024, dtype=np.int64)  # documents holding each term (grown as needed)
        self._n_docs = 0

    def add(self, docs: Sequence[Sequence[str]]) -> None:
        # one dict lookup per token in Python; counting and ordering are done by numpy
        # (a per-document count dict was 3 s of a 13 s build at 825 issues)
        n = len(docs)
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=n)
        ids = np.fromiter(map(self._vocab.__getitem__, chain.from_iterable(docs)), dtype=np.int64,
                          count=int(lengths.sum()))
        doc_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
        # a (term, document) pair as one int64, so np.unique counts and sorts by term, then document
        pairs, tf = np.unique(ids * max(n, 1) + doc_of, return_counts=True)
        del ids, doc_of
        terms, counts = np.unique(pairs // max(n, 1), return_counts=True)
        docs_in = (pairs % max(n, 1)).astype(np.uint16 if n <= 1 << 16 else np.int32)
        tf = tf.astype(np.min_scalar_type(int(tf.max()))) if len(tf) else tf.astype(np.uint8)
        if len(self._vocab) > len(self._df):  # doubled, so a corpus copies it a few times only
            self._df = np.pad(self._df, (0, max(len(self._vocab), 2 * len(self._df)) - len(self._df)))
        self._df[terms] += counts  # distinct terms: a plain fancy-index add is exact
        self._batches.append(_Batch(self._n_docs, terms.astype(np.int32), counts.astype(np.int32), docs_in, tf))
        self._lengths.append(lengths)
        self._n_docs += n

    def finish(self) -> BM25Index:
        """The index of every document added, in order; the builder is emptied.

        The postings are placed by a counting sort: each term's column starts at its
        `indptr`, and the batches are written in order, so within a term the documents
        ascend. Peak, in bytes per posting: the output (doc int32 + weight float32: 8) plus
        the batches not yet written (document uint16 + tf uint8: 3, and the batches' distinct
        terms and counts: about 1 more on the bulletins), so about 12, plus one batch's
        temporaries (about 40 bytes a posting of one batch). The batches are freed as they are
        written, but the writes land all over the output, so count on the whole 12.
        """
        n_docs = self._n_docs
        n_terms = len(self._vocab)
        df = self._df[:n_terms].astype(np.float32)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        lengths = (np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)).astype(np.float32)
        avgdl = float(lengths.mean()) if n_docs else 1.0
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        # from the int64 counts (the whole-corpus build went through float32, the same below
        # 2**24 documents a term)
        np.cumsum(self._df[:n_terms], out=indptr[1:])
        total = int(indptr[-1])
        doc_ids = np.empty(total, dtype=np.int32)
        weights = np.empty(total, dtype=np.float32)
        next_slot = indptr[:-1].copy()  # where each term's next posting goes
        batches, self._batches, self._lengths = self._batches, [], []
        batches.reverse()  # popped from the end, so each batch is freed once written
        while batches:
            b = batches.pop()
            col = np.repeat(b.terms, b.counts)
            row = b.docs.astype(np.int32) + np.int32(b.first_doc)
            tf = b.tf.astype(np.float32)
            # rank of each pair within its term's run in this batch
            run_start = np.repeat(np.cumsum(b.counts, dtype=np.int64) - b.counts, b.counts)
            slot = np.repeat(next_slot[b.terms], b.counts) + (np.arange(len(col), dtype=np.int64) - run_start)
            next_slot[b.terms] += b.counts
            # the same expressions as a whole-corpus build: element by element, so bit-identical
            norm = K1 * (1.0 - B + B * lengths[row] / max(avgdl, 1e-9))
            doc_ids[slot] = row
            weights[slot] = (idf[col] * tf * (K1 + 1.0) / (tf + norm)).astype(np.float32)
        self._vocab, vocab = _Vocabulary(), self._vocab
        self._df, self._n_docs = np.zeros(1024, dtype=np.int64), 0
        return BM25Index(dict(vocab), idf, indptr, doc_ids, weights, n_docs)
