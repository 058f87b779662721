"""`benchmarks/bench.py --quick` (`make bench`) on the seed issue with the hash model writes a complete report.

A smoke test of the benchmark's plumbing only: no figure is asserted, timings depend on the machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import SAMPLE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench import main  # noqa: E402


def test_quick_bench_writes_every_section(tmp_path, capsys):
    out = tmp_path / "BENCHMARKS.md"
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"q": "泗洪县理论宣讲做法"}\n{"q": "红书房一共建了多少个？"}\n', encoding="utf-8")
    code = main(["--quick", "--models", "hash", "--sizes", "seed", "--seed", str(SAMPLE),
                 "--questions", str(questions), "--shared", str(tmp_path / "no-shared"),
                 "--out", str(out), "--work", str(tmp_path / "work")])
    assert code == 0
    report = out.read_text(encoding="utf-8")
    for heading in ("# Benchmarks", "## Machine", "## Commands", "## Targets", "## Models",
                    "## Indexing throughput", "## Warm question latency", "## Cold start and memory"):
        assert heading in report
    assert "| hash | seed |" in report
    assert "Python" in report and "faiss-cpu" in report
    assert "bot peak RSS" in report and "cold start" in report
    assert "resolving a follow-up adds" in report
    assert str(out) in capsys.readouterr().out


def test_bench_help_names_the_options(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    text = capsys.readouterr().out
    for option in ("--quick", "--models", "--sizes", "--out"):
        assert option in text
