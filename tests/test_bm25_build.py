"""The BM25 index built batch by batch is the one a whole-corpus build made, bit for bit.

`reference_build` is the whole-corpus algorithm `BM25Index.build` used before the builder (one
int64 array of every token, np.unique over (term, document) keys): an index built in batches
must give the same vocabulary, idf, column pointers, documents and weights, so a rebuilt index
answers exactly as before.
"""

from __future__ import annotations

import random
from itertools import chain
from pathlib import Path

import numpy as np
import pytest

from bulletin_bot import bm25 as bm25_module
from bulletin_bot.bm25 import B, K1, BM25Builder, BM25Index
from bulletin_bot.text import search_tokens

SAMPLE = Path(__file__).resolve().parents[1] / "corpus" / "455.txt"


def reference_build(docs: list[list[str]]) -> BM25Index:
    vocab: dict[str, int] = {}
    for tok in chain.from_iterable(docs):
        vocab.setdefault(tok, len(vocab))
    lengths = np.array([len(d) for d in docs], dtype=np.int64)
    ids = np.array([vocab[t] for t in chain.from_iterable(docs)], dtype=np.int64)
    n_docs, n_terms = len(docs), len(vocab)
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
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
    return BM25Index(vocab, idf, indptr, row, weights, n_docs)


def assert_same(got: BM25Index, want: BM25Index) -> None:
    assert list(got.vocab.items()) == list(want.vocab.items())  # same ids, same first-seen order
    assert got.n_docs == want.n_docs
    for name in ("idf", "indptr", "doc_ids", "weights"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype, name
        assert a.shape == b.shape, name
        assert a.tobytes() == b.tobytes(), name  # bit for bit, not approximately


def built_in_batches(docs: list[list[str]], sizes: list[int]) -> BM25Index:
    builder = BM25Builder()
    start = 0
    for size in sizes:
        builder.add(docs[start : start + size])
        start += size
    builder.add(docs[start:])
    return builder.finish()


def random_docs(n: int, seed: int = 7) -> list[list[str]]:
    """Documents over a small vocabulary (so terms recur across batches), some empty."""
    rng = random.Random(seed)
    words = [f"词{i}" for i in range(150)]
    docs = []
    for i in range(n):
        if i % 17 == 0:
            docs.append([])
            continue
        docs.append([words[min(int(rng.paretovariate(1.1)) - 1, 149)] for _ in range(rng.randint(1, 60))])
    docs[5] = ["重复"] * 300  # a term frequency over 255
    return docs


def sample_docs() -> list[list[str]]:
    return [search_tokens(p) for p in SAMPLE.read_text(encoding="utf-8").split("\n")]


@pytest.mark.parametrize("sizes", [[], [1], [0, 1, 7, 1, 250, 3], [2, 2, 2, 2, 2, 2, 2], [399, 1]])
def test_a_build_in_batches_equals_the_whole_corpus_build(sizes) -> None:
    docs = random_docs(420) + sample_docs()
    assert_same(built_in_batches(docs, sizes), reference_build(docs))


def test_one_batch_and_the_build_wrapper_equal_the_whole_corpus_build(monkeypatch) -> None:
    docs = sample_docs() + random_docs(300)
    want = reference_build(docs)
    assert_same(built_in_batches(docs, []), want)
    assert_same(BM25Index.build(docs), want)
    monkeypatch.setattr(bm25_module, "BUILD_BATCH", 13)
    assert_same(BM25Index.build(docs), want)


def test_a_batch_of_more_documents_than_a_uint16_counts() -> None:
    rng = random.Random(3)
    docs = [[f"w{rng.randrange(40)}" for _ in range(rng.randint(0, 3))] for _ in range(70_000)]
    assert_same(built_in_batches(docs, [5, 69_000]), reference_build(docs))


@pytest.mark.parametrize("docs", [[], [[]], [[], [], []], [["一"]]])
def test_empty_and_tiny_corpora(docs) -> None:
    assert_same(built_in_batches(docs, [1]), reference_build(docs))
    assert_same(BM25Index.build(docs), reference_build(docs))


def test_questions_score_alike_on_either_build() -> None:
    docs = sample_docs()
    batched, whole = built_in_batches(docs, [3, 11, 1]), reference_build(docs)
    for question in ("红书房建了多少个", "理论宣讲", "泗洪县经验交流"):
        tokens = search_tokens(question)
        assert batched.scores(tokens).tobytes() == whole.scores(tokens).tobytes()
        assert batched.scores(tokens).any()
