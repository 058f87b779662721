#!/usr/bin/env python3
"""The embedded index and the Milvus backend side by side on the archive questions.

Index: all 825 shared issues plus the seed, built twice with the same model: once embedded
(FAISS and our BM25 in the folder), once with BULLETIN_BOT_INDEX_BACKEND=milvus against a
milvus-lite 2.5 file. Each question is asked of both (`BulletinService.ask`, top 10) and scored
the same way (`bulletin_bot.evaluation`); the table shows hit@1, hit@5, quote@5, how often each
said 未找到 and on how many questions the two decisions differ.

    .venv/bin/python scripts/eval_backends.py --backend embedded --save embedded.jsonl
    .venv/bin/python scripts/eval_backends.py --backend milvus --save milvus.jsonl   (may run at once)
    .venv/bin/python scripts/eval_backends.py --compare embedded.jsonl milvus.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from eval_dev import eval_corpus  # noqa: E402

from bulletin_bot.config import load_settings  # noqa: E402
from bulletin_bot.evaluation import judge, load_questions, load_truth  # noqa: E402
from bulletin_bot.service import BulletinService  # noqa: E402

BACKENDS = ("embedded", "milvus")
FIGURES = ("hit@1", "hit@5", "quote@5", "MRR@10", "abstained", "false_abstentions")


def run(args) -> int:
    """Build (or reuse) one backend's index, ask every question, save each outcome."""
    work = Path(args.work)
    corpus = eval_corpus(work / "corpus-full", "0000", "9999")
    questions = [q for path in args.questions for q in load_questions(path)]
    truth = load_truth(SHARED / "corpus/xwlb/truth.jsonl")
    settings = replace(load_settings(), corpus=corpus, index=work / f"index-{args.model}-full-{args.backend}",
                       model=args.model, index_backend=args.backend,
                       milvus_uri=args.milvus_uri or str(work / "milvus.db"))
    service = BulletinService(settings)
    t0 = time.monotonic()
    report = service.reindex()
    print(f"{args.backend}: {report.issues} issues, {report.chunks} chunks, built in "
          f"{time.monotonic() - t0:.0f} s ({service.stats().backend})", file=sys.stderr)
    service.ask("预热")
    rows = []
    for n, q in enumerate(questions, 1):
        t = time.perf_counter()
        answer = service.ask(q.q, top_k=10)
        ms = (time.perf_counter() - t) * 1000
        o = judge(q, answer, truth)
        rows.append({"backend": args.backend, "q": q.q, "kind": q.kind, "answerable": o.answerable,
                     "found": o.found, "rank": o.rank, "quoted": o.quoted, "reason_code": answer.reason_code,
                     "ms": round(ms, 1)})
        if n % 25 == 0:
            print(f"{args.backend}: {n}/{len(questions)} asked", file=sys.stderr)
    args.save.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(json.dumps(_figures(rows)))
    return 0


def _figures(rows: list[dict]) -> dict:
    pos = [r for r in rows if r["answerable"]]
    neg = [r for r in rows if not r["answerable"]]
    ranks = [r["rank"] for r in pos]
    times = sorted(r["ms"] for r in rows)
    return {
        "hit@1": sum(k == 0 for k in ranks) / len(pos),
        "hit@5": sum(k is not None and k < 5 for k in ranks) / len(pos),
        "quote@5": sum(r["quoted"] for r in pos) / len(pos),
        "MRR@10": sum(1 / (k + 1) for k in ranks if k is not None) / len(pos),
        "abstained": sum(not r["found"] for r in neg) / len(neg) if neg else float("nan"),
        "false_abstentions": sum(not r["found"] for r in pos) / len(pos),
        "未找到": sum(not r["found"] for r in rows) / len(rows),
        "p50 ms": times[len(times) // 2], "p95 ms": times[int(len(times) * 0.95)],
        "answerable": len(pos), "unanswerable": len(neg),
    }


def compare(files: list[Path]) -> int:
    """The side-by-side table of two saved runs (embedded first, Milvus second)."""
    runs = [[json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line] for f in files]
    a, b = runs
    if [r["q"] for r in a] != [r["q"] for r in b]:
        print("the two runs asked different questions", file=sys.stderr)
        return 2
    fa, fb = _figures(a), _figures(b)
    print(f"{len(a)} questions ({fa['answerable']} answerable, {fa['unanswerable']} the archive cannot answer)\n")
    print(f"| | {a[0]['backend']} | {b[0]['backend']} | difference |")
    print("|---|---|---|---|")
    for col in (*FIGURES, "未找到"):
        print(f"| {col} | {fa[col]:.3f} | {fb[col]:.3f} | {fb[col] - fa[col]:+.3f} |")
    print(f"| warm ask p50 / p95 | {fa['p50 ms']:.0f} / {fa['p95 ms']:.0f} ms | {fb['p50 ms']:.0f} / {fb['p95 ms']:.0f} ms | |")
    differ = sum(x["found"] != y["found"] for x, y in zip(a, b))
    same_rank = sum(x["rank"] == y["rank"] for x, y in zip(a, b))
    print(f"\n未找到 decided differently on {differ} of {len(a)} questions ({differ / len(a):.3f}); "
          f"the right article at the same rank on {same_rank} of {len(a)}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=BACKENDS, help="run one backend over the questions (with --save)")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("EMBEDDED", "MILVUS"),
                    help="print the side-by-side table of two saved runs")
    ap.add_argument("--questions", nargs="+", type=Path, default=[ROOT / "eval/archive_questions.jsonl"])
    ap.add_argument("--model", default="default")
    ap.add_argument("--work", default=str(ROOT / ".cache/eval"))
    ap.add_argument("--milvus-uri", default="", help="a Milvus server; default: a milvus-lite file in --work")
    ap.add_argument("--save", type=Path, help="where --backend writes each question's outcome (JSON lines)")
    args = ap.parse_args()
    if args.compare:
        return compare(args.compare)
    if not args.backend or not args.save:
        ap.error("give --backend and --save (one run), or --compare EMBEDDED MILVUS")
    if not SHARED.is_dir():
        print(f"needs {SHARED} (the shared data)", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
