#!/usr/bin/env python3
"""The retrieval measurement behind the README's quality table.

Index: the seed issue plus every shared issue dated 2022-12-01 … 2023-07-31 (≈ 3,300 articles
as distractors), linked into a scratch corpus; questions: ../shared/eval/dev_questions.jsonl
plus our own eval/negatives.jsonl. Prints BM25 alone, dense alone and fused for each model.
With --corpus full the index holds all 825 shared issues plus the seed (11,500 articles), and
--questions names other question files (eval/later_questions.jsonl: questions on the issues
outside the dev window, written without looking at the ranking).

    .venv/bin/python scripts/eval_dev.py [--models static-zh e5] [--modes bm25 dense fused] [-v]
    .venv/bin/python scripts/eval_dev.py --corpus full --questions eval/later_questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "src"))

from bulletin_bot.config import load_settings  # noqa: E402
from bulletin_bot.evaluation import evaluate, format_table, load_questions, load_truth  # noqa: E402
from bulletin_bot.ranking import RetrievalSettings  # noqa: E402
from bulletin_bot.service import BulletinService  # noqa: E402

FIRST, LAST = "2022-12-01", "2023-07-31"


def eval_corpus(folder: Path, first: str = FIRST, last: str = LAST) -> Path:
    """A scratch corpus of symlinks: the seed and the shared issues in the date window."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for line in (SHARED / "corpus/xwlb/truth.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if first <= row["date"] <= last:
            files[row["file"]] = SHARED / "corpus/xwlb/issues" / row["file"]
    files["seed-455.txt"] = SHARED / "seed/455.txt"
    for name, src in files.items():
        link = folder / name
        if not link.exists():  # a hard link (a symbolic one out of the corpus is skipped), else a copy
            try:
                os.link(src, link)
            except OSError:
                shutil.copyfile(src, link)
    return folder


def read_passages(service) -> None:
    """The reader's pass over the index's chunks, as `bulletin-bot index` makes it (about an hour
    for the whole archive the first time on two cores; from the cache after that)."""
    from tqdm import tqdm

    bar = None

    def progress(step) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=step.total, desc="reader", unit="chunk", file=sys.stderr, mininterval=30)
        bar.update(step.done - bar.n)

    service.read_passages(progress)
    if bar is not None:
        bar.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["default"])
    ap.add_argument("--modes", nargs="+", default=["fused"], choices=["bm25", "dense", "fused"])
    ap.add_argument("--work", default=str(ROOT / ".cache/eval"), help="scratch folder for the corpus and indexes")
    ap.add_argument("--corpus", choices=["dev", "full"], default="dev",
                    help=f"dev: the seed and the issues of {FIRST} … {LAST}; full: every shared issue and the seed")
    ap.add_argument("--questions", nargs="+", type=Path,
                    help="question files (default: the shared dev questions and eval/negatives.jsonl)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if not SHARED.is_dir():
        print(f"needs {SHARED} (the shared data)", file=sys.stderr)
        return 2
    work = Path(args.work)
    if args.corpus == "full":
        corpus = eval_corpus(work / "corpus-full", "0000", "9999")
    else:
        corpus = eval_corpus(work / "corpus")
    files = args.questions or [SHARED / "eval/dev_questions.jsonl", ROOT / "eval/negatives.jsonl"]
    questions = [q for path in files for q in load_questions(path)]
    truth = load_truth(SHARED / "corpus/xwlb/truth.jsonl")
    base = load_settings()
    for model in args.models:
        suffix = "-full" if args.corpus == "full" else ""
        settings = replace(base, corpus=corpus, index=work / f"index-{model.replace('/', '_')}{suffix}", model=model)
        service = BulletinService(settings)
        t0 = time.monotonic()
        report = service.reindex()
        print(f"\n## model {model}: {report.issues} issues, {report.articles} articles, {report.chunks} chunks; "
              f"index {report.seconds:.1f} s ({report.embedded} embedded, {report.reused} cached)")
        for mode in args.modes:
            rs = RetrievalSettings()
            if mode == "bm25":
                rs = replace(rs, dense_weight=0.0)
            elif mode == "dense":
                rs = replace(rs, dense_weight=1.0)
            svc = BulletinService(settings, embedder=service.embedder(), retrieval=rs)
            svc.ask("预热")
            t0 = time.monotonic()
            times = []

            def ask(q: str):
                t = time.perf_counter()
                a = svc.ask(q, top_k=10)
                times.append(time.perf_counter() - t)
                return a

            tallies = evaluate(questions, ask, truth)
            times.sort()
            p50 = times[len(times) // 2] * 1000
            p95 = times[int(len(times) * 0.95)] * 1000
            print(f"\n### {model} · {mode} (query p50 {p50:.0f} ms, p95 {p95:.0f} ms)\n")
            print(format_table(tallies))
            if args.verbose:
                for miss in tallies["all"].misses:
                    print("  miss:", miss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
