"""A province's decade on one machine: the embedded default over a synthetic archive.

The shared issues' articles are recombined into `--issues` new issues (100,000 by default:
100 counties' series × 1,000 issues each, every three days from 2015 on; each issue draws its
articles at random from the whole pool and puts its county's name in front of every title, so
no two chunks share a text and the vector cache saves nothing). The archive is then indexed by
`bulletin-bot index` as a user would, with the default model, in a child process, and measured:

- build time (wall, by stage) and the build's peak RSS (its VmHWM; parse workers apart);
- the index on disk (the version folder and the vector cache);
- warm p50/p95 of `BulletinService.ask` over the questions (every stage, the e5 reader included);
- cold start: a new `bulletin-bot ask` process to its first answer, and its peak RSS;
- recall@10 of the vector search the index chose at that size (exact below
  `store.EXACT_SEARCH_LIMIT` chunks, an inverted file above; `ann_recall.py` compares others) against exact search, for the questions' vectors.

    .venv/bin/python benchmarks/province.py --issues 100000 --work /big/scratch [--out report.md]

A 100k run writes about 1 GB of issues and builds about 5M chunks: hours of two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import _CLI_CODE, _REPORT_PEAK, _child_env, _exact_topk, _recall, load_questions, pct, run_child  # noqa: E402

COUNTIES = 100
FIRST_DAY = date(2015, 1, 1)
DAYS_APART = 3
TARGETS = {"build_min": 30.0, "p95_ms": 300.0, "rss_gb": 8.0, "recall": 0.98}


def article_pool(shared: Path) -> list[tuple[str, str, str]]:
    """(section, title, text) of every article of the shared issues."""
    from bulletin_bot.errors import ParseError
    from bulletin_bot.parsing import parse_bytes

    pool = []
    for f in sorted(shared.glob("*.txt")):
        try:
            issue = parse_bytes(f.read_bytes(), f.name)
        except ParseError:
            continue
        pool += [(a.section or "综合", a.title, a.text) for a in issue.articles if a.title and a.text]
    return pool


def issue_text(series: str, number: int, day: date, county: str, articles: list[tuple[str, str, str]]) -> str:
    """One issue in the layout of the shipped sample: masthead, contents, sections, footer."""
    by_section: dict[str, list[tuple[str, str]]] = {}
    for section, title, text in articles:
        by_section.setdefault(section, []).append((f"{county}：{title}", text))
    head = [series, "", f"第 {number} 期", "", f"{county}委办公室", "", f"{day.year} 年 {day.month} 月 {day.day} 日", ""]
    contents, body = [], []
    for section, arts in by_section.items():
        contents += [f"【{section}】", ""] + [f"- {t}\n" for t, _ in arts]
        for title, text in arts:
            body += [f"【{section}】", "", title, ""] + [p + "\n" for p in text.split("\n") if p.strip()]
    foot = ["送：市委各部门", "", f"{county}委办公室", ""]
    return "\n".join(head + contents + body + foot)


def make_archive(folder: Path, issues: int, pool: list[tuple[str, str, str]], seed: int = 0) -> int:
    """Write `issues` synthetic issues into `folder` (kept if already complete); their count."""
    done = folder / ".complete"
    if done.is_file() and int(done.read_text()) == issues:
        return issues
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    for i in range(issues):
        county_no, number = i % COUNTIES, i // COUNTIES + 1
        county = f"示范{county_no + 1}县"
        day = FIRST_DAY + timedelta(days=(number - 1) * DAYS_APART)
        picked = rng.sample(pool, rng.randint(8, 16))
        text = issue_text(f"{county}工作简报", number, day, county, picked)
        (folder / f"{county_no + 1:03d}-{number:05d}.txt").write_text(text, encoding="utf-8")
    done.write_text(str(issues))
    return issues


def _du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6 if path.exists() else 0.0


_BUILD_CODE = """
import sys, time, json
from pathlib import Path
from bulletin_bot.config import load_settings
from bulletin_bot.service import BulletinService
from dataclasses import replace
stages = {}
def progress(p):
    stages.setdefault(p.stage, time.perf_counter())
settings = replace(load_settings(), corpus=Path(sys.argv[1]), index=Path(sys.argv[2]), model=sys.argv[3])
t0 = time.perf_counter()
report = BulletinService(settings).reindex(progress=progress)
total = time.perf_counter() - t0
print(json.dumps({"total": total, "stages": {k: v - t0 for k, v in stages.items()},
                  "issues": report.issues, "articles": report.articles, "chunks": report.chunks}))
"""


def measure(args) -> dict:
    from dataclasses import replace

    from bulletin_bot.config import load_settings
    from bulletin_bot.service import BulletinService
    from bulletin_bot.store import IndexPaths, load_current

    work = Path(args.work)
    corpus, index = work / f"archive-{args.issues}", work / f"index-{args.issues}"
    t0 = time.perf_counter()
    pool = article_pool(Path(args.shared) / "corpus/xwlb/issues")
    make_archive(corpus, args.issues, pool)
    print(f"archive: {args.issues} issues from {len(pool)} articles in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    shutil.rmtree(index, ignore_errors=True)
    cache = Path(args.cache).expanduser()
    env = _child_env(cache)
    _first, wall, rss_mb, out = run_child([sys.executable, "-c", _REPORT_PEAK + _BUILD_CODE,
                                           str(corpus), str(index), args.model], work, env, timeout=24 * 3600)
    build = json.loads(out.strip().splitlines()[-1])
    version = IndexPaths(index).current_target()
    result = {"issues": build["issues"], "articles": build["articles"], "chunks": build["chunks"],
              "build_s": build["total"], "stages_s": build["stages"], "build_rss_mb": rss_mb,
              "index_mb": _du_mb(version), "cache_mb": _du_mb(IndexPaths(index).cache.parent)}

    settings = replace(load_settings(), index=index, cache=cache, model=args.model)
    service = BulletinService(settings)
    questions = load_questions(Path(args.questions))[: args.max_questions]
    for q in questions[:5]:
        service.ask(q)
    times = []
    for _ in range(args.rounds):
        for q in questions:
            t = time.perf_counter()
            service.ask(q)
            times.append((time.perf_counter() - t) * 1000)
    result.update({"questions": len(questions), "p50_ms": pct(times, 50), "p95_ms": pct(times, 95)})

    cmd = [sys.executable, "-c", _CLI_CODE, "ask", "--index", str(index), "--json", questions[0]]
    firsts, rss = [], []
    for _ in range(args.cold_runs):
        first, _exit, mb, _out = run_child(cmd, work, env)
        firsts.append(first)
        rss.append(mb)
    result.update({"cold_s": float(np.median(firsts)), "ask_rss_mb": max(rss)})

    loaded = load_current(IndexPaths(index))
    embedder = service.embedder(loaded.manifest)
    qvecs = np.stack([np.asarray(embedder.embed_query(q), dtype=np.float32) for q in questions])
    vectors = np.asarray(loaded.vectors, dtype=np.float32)
    truth = _exact_topk(vectors, qvecs, 10)
    _, found = loaded.faiss.search(qvecs, 10)
    result.update({"search": type(loaded.faiss).__name__, "recall_at_10": _recall(found, truth, 10)})
    loaded.close()
    return result


def render(r: dict, command: str) -> str:
    ok = {
        "build": r["build_s"] / 60 <= TARGETS["build_min"], "p95": r["p95_ms"] <= TARGETS["p95_ms"],
        "rss": max(r["build_rss_mb"], r["ask_rss_mb"]) / 1024 <= TARGETS["rss_gb"],
        "recall": r["recall_at_10"] >= TARGETS["recall"],
    }
    mark = {True: "met", False: "**missed**"}
    stages = ", ".join(f"{k} from {v:.0f} s" for k, v in r["stages_s"].items())
    return "\n".join([
        f"`{command}`: {r['issues']} issues, {r['articles']} articles, {r['chunks']} chunks",
        "",
        "| figure | value | target | |",
        "|---|---|---|---|",
        f"| build time | {r['build_s'] / 60:.1f} min ({stages}) | ≤ {TARGETS['build_min']:.0f} min | {mark[ok['build']]} |",
        f"| peak RSS of the build | {r['build_rss_mb'] / 1024:.2f} GB | ≤ {TARGETS['rss_gb']:.0f} GB | {mark[ok['rss']]} |",
        f"| peak RSS of a new `ask` process | {r['ask_rss_mb'] / 1024:.2f} GB | ≤ {TARGETS['rss_gb']:.0f} GB | |",
        f"| index on disk (version folder; vector cache apart) | {r['index_mb']:.0f} MB (+ {r['cache_mb']:.0f} MB) | | |",
        f"| warm ask, p50 / p95 ({r['questions']} questions) | {r['p50_ms']:.0f} / {r['p95_ms']:.0f} ms | p95 ≤ {TARGETS['p95_ms']:.0f} ms | {mark[ok['p95']]} |",
        f"| cold start to the first answer | {r['cold_s']:.1f} s | | |",
        f"| recall@10 of {r['search']} against exact | {r['recall_at_10']:.3f} | ≥ {TARGETS['recall']} | {mark[ok['recall']]} |",
    ])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--issues", type=int, default=100_000)
    ap.add_argument("--work", required=True, help="scratch folder (the archive and its index are kept there)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--model", default="default")
    ap.add_argument("--cache", default="~/.cache/bulletin_bot", help="where the default model is built")
    ap.add_argument("--questions", default=str(ROOT / "eval/archive_questions.jsonl"))
    ap.add_argument("--max-questions", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--out", type=Path, help="write the table here too")
    args = ap.parse_args()
    if not (Path(args.shared) / "corpus/xwlb/issues").is_dir():
        print(f"needs the shared issues in {args.shared}/corpus/xwlb/issues", file=sys.stderr)
        return 2
    result = measure(args)
    table = render(result, f"benchmarks/province.py --issues {args.issues}")
    print(json.dumps(result, ensure_ascii=False), file=sys.stderr)
    print(table)
    if args.out:
        args.out.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
