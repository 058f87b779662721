#!/usr/bin/env python3
"""Dossier (素材汇编) quality on the whole archive: recall and precision per topic, and time.

Topics: JSON lines {"topic", "from", "to", "ids": [article ids of truth.jsonl, or seed-455-N],
"maybe": [borderline ids]}, the articles a reader picked for the topic and period by reading
titles and texts (default /work/qsets/dossier_topics.jsonl). A compiled article listed under
`maybe` counts neither for nor against (precision); "strict" counts it as wrong. Index: all 825 shared issues plus the seed, as
scripts/eval_archive.py builds it. Each topic is compiled (`dossier.compile_dossier`, the
service's ranking and evidence rule) and written as .docx; its articles are matched to truth
ids by date and title, as the question evaluation does.

    .venv/bin/python scripts/eval_dossiers.py [--topics FILE] [--model default] [-v] [--save FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

import eval_dev  # noqa: E402
from eval_dev import eval_corpus, read_passages  # noqa: E402

from bulletin_bot.config import load_settings  # noqa: E402
from bulletin_bot.dossier import compile_dossier  # noqa: E402
from bulletin_bot.dossier_render import to_docx  # noqa: E402
from bulletin_bot.evaluation import load_truth  # noqa: E402
from bulletin_bot.service import BulletinService  # noqa: E402

DEFAULT_TOPICS = Path("/work/qsets/dossier_topics.jsonl")


def squash(text: str) -> str:
    return "".join(text.split())


def article_id(entry, id_of: dict) -> str:
    """The truth id of a compiled article (seed-455-N for the seed issue's)."""
    citation = entry.article.citation
    if Path(citation.file).name == "seed-455.txt":
        return f"seed-455-{citation.article_index}"
    return id_of.get((entry.date, squash(citation.title)), f"?{entry.date}:{citation.title}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--topics", type=Path, default=DEFAULT_TOPICS)
    ap.add_argument("--shared", type=Path, default=SHARED, help=f"the shared data (default {SHARED})")
    ap.add_argument("--model", default="default")
    ap.add_argument("--work", default=str(ROOT / ".cache/eval"))
    ap.add_argument("--year", nargs=2, metavar=("TOPIC", "YEAR"),
                    help="also time compiling TOPIC over the twelve months of YEAR (the speed target)")
    ap.add_argument("--save", type=Path, help="write each topic's outcome here (JSON lines)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the articles missed and the extra ones")
    args = ap.parse_args()
    shared = args.shared
    if not shared.is_dir():
        print(f"needs {shared} (the shared data; --shared names it)", file=sys.stderr)
        return 2
    eval_dev.SHARED = shared  # the scratch corpus links to it
    if not args.topics.is_file():
        print(f"no topic file at {args.topics}", file=sys.stderr)
        return 2
    topics = [json.loads(line) for line in args.topics.read_text(encoding="utf-8").splitlines() if line.strip()]
    work = Path(args.work)
    corpus = eval_corpus(work / "corpus-full", "0000", "9999")
    settings = replace(load_settings(), corpus=corpus, index=work / f"index-{args.model}-full", model=args.model)
    service = BulletinService(settings)
    report = service.reindex()
    read_passages(service)
    print(f"index: {report.issues} issues, {report.articles} articles, {report.chunks} chunks", file=sys.stderr)
    truth = load_truth(shared / "corpus/xwlb/truth.jsonl")
    id_of = {value: key for key, value in truth.items()}  # (date, squashed title) -> id
    service.ask("预热")

    rows, saved = [], []
    hits = picked = found = found_strict = 0
    for t in topics:
        gold, maybe = set(t["ids"]), set(t.get("maybe", [])) - set(t["ids"])
        started = time.perf_counter()
        dossier = compile_dossier(service, t["topic"], t["from"], t["to"])
        with tempfile.TemporaryDirectory() as folder:
            to_docx(dossier, Path(folder) / "dossier.docx")
        seconds = time.perf_counter() - started
        got = [article_id(e, id_of) for e in dossier.entries]
        right = gold & set(got)
        judged = [g for g in got if g not in maybe]
        recall = len(right) / len(gold) if gold else 1.0
        precision = len(right) / len(judged) if judged else (1.0 if not gold else 0.0)
        strict = len(right) / len(got) if got else (1.0 if not gold else 0.0)
        hits, picked, found, found_strict = hits + len(right), picked + len(gold), found + len(judged), found_strict + len(got)
        issues = len({i.date for i in service.issues() if dossier.date_from <= i.date <= dossier.date_to})
        rows.append((t["topic"], f"{t['from']}…{t['to']}", issues, len(gold), len(got), recall, precision, strict,
                     seconds, len(dossier.full_months)))
        saved.append({"topic": t["topic"], "from": t["from"], "to": t["to"], "gold": sorted(gold), "got": got,
                      "recall": recall, "precision": precision, "precision_strict": strict, "seconds": seconds,
                      "full_months": list(dossier.full_months)})
        if args.verbose:
            for miss in sorted(gold - set(got)):
                print(f"  {t['topic']}: missed {miss} {truth.get(miss, ('', ''))[1]}")
            for extra in [g for g in got if g not in gold]:
                print(f"  {t['topic']}: extra  {extra} {truth.get(extra, ('', ''))[1]}")

    print("\n| topic | period | issues | picked | compiled | recall | precision | strict | seconds | full months |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for topic, period, issues, n_gold, n_got, recall, precision, strict, seconds, full in rows:
        print(f"| {topic} | {period} | {issues} | {n_gold} | {n_got} | {recall:.2f} | {precision:.2f} | {strict:.2f} "
              f"| {seconds:.1f} | {full} |")
    recall = hits / picked if picked else 1.0
    precision = hits / found if found else 1.0
    strict = hits / found_strict if found_strict else 1.0
    macro_r = sum(r[5] for r in rows) / len(rows) if rows else 0.0
    macro_p = sum(r[6] for r in rows) / len(rows) if rows else 0.0
    slowest = max((r[8] for r in rows), default=0.0)
    print(f"\noverall (all picked articles pooled): recall {recall:.3f}, precision {precision:.3f} "
          f"(strict {strict:.3f}); mean of topics: recall {macro_r:.3f}, precision {macro_p:.3f}; "
          f"slowest compile {slowest:.1f} s")
    if args.year:
        started = time.perf_counter()
        dossier = compile_dossier(service, args.year[0], f"{args.year[1]}-01", f"{args.year[1]}-12")
        with tempfile.TemporaryDirectory() as folder:
            to_docx(dossier, Path(folder) / "dossier.docx")
        print(f"a year: {args.year[0]} over {args.year[1]}: {len(dossier.entries)} articles from "
              f"{dossier.issue_count} issues, {time.perf_counter() - started:.1f} s (.docx included)")
    if args.save:
        args.save.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in saved), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
