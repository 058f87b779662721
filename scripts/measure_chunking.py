#!/usr/bin/env python3
"""Chunk size and overlap, chosen by measurement: the dev questions on indexes built each way.

    .venv/bin/python scripts/measure_chunking.py [--model static-zh]

Uses the same scratch corpus as scripts/eval_dev.py (needs ../shared).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from eval_dev import SHARED, eval_corpus  # noqa: E402

from bulletin_bot.chunking import ChunkerSettings  # noqa: E402
from bulletin_bot.config import load_settings  # noqa: E402
from bulletin_bot.evaluation import evaluate, load_questions, load_truth  # noqa: E402
from bulletin_bot.indexer import BuildOptions, build_index  # noqa: E402
from bulletin_bot.service import BulletinService  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="static-zh")
    ap.add_argument("--targets", type=int, nargs="+", default=[120, 220, 320, 450])
    ap.add_argument("--overlaps", type=int, nargs="+", default=[0, 1])
    args = ap.parse_args()
    work = ROOT / ".cache/eval"
    corpus = eval_corpus(work / "corpus")
    questions = load_questions(SHARED / "eval/dev_questions.jsonl") + load_questions(ROOT / "eval/negatives.jsonl")
    truth = load_truth(SHARED / "corpus/xwlb/truth.jsonl")
    base = replace(load_settings(), corpus=corpus, model=args.model)
    embedder = BulletinService(base).embedder()
    print("| target chars | overlap sentences | chunks | hit@1 | hit@5 | quote@5 | MRR@10 | abstained | false abstentions |")
    print("|---|---|---|---|---|---|---|---|---|")
    for target in args.targets:
        for overlap in args.overlaps:
            index = work / f"chunking-{args.model}-{target}-{overlap}"
            chunker = ChunkerSettings(target=target, overlap=overlap)
            report = build_index(BuildOptions(corpus, index, args.model, chunker=chunker), embedder)
            service = BulletinService(replace(base, index=index), embedder=embedder)
            row = evaluate(questions, lambda q: service.ask(q, top_k=10), truth)["all"].row()
            print(f"| {target} | {overlap} | {report.chunks} | {row['hit@1']} | {row['hit@5']} | {row['quote@5']} | "
                  f"{row['MRR@10']} | {row['abstained']} | {row['false_abstentions']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
