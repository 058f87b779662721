"""The first stage's two candidate lists on Milvus: one collection per index version.

With `BULLETIN_BOT_INDEX_BACKEND=milvus` a version's chunks are also written to a Milvus
collection named after the index folder's tag (`milvus-tag` in the folder, made once, so that
several index folders can share one Milvus) and the version (chunk id, article, issue, 第N期, date, section, the text
cut by Milvus's own jieba analyzer into a BM25 sparse field, the dense vector). The collection
is written in full and loaded before the index folder's `current` is switched to the version
whose manifest names it, so the folder and the collection change together with one rename, and
a killed re-index leaves the old version, and its collection, answering. Collections of
versions that no longer exist are dropped by the next build.

The switch is the folder's and not a Milvus alias: milvus-lite 2.5 (the engine the tests
start) answers UNIMPLEMENTED to create_alias, and one rename switching both the folder (docs.sqlite,
the arrays) and the collection keeps them from ever disagreeing.

docs.sqlite, the arrays and the vectors stay in the index folder: the second stage, the quotes
and the dense scores of the candidates read them as with the embedded index.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np

from ..errors import BulletinError, IndexInvalid
from ..models import QueryFilters
from .layout import date_int

PREFIX = "bulletin_bot_"
# jieba as Milvus ships it (tantivy's jieba-rs, its own dictionary, not ours), with the
# filter that drops tokens other than Chinese characters, letters and digits: without it
# punctuation and spaces are tokens, and a question's "，" matches every chunk holding one
ANALYZER = {"tokenizer": "jieba", "filter": ["cnalphanumonly"]}
TEXT_MAX = 65535  # Milvus's VARCHAR limit; chunks are far shorter
INSERT_BATCH = 1000
# exact search, as the embedded index below 3M chunks (milvus-lite offers FLAT, IVF_FLAT and
# AUTOINDEX only); a cluster at a province's scale would choose HNSW here
DENSE_INDEX = {"index_type": "FLAT", "metric_type": "IP"}
MAX_TOPK = 16384  # Milvus's limit on one search's results


def _client(uri: str):
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise BulletinError(
            "BULLETIN_BOT_INDEX_BACKEND=milvus needs pymilvus: pip install 'bulletin-bot[milvus]'"
        ) from None
    try:
        return MilvusClient(uri=uri)
    except Exception as exc:  # pymilvus raises its own and gRPC's errors
        raise BulletinError(f"cannot reach Milvus at {uri}: {type(exc).__name__}: {exc}") from None


def collection_prefix(tag: str) -> str:
    """The collections of one index folder (its tag: several indexes may share one Milvus)."""
    return f"{PREFIX}{tag}_v"


def collection_name(tag: str, version: str) -> str:
    """A version's collection: Milvus names allow letters, digits and underscores only."""
    return collection_prefix(tag) + re.sub(r"[^0-9A-Za-z_]", "_", version)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def filter_expression(filters: QueryFilters) -> str:
    """The restrictions a question names (第N期, a period, a 【section】) as a Milvus filter."""
    parts = []
    if filters.issue is not None:
        parts.append(f"number == {int(filters.issue)}")
    if filters.date_from:
        parts.append(f"date >= {date_int(filters.date_from)}")
    if filters.date_to:
        parts.append(f"date <= {date_int(filters.date_to)}")
    if filters.section is not None:
        parts.append(f"section == {_quote(filters.section)}")
    return " and ".join(parts)


@dataclass(frozen=True)
class ChunkRows:
    """What a collection holds, one entry per chunk, in chunk id order."""

    article: np.ndarray
    issue: np.ndarray
    number: np.ndarray
    date: np.ndarray
    section: list[str]
    text: list[str]
    vectors: np.ndarray


def write_collection(uri: str, tag: str, version: str, rows: ChunkRows) -> str:
    """Create the version's collection, write every chunk, load it; return its name.

    Not yet current: the caller switches the index folder once this returns."""
    from pymilvus import DataType, Function, FunctionType

    client = _client(uri)
    name = collection_name(tag, version)
    if client.has_collection(name):
        client.drop_collection(name)
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("article", DataType.INT64)
    schema.add_field("issue", DataType.INT64)
    schema.add_field("number", DataType.INT64)
    schema.add_field("date", DataType.INT64)
    schema.add_field("section", DataType.VARCHAR, max_length=512)
    schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX, enable_analyzer=True, analyzer_params=ANALYZER)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=int(rows.vectors.shape[1]))
    schema.add_function(Function(name="text_bm25", function_type=FunctionType.BM25,
                                 input_field_names=["text"], output_field_names=["sparse"]))
    index_params = client.prepare_index_params()
    index_params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    index_params.add_index("dense", **DENSE_INDEX)
    client.create_collection(name, schema=schema, index_params=index_params, consistency_level="Strong")
    n = len(rows.text)
    for start in range(0, n, INSERT_BATCH):
        end = min(n, start + INSERT_BATCH)
        client.insert(name, [
            {"id": i, "article": int(rows.article[i]), "issue": int(rows.issue[i]), "number": int(rows.number[i]),
             "date": int(rows.date[i]), "section": rows.section[i], "text": rows.text[i][:TEXT_MAX],
             "dense": rows.vectors[i].tolist()}
            for i in range(start, end)
        ])
    client.flush(name)
    client.load_collection(name)
    have = client.get_collection_stats(name).get("row_count")
    if int(have) != n:
        raise BulletinError(f"Milvus at {uri}: collection {name} holds {have} chunks after writing {n}")
    return name


def drop_unused(uri: str, tag: str, keep: set[str]) -> None:
    """Drop this index folder's collections that no version folder names any more (killed
    builds, versions cleaned up); call only while holding the build lock, after the switch."""
    client = _client(uri)
    for name in client.list_collections():
        if name.startswith(collection_prefix(tag)) and name not in keep:
            client.drop_collection(name)


class MilvusSource:
    """The first stage's candidate lists from one version's collection; safe to share between threads."""

    def __init__(self, uri: str, collection: str, chunks: int) -> None:
        self.uri = uri
        self.collection = collection
        self._chunks = chunks
        self._lock = threading.Lock()
        self._client_obj = None

    def _client(self):
        with self._lock:
            if self._client_obj is None:
                client = _client(self.uri)
                if not client.has_collection(self.collection):
                    raise IndexInvalid(f"Milvus at {self.uri} has no collection {self.collection}; "
                                       "re-index with `bulletin-bot index`")
                have = int(client.get_collection_stats(self.collection).get("row_count", -1))
                if have != self._chunks:
                    raise IndexInvalid(f"Milvus collection {self.collection} holds {have} chunks, "
                                       f"the manifest says {self._chunks}")
                client.load_collection(self.collection)
                self._client_obj = client
            return self._client_obj

    def check(self) -> None:
        """Connect and validate now (a version that does not answer must not be switched to)."""
        self._client()

    def _search(self, data, field: str, expr: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, MAX_TOPK, self._chunks)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        res = self._client().search(self.collection, data=[data], anns_field=field, limit=k, filter=expr,
                                    output_fields=[])
        hits = res[0] if res else []
        ids = np.array([h["id"] for h in hits], dtype=np.int64)
        scores = np.array([h["distance"] for h in hits], dtype=np.float32)
        return ids, scores

    def bm25_top(self, text: str, filters: QueryFilters, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` chunks BM25 ranks highest for `text` (tokenised by Milvus), within `filters`."""
        if not text.strip():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return self._search(text, "sparse", filter_expression(filters), k)

    def bm25_scores(self, text: str, ids: np.ndarray) -> np.ndarray:
        """BM25 scores of these chunks (0 for a chunk holding none of the words)."""
        out = np.zeros(len(ids), dtype=np.float32)
        if not text.strip() or not len(ids):
            return out
        found, scores = self._search(text, "sparse", f"id in {[int(i) for i in ids]}", len(ids))
        pos = {int(c): i for i, c in enumerate(ids)}
        for c, s in zip(found.tolist(), scores.tolist()):
            out[pos[c]] = s
        return out

    def dense_top(self, qvec: np.ndarray, filters: QueryFilters, k: int) -> np.ndarray:
        """The `k` chunks whose vectors are closest to the question's, within `filters`."""
        ids, _ = self._search(np.asarray(qvec, dtype=np.float32).tolist(), "dense", filter_expression(filters), k)
        return ids
