"""What the fuzzer found, replayed: each kept input gives an issue or a ParseError, nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bulletin_bot.errors import BulletinError
from bulletin_bot.models import Issue
from bulletin_bot.errors import ParseError
from bulletin_bot.parsing import parse_bytes
from bulletin_bot.sandbox import ParsePool

INPUTS = sorted(p for p in (Path(__file__).parent / "fuzz_inputs").iterdir() if p.suffix in (".txt", ".docx", ".pdf"))


def test_the_kept_inputs_are_there():
    assert len(INPUTS) >= 20
    assert {p.suffix for p in INPUTS} == {".txt", ".docx", ".pdf"}


@pytest.mark.parametrize("path", INPUTS, ids=[p.name for p in INPUTS])
def test_a_fuzzed_input_is_parsed_or_refused_by_name(path):
    try:
        outcome = parse_bytes(path.read_bytes(), path.name)
    except ParseError as exc:
        assert str(exc).startswith(f"{path.name}: ") and exc.reason
    except BulletinError:
        pass
    else:
        assert isinstance(outcome, Issue) and outcome.articles


def test_the_sandbox_gives_the_same_verdicts():
    jobs = [(p.name, p.read_bytes()) for p in INPUTS]
    with ParsePool(workers=2) as pool:
        sandboxed = dict(pool.parse_many(jobs))
    def verdict(outcome) -> object:  # pypdf names objects by address in some messages: not compared
        return re.sub(r"\d+", "N", outcome.reason) if isinstance(outcome, ParseError) else outcome.number

    for name, data in jobs:
        try:
            expected = verdict(parse_bytes(data, name))
        except ParseError as exc:
            expected = verdict(exc)
        assert verdict(sandboxed[name]) == expected, name


@pytest.mark.slow
def test_the_fuzzer_runs_and_finds_nothing_new_in_a_short_run(tmp_path):
    """`make fuzz` in small: 30 s of the harness, which must end normally with no finding."""
    import subprocess
    import sys

    pytest.importorskip("atheris", reason="atheris not installed (pip install -e '.[dev]')")
    harness = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_parse.py"
    run = subprocess.run([sys.executable, str(harness), "--seconds", "30", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Done" in run.stderr and "FINDING" not in run.stdout
    assert not list((tmp_path / "findings").iterdir())
