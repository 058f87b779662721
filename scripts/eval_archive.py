#!/usr/bin/env python3
"""Archive-scale retrieval quality, beside plain BM25 on the same questions, by kind.

Index: all 825 shared issues plus the seed (≈ 11,700 articles). Questions: any question files
(default: eval/archive_tune.jsonl, the tuning set). Each question is asked of bulletin_bot
(`BulletinService.ask`, top 10) and of the plain baseline (scripts/baseline_bm25.py: bm25s +
jieba over ≈260-character passages, the title in front of each article's first one), and both
are scored the same way (`bulletin_bot.evaluation`).

    .venv/bin/python scripts/eval_archive.py [--questions FILE ...] [--model default] [-v]
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

from baseline_bm25 import Baseline  # noqa: E402
from eval_dev import eval_corpus, read_passages  # noqa: E402

from bulletin_bot.config import load_settings  # noqa: E402
from bulletin_bot.evaluation import format_table, judge, load_questions, load_truth, tally  # noqa: E402
from bulletin_bot.models import Answer, Citation, Quote  # noqa: E402
from bulletin_bot.service import BulletinService  # noqa: E402


def baseline_answers(service: BulletinService):
    """The baseline over the very articles bulletin_bot indexed, answering like `ask`."""
    index = service._current()
    issues = {r.id: r for r in index.all_issues()}
    meta = {a.id: (a, issues[a.issue_id]) for a in index.all_articles()}
    t0 = time.monotonic()
    base = Baseline.build([(a.id, a.title, a.text) for a, _ in meta.values()])
    print(f"baseline: {len(base.texts)} passages indexed in {time.monotonic() - t0:.1f} s", file=sys.stderr)

    def ask(q: str) -> Answer:
        quotes = []
        for key, passage, score in base.search(q, 10):
            a, i = meta[key]
            cit = Citation(i.series, i.number, i.date, a.section, a.title, i.file, a.index)
            quotes.append(Quote(cit, passage, (), round(score, 4), key))
        return Answer(q, True, tuple(quotes))

    return ask


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", nargs="+", type=Path, default=[ROOT / "eval/archive_tune.jsonl"])
    ap.add_argument("--model", default="default")
    ap.add_argument("--work", default=str(ROOT / ".cache/eval"))
    ap.add_argument("--systems", nargs="+", default=["bulletin_bot", "bm25"], choices=["bulletin_bot", "bm25"])
    ap.add_argument("--save", type=Path, help="write each question's outcome here (JSON lines)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = ap.parse_args()
    if not SHARED.is_dir():
        print(f"needs {SHARED} (the shared data)", file=sys.stderr)
        return 2
    work = Path(args.work)
    corpus = eval_corpus(work / "corpus-full", "0000", "9999")
    settings = replace(load_settings(), corpus=corpus, index=work / f"index-{args.model}-full", model=args.model)
    service = BulletinService(settings)
    report = service.reindex()
    read_passages(service)
    print(f"index: {report.issues} issues, {report.articles} articles, {report.chunks} chunks", file=sys.stderr)
    questions = [q for path in args.questions for q in load_questions(path)]
    truth = load_truth(SHARED / "corpus/xwlb/truth.jsonl")
    systems = {
        "bulletin_bot": lambda q: service.ask(q, top_k=10),
        "bm25": baseline_answers(service) if "bm25" in args.systems else None,
    }
    saved = []
    for name in args.systems:
        ask = systems[name]
        ask("预热")
        times, outcomes, codes = [], [], []
        for q in questions:
            t = time.perf_counter()
            answer = ask(q.q)
            times.append(time.perf_counter() - t)
            outcomes.append(judge(q, answer, truth))
            codes.append(answer.reason_code)
        times.sort()
        p50, p95 = times[len(times) // 2] * 1000, times[int(len(times) * 0.95)] * 1000
        tallies = tally(outcomes)
        print(f"\n### {name} ({len(questions)} questions; p50 {p50:.0f} ms, p95 {p95:.0f} ms)\n")
        print(format_table(tallies))
        if args.verbose:
            for miss in tallies["all"].misses:
                print("  miss:", miss)
        saved += [{"system": name, "q": o.question.q, "kind": o.question.kind, "found": o.found,
                   "rank": o.rank, "quoted": o.quoted, "reason_code": code} for o, code in zip(outcomes, codes)]
    if args.save:
        args.save.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in saved), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
