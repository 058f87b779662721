#!/usr/bin/env python3
"""The embedded index and the Milvus backend side by side on the archive questions.

Index: all 825 shared issues plus the seed, built twice with the same model: once embedded
(FAISS and our BM25 in the folder), once with BULLETIN_BOT_INDEX_BACKEND=milvus against a
milvus-lite 2.5 file. Each question is asked of both (`BulletinService.ask`, top 10) and scored
the same way (`bulletin_bot.evaluation`); the table shows hit@1, hit@5, quote@5, how often each
said 未找到 and on how many questions the two decisions differ.

    .venv/bin/python scripts/eval_backends.py [--questions FILE ...] [--model default] [--save FILE]
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
from bulletin_bot.evaluation import judge, load_questions, load_truth, tally  # noqa: E402
from bulletin_bot.service import BulletinService  # noqa: E402

BACKENDS = ("embedded", "milvus")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", nargs="+", type=Path, default=[ROOT / "eval/archive_questions.jsonl"])
    ap.add_argument("--model", default="default")
    ap.add_argument("--work", default=str(ROOT / ".cache/eval"))
    ap.add_argument("--milvus-uri", default="", help="a Milvus server; default: a milvus-lite file in --work")
    ap.add_argument("--save", type=Path, help="write each question's outcome on both backends here (JSON lines)")
    args = ap.parse_args()
    if not SHARED.is_dir():
        print(f"needs {SHARED} (the shared data)", file=sys.stderr)
        return 2
    work = Path(args.work)
    corpus = eval_corpus(work / "corpus-full", "0000", "9999")
    questions = [q for path in args.questions for q in load_questions(path)]
    truth = load_truth(SHARED / "corpus/xwlb/truth.jsonl")
    outcomes, codes, ms = {}, {}, {}
    for backend in BACKENDS:
        settings = replace(load_settings(), corpus=corpus, index=work / f"index-{args.model}-full-{backend}",
                           model=args.model, index_backend=backend,
                           milvus_uri=args.milvus_uri or str(work / "milvus.db"))
        service = BulletinService(settings)
        t0 = time.monotonic()
        report = service.reindex()
        print(f"{backend}: {report.issues} issues, {report.chunks} chunks, built in "
              f"{time.monotonic() - t0:.0f} s ({service.stats().backend})", file=sys.stderr)
        service.ask("预热")
        outcomes[backend], codes[backend], times = [], [], []
        for q in questions:
            t = time.perf_counter()
            answer = service.ask(q.q, top_k=10)
            times.append(time.perf_counter() - t)
            outcomes[backend].append(judge(q, answer, truth))
            codes[backend].append(answer.reason_code)
        times.sort()
        ms[backend] = (times[len(times) // 2] * 1000, times[int(len(times) * 0.95)] * 1000)

    rows = {b: tally(outcomes[b])["all"].row() for b in BACKENDS}
    notfound = {b: sum(not o.found for o in outcomes[b]) / len(questions) for b in BACKENDS}
    differ = sum(a.found != b.found for a, b in zip(*(outcomes[b] for b in BACKENDS)))
    same_top = sum(a.rank == b.rank for a, b in zip(*(outcomes[b] for b in BACKENDS)))
    print(f"\n{len(questions)} questions ({rows['embedded']['questions']} answerable, "
          f"{rows['embedded']['negatives']} with no answer in the archive)\n")
    print("| | " + " | ".join(BACKENDS) + " | difference |")
    print("|---|---|---|---|")
    for col in ("hit@1", "hit@5", "quote@5", "MRR@10", "abstained", "false_abstentions"):
        a, b = rows["embedded"][col], rows["milvus"][col]
        diff = "–" if a is None or b is None else f"{b - a:+.3f}"
        print(f"| {col} | {a} | {b} | {diff} |")
    print(f"| 未找到 (all questions) | {notfound['embedded']:.3f} | {notfound['milvus']:.3f} | "
          f"{notfound['milvus'] - notfound['embedded']:+.3f} |")
    print(f"| p50 / p95 ms | {ms['embedded'][0]:.0f} / {ms['embedded'][1]:.0f} | "
          f"{ms['milvus'][0]:.0f} / {ms['milvus'][1]:.0f} | |")
    print(f"\n未找到 decided differently: {differ} of {len(questions)} ({differ / len(questions):.3f}); "
          f"rank of the right article equal: {same_top} of {len(questions)}")
    if args.save:
        lines = [json.dumps({"backend": b, "q": o.question.q, "kind": o.question.kind, "found": o.found,
                             "rank": o.rank, "quoted": o.quoted, "reason_code": c}, ensure_ascii=False)
                 for b in BACKENDS for o, c in zip(outcomes[b], codes[b])]
        args.save.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
