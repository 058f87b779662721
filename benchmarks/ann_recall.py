"""How well an index's vector search finds what exact search finds, and at what cost.

    .venv/bin/python benchmarks/ann_recall.py --index /big/index-100000 [--ef 400,800,1600]

For each question (eval/archive_questions.jsonl by default) the exact top 10 by inner product is
computed over every vector of the index's current version; then the index's own search (HNSW at
each `--ef`, or the flat index as built) is timed on one thread for the 200 candidates the
service asks for, and its first 10 are scored two ways:

- recall@10 by chunk: the share of the exact top-10 chunks it returns (what `province.py` reports);
- recall@10 by passage: the share of the exact top-10 *passages* it returns, where a passage is
  the chunk's text span in its article body, wherever it is printed. A province's archive prints
  the same provincial news in many county series (the synthetic one of `province.py` does so by
  construction: each article in about a hundred issues, only the county in its title differs),
  and exact search's top 10 is then ten near-equal copies; an approximate search that returns
  other copies of the same passages has found what a reader needs, since answers are grouped by
  article and quoted from the text.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import _exact_topk, _recall, load_questions, pct  # noqa: E402


def passage_keys(loaded, ids: np.ndarray) -> np.ndarray:
    """A key per chunk id: a hash of its article body's text span (the same passage printed in
    another issue gets the same key)."""
    keys = np.empty(ids.shape, dtype=object)
    for pos, cid in np.ndenumerate(ids):
        row = loaded.chunks[int(cid)]
        record = loaded.article(int(row["article"]))
        text = record.text[int(row["start"]):int(row["end"])] if record is not None else str(int(cid))
        keys[pos] = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return keys


def passage_recall(found: np.ndarray, truth: np.ndarray) -> float:
    out = []
    for f, t in zip(found, truth):
        want = set(t.tolist())
        out.append(len(set(f.tolist()) & want) / len(want))
    return float(np.mean(out))


# the service asks the vector search for this many candidates (RetrievalSettings.candidates):
# the time is taken for as many, the recall on the first 10
CANDIDATES = 200


def timed_search(index, qvecs: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Each question searched alone for CANDIDATES (as the service does): its top 10, and ms."""
    times, found = [], []
    for q in qvecs:
        t = time.perf_counter()
        _, ids = index.search(q[None, :], CANDIDATES)
        times.append((time.perf_counter() - t) * 1000)
        found.append(ids[0][:10])
    return np.stack(found), times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--questions", type=Path, default=ROOT / "eval/archive_questions.jsonl")
    ap.add_argument("--max-questions", type=int, default=100)
    ap.add_argument("--ef", default="400,800,1600", help="HNSW efSearch values to try (HNSW indexes only)")
    ap.add_argument("--flat-threads", default="", help="also time exact search (IndexFlatIP) on these thread counts, e.g. 1,2")
    ap.add_argument("--build-hnsw", default="", help="M,efConstruction: build another HNSW graph over the vectors and score it instead")
    ap.add_argument("--build-threads", type=int, default=2)
    ap.add_argument("--build-ivf", default="", help="nlist: build an IVF index over the vectors and score it at each --nprobe")
    ap.add_argument("--nprobe", default="16,32,64,128")
    ap.add_argument("--model", default="default")
    ap.add_argument("--cache", default="~/.cache/bulletin_bot")
    args = ap.parse_args()

    import faiss

    from bulletin_bot.config import load_settings
    from bulletin_bot.service import BulletinService
    from bulletin_bot.store import IndexPaths, load_current
    from bulletin_bot.store.write import trained_ivf

    settings = replace(load_settings(), index=args.index, cache=Path(args.cache).expanduser(), model=args.model)
    service = BulletinService(settings)
    loaded = load_current(IndexPaths(args.index))
    embedder = service.embedder(loaded.manifest)
    questions = load_questions(args.questions)[: args.max_questions]
    qvecs = np.stack([np.asarray(embedder.embed_query(q), dtype=np.float32) for q in questions])
    vectors = np.asarray(loaded.vectors, dtype=np.float32)
    t0 = time.perf_counter()
    truth = _exact_topk(vectors, qvecs, 10)
    exact_ms = (time.perf_counter() - t0) * 1000 / len(questions)
    truth_keys = passage_keys(loaded, truth)
    faiss.omp_set_num_threads(1)
    index = loaded.faiss
    kind = type(index).__name__
    print(f"{args.index}: {vectors.shape[0]:,} vectors of {vectors.shape[1]}, {kind}; {len(questions)} questions")
    print(f"exact search (numpy, blockwise, all cores): {exact_ms:.0f} ms a question")
    def report(label: str, found: np.ndarray, times: list[float]) -> None:
        print(f"| {label} | {_recall(found, truth, 10):.3f} | {passage_recall(passage_keys(loaded, found), truth_keys):.3f} "
              f"| {pct(times, 50):.1f} / {pct(times, 95):.1f} |")

    print("| search | recall@10 by chunk | recall@10 by passage | ms a question p50 / p95 (one thread) |")
    print("|---|---|---|---|")
    if args.build_hnsw:
        # another graph over the same vectors: what a build with these settings would give
        m, ef_construction = (int(x) for x in args.build_hnsw.split(","))
        faiss.omp_set_num_threads(args.build_threads)
        t0 = time.perf_counter()
        index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.add(vectors)
        kind = f"IndexHNSWFlat M={m} efConstruction={ef_construction} (built in {(time.perf_counter() - t0) / 60:.1f} min)"
        faiss.omp_set_num_threads(1)
    if args.build_ivf:
        # an inverted file instead: copies of a passage fall in the same cell, so probing the
        # cells nearest the question finds them together
        nlist = int(args.build_ivf)
        faiss.omp_set_num_threads(args.build_threads)
        t0 = time.perf_counter()
        index = trained_ivf(vectors, nlist)  # as the index builds it past the exact-search limit
        index.add(vectors)
        kind = f"IndexIVFFlat nlist={nlist} (built in {(time.perf_counter() - t0) / 60:.1f} min)"
        faiss.omp_set_num_threads(1)
        for nprobe in [int(p) for p in args.nprobe.split(",")]:
            index.nprobe = nprobe
            report(f"{kind} nprobe {nprobe}", *timed_search(index, qvecs))
        args.ef = ""
    settings_tried = ([int(e) for e in args.ef.split(",") if e] if hasattr(index, "hnsw") else [0]) if args.ef else []
    for ef in settings_tried:
        if ef:
            index.hnsw.efSearch = ef
        report(f"{kind} efSearch {ef}" if ef else kind, *timed_search(index, qvecs))
    for threads in [int(t) for t in args.flat_threads.split(",") if t]:
        # exact search as the embedded index does it below store.EXACT_SEARCH_LIMIT
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        faiss.omp_set_num_threads(threads)
        report(f"IndexFlatIP (exact), {threads} thread(s)", *timed_search(flat, qvecs))
        del flat
    loaded.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
