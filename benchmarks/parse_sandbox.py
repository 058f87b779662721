"""What parsing in child processes costs: the shared corpus parsed in-process and in a ParsePool.

    python benchmarks/parse_sandbox.py [--folder ../shared/corpus/xwlb/issues] [--repeat 3]

Prints, for the 825 shared .txt issues: in-process `parse_bytes` (after the word dictionary is
loaded), a pool of 1 and of 2 workers (including starting them), and a whole first
`build_index` with the hash model, parsing in-process and in the pool (its "parse" stage is
reading, hashing and parsing). Best of --repeat runs each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.indexer import BuildOptions, build_index
from bulletin_bot.errors import ParseError
from bulletin_bot.corpus import corpus_files
from bulletin_bot.parsing import parse_bytes, warm_up
from bulletin_bot.sandbox import ParseLimits, ParsePool

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "corpus" / "xwlb" / "issues"


def in_process(jobs: list[tuple[str, bytes]]) -> int:
    ok = 0
    for rel, data in jobs:
        try:
            parse_bytes(data, rel)
            ok += 1
        except ParseError:
            pass
    return ok


def pooled(jobs: list[tuple[str, bytes]], workers: int) -> int:
    with ParsePool(ParseLimits(), workers) as pool:
        return sum(1 for _, outcome in pool.parse_many(jobs) if not isinstance(outcome, ParseError))


def best(repeat: int, run) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def build_stages(folder: Path, limits: ParseLimits | None) -> tuple[float, float]:
    """(whole first build s, parse stage s) of `folder` with the hash model."""
    stamps: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build_index(BuildOptions(corpus=folder, index=Path(tmp) / "index", model_name="hash", parse_limits=limits),
                    HashEmbedder(), lambda p: stamps.setdefault(p.stage, time.perf_counter()))
        total = time.perf_counter() - start
    after_parse = stamps.get("tokens", stamps.get("embed", time.perf_counter()))
    return total, after_parse - stamps["scan"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-build", action="store_true", help="skip the two whole builds")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"no such folder: {args.folder}", file=sys.stderr)
        return 2
    files = corpus_files([args.folder])
    jobs = [(p.relative_to(args.folder).as_posix(), p.read_bytes()) for p in files]
    print(f"{len(jobs)} files, {sum(len(d) for _, d in jobs) / 1e6:.1f} MB")
    warm_up()
    for label, run in (("in-process", lambda: in_process(jobs)),
                       ("pool, 1 worker", lambda: pooled(jobs, 1)),
                       ("pool, 2 workers", lambda: pooled(jobs, 2))):
        seconds, ok = best(args.repeat, run)
        print(f"{label:>16}: {seconds:.2f} s ({len(jobs) / seconds:.0f} files/s), {ok} parsed")
    if not args.no_build:
        for label, limits in (("in-process", None), ("sandboxed", ParseLimits())):
            runs = [build_stages(args.folder, limits) for _ in range(args.repeat)]
            total, parse = min(runs)
            print(f"build_index, parsing {label:>10}: {total:.1f} s in all, parse stage {parse:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
