"""Measure embedders for the default choice: indexing speed, query latency, dense retrieval quality.

    .venv/bin/python scripts/measure_dense.py --models static-zh,e5 [--shared ../shared]

Passages are paragraphs: the seed issue's articles (parsed with bulletin_bot.parsing) plus every
article of shared/corpus/xwlb/truth.jsonl dated 2022-12-01 … 2023-07-31. An article's score is
its best paragraph's; a question hits when the article it names (or one in `also`) ranks high.
Besides dense-only numbers the script reports dense + BM25 fused by reciprocal rank (k=60) and
by a convex combination (w * cosine + (1 - w) * BM25 / max BM25), with BM25 from
bulletin_bot.bm25 over text.search_tokens, since retrieval uses the embedder that way.

Measured 2026-11-26 on the 2-core box (shared with other jobs, load 3-9), 20,569 paragraphs,
60 questions (hit@1 / hit@5 / MRR@10):

    bm25 alone                       0.817 / 0.983 / 0.889
    static-zh dense                  0.583 / 0.817 / 0.682   ~900-2,400 passages/s (300 chars), 0.1-0.4 ms/query
    static-zh + bm25, convex w=0.5   0.883 / 0.967 / 0.927   (w=0.3: 0.850 / 0.983 / 0.906; RRF: 0.717 / 0.917 / 0.804)
    e5 dense                         0.867 / 0.967 / 0.916   ~8 passages/s idle (1-3 loaded), 35-90 ms/query
    e5 + bm25, RRF                   0.867 / 0.983 / 0.917   (convex: 0.817 / 0.983 / 0.890)

static-zh's teacher mode: query 0.600 / 0.767 vs passage 0.583 / 0.733 (SIF a=1e-4); SIF a: 1e-3 best
(0.583 / 0.817 / 0.682) over 1e-4, 3e-3, 1e-2, 1e-5 and none; PCA 256 vs 384 no difference.

Passage vectors are cached in --work (default /tmp/bulletin_bot_measure) by model id, so a
second run only re-scores. Nothing here reads or writes the repository's data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bulletin_bot.embedding import load_embedder  # noqa: E402

DATE_FROM, DATE_TO = "2022-12-01", "2023-07-31"


def load_passages(shared: Path, date_to: str = DATE_TO) -> tuple[list[str], list[str]]:
    """(paragraph texts, article id of each paragraph)."""
    texts: list[str] = []
    ids: list[str] = []
    seed = shared / "seed" / "455.txt"
    try:
        from bulletin_bot.parsing import read_issue

        issue = read_issue(seed)
        articles = [(f"seed-455-{a.index}", [a.title, *a.paragraphs]) for a in issue.articles]
    except ImportError:  # parser not there yet: blank-line blocks, crude but enough to measure
        raise SystemExit("bulletin_bot.parsing.read_issue is needed to split the seed")
    for art_id, paras in articles:
        for p in paras:
            if p.strip():
                texts.append(p.strip())
                ids.append(art_id)
    with open(shared / "corpus" / "xwlb" / "truth.jsonl", encoding="utf-8") as fh:
        for line in fh:
            art = json.loads(line)
            if not DATE_FROM <= art["date"] <= date_to:
                continue
            for p in [art["title"], *art["text"].split("\n")]:
                if p.strip():
                    texts.append(p.strip())
                    ids.append(art["id"])
    return texts, ids


def speed_passages(shared: Path, n: int) -> list[str]:
    """`n` passages of 300 characters cut from the corpus."""
    out: list[str] = []
    buf = ""
    with open(shared / "corpus" / "xwlb" / "truth.jsonl", encoding="utf-8") as fh:
        for line in fh:
            buf += json.loads(line)["text"].replace("\n", "")
            while len(buf) >= 300 and len(out) < n:
                out.append(buf[:300])
                buf = buf[300:]
            if len(out) >= n:
                return out
    return out


def rank_articles(scores: np.ndarray, ids: list[str], k: int = 10) -> list[str]:
    order = np.argsort(-scores, kind="stable")
    seen: list[str] = []
    for i in order:
        if ids[i] not in seen:
            seen.append(ids[i])
            if len(seen) == k:
                break
    return seen


def rrf(*score_lists: np.ndarray, k: int = 60) -> np.ndarray:
    fused = np.zeros(len(score_lists[0]), dtype=np.float64)
    for s in score_lists:
        ranks = np.empty(len(s), dtype=np.int64)
        ranks[np.argsort(-s, kind="stable")] = np.arange(len(s))
        fused += 1.0 / (k + 1 + ranks)
    return fused


def convex(dense: np.ndarray, bm25: np.ndarray, w: float) -> np.ndarray:
    """w * cosine + (1 - w) * BM25 scaled to [0, 1] by the query's best BM25 score."""
    return w * dense + (1.0 - w) * bm25 / max(float(bm25.max()), 1e-9)


def quality(rankings: list[list[str]], questions: list[dict]) -> dict[str, float]:
    hit1 = hit5 = mrr = 0.0
    for ranked, q in zip(rankings, questions):
        good = {q["id"], *q.get("also", [])}
        pos = next((i for i, a in enumerate(ranked) if a in good), None)
        hit1 += pos == 0
        hit5 += pos is not None and pos < 5
        mrr += 1.0 / (pos + 1) if pos is not None else 0.0
    n = len(questions)
    return {"hit@1": round(hit1 / n, 3), "hit@5": round(hit5 / n, 3), "mrr@10": round(mrr / n, 3)}


def embed_cached(emb, texts: list[str], work: Path, part: int = 1024) -> tuple[np.ndarray, float | None]:
    """Passage vectors, saved in parts under `work` so an interrupted slow run resumes.

    Returns the vectors and the seconds spent embedding (None when everything came from disk).
    """
    safe = emb.model_id.replace("/", "_").replace(":", "_")
    folder = work / safe
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    spent = 0.0
    embedded = 0
    for start in range(0, len(texts), part):
        # keyed by content, so a subset run's parts are reused by the full run (same order)
        digest = hashlib.sha256("\n".join(texts[start : start + part]).encode()).hexdigest()[:16]
        f = folder / f"part-{digest}.npy"
        if f.is_file():
            parts.append(np.load(f, allow_pickle=False))
            continue
        t0 = time.perf_counter()
        vec = emb.embed_passages(texts[start : start + part])
        spent += time.perf_counter() - t0
        embedded += len(vec)
        np.save(f, vec, allow_pickle=False)
        parts.append(vec)
        print(f"  {emb.model_id}: {start + len(vec)}/{len(texts)} ({embedded / spent:.1f} passages/s)", flush=True)
    return np.concatenate(parts), (spent if embedded == len(texts) else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="static-zh,e5")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "bulletin_bot", help="model cache")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bulletin_bot_measure"), help="vector cache")
    ap.add_argument("--speed-n", type=int, default=0, help="300-char passages for the speed test (0: 2000 static, 100 others)")
    ap.add_argument("--no-bm25", action="store_true")
    ap.add_argument("--date-to", default=DATE_TO, help="subset: xwlb articles up to this date (slow models)")
    args = ap.parse_args()

    questions = [json.loads(l) for l in open(args.shared / "eval" / "dev_questions.jsonl", encoding="utf-8")]
    questions = [q for q in questions if q.get("id")]
    texts, ids = load_passages(args.shared, args.date_to)
    if args.date_to < DATE_TO:  # a subset: keep the questions whose article is in it
        known = set(ids)
        questions = [q for q in questions if q["id"] in known]
    print(f"{len(texts)} paragraphs of {len(set(ids))} articles; {len(questions)} questions", flush=True)
    by_kind = defaultdict(list)
    for i, q in enumerate(questions):
        by_kind[q["kind"]].append(i)

    bm25_scores = None
    if not args.no_bm25:
        from bulletin_bot.bm25 import BM25Index
        from bulletin_bot.text import search_tokens

        bm = BM25Index.build([search_tokens(t) for t in texts])
        bm25_scores = [bm.scores(search_tokens(q["q"])) for q in questions]
        ranks = [rank_articles(s, ids) for s in bm25_scores]
        print(json.dumps({"model": "bm25", **quality(ranks, questions)}), flush=True)

    args.work.mkdir(parents=True, exist_ok=True)
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        t0 = time.perf_counter()
        emb = load_embedder(name, args.cache_dir)
        load_s = time.perf_counter() - t0
        n_speed = args.speed_n or (2000 if name.startswith("static") or name == "hash" else 100)
        sp = speed_passages(args.shared, n_speed)
        t0 = time.perf_counter()
        emb.embed_passages(sp)
        pps = len(sp) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        qv = np.stack([emb.embed_query(q["q"]) for q in questions])
        ms_q = 1000 * (time.perf_counter() - t0) / len(questions)

        pv, index_s = embed_cached(emb, texts, args.work)
        dense = [pv @ q for q in qv]
        ranks = [rank_articles(s, ids) for s in dense]
        row = {
            "model": name,
            "model_id": emb.model_id,
            "dim": emb.dimension,
            "load_s": round(load_s, 2),
            "passages_per_s_300ch": round(pps, 1),
            "ms_per_query": round(ms_q, 2),
            "index_paragraphs_s": None if index_s is None else round(index_s, 1),
            **quality(ranks, questions),
            "by_kind_hit@5": {k: quality([ranks[i] for i in v], [questions[i] for i in v])["hit@5"] for k, v in by_kind.items()},
        }
        if bm25_scores is not None:
            fused = [rank_articles(rrf(d, b), ids) for d, b in zip(dense, bm25_scores)]
            row["fused_rrf"] = quality(fused, questions)
            for w in (0.3, 0.5):
                fused = [rank_articles(convex(d, b, w), ids) for d, b in zip(dense, bm25_scores)]
                row[f"fused_convex_{w}"] = quality(fused, questions)
        print(json.dumps(row, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
