"""Time parsing every issue of the shared corpus (825 files): prints seconds and issues/s.

    .venv/bin/python scripts/bench_parse.py [folder ...]

The default folder is ../shared/corpus/xwlb/issues next to the project. The first run of a
process also loads jieba's dictionary (about a second), which is reported on its own line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bulletin_bot.corpus import corpus_files, scan
from bulletin_bot.parsing import warm_up

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "corpus" / "xwlb" / "issues"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[DEFAULT])
    parser.add_argument("--repeat", type=int, default=1, help="parse the corpus this many times")
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.folders if not f.exists()]
    if missing:
        print(f"no such folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = corpus_files(args.folders)

    start = time.perf_counter()
    warm_up()
    print(f"jieba dictionary load: {time.perf_counter() - start:.2f} s")

    best = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        issues, problems = scan(args.folders)
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    articles = sum(len(issue.articles) for issue in issues)
    print(f"files: {len(files)}  issues: {len(issues)}  articles: {articles}  problems: {len(problems)}")
    for problem in problems[:10]:
        print(f"  {problem.file}: {problem.reason}")
    print(f"parse time: {best:.2f} s  ({len(issues) / best:.0f} issues/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
