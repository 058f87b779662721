"""What the load benchmarks share: a corpus that grows, the questions, a process's memory, the switch.

The scenario of both benchmarks: the service starts with an index of the seed issue and the
shared issues of 2022 (the "old" index). Then the rest of the shared corpus (2023-2024) is put
into its corpus folder and an admin re-indexes while users ask. "Old" questions (about the seed)
must be answered all along; "probe" questions are answerable only from 2023 issues, so an answer
citing one shows which index served it: none may come before `current` switched.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ISSUES = SHARED / "corpus" / "xwlb" / "issues"
SEED = SHARED / "seed" / "455.txt"
CUTOFF = "2023-01-01"  # issues before it (and the seed) are in the old index


@dataclass
class Scenario:
    work: Path
    old_files: list[Path]
    new_files: list[Path]
    old_questions: list[str]
    probe_questions: list[str]
    new_issues: set[tuple[int, str]] = field(default_factory=set)  # (第N期, date) of the new files

    @property
    def new_names(self) -> set[str]:
        return {p.name for p in self.new_files}

    @property
    def corpus(self) -> Path:
        return self.work / "corpus"

    @property
    def index(self) -> Path:
        return self.work / "index"

    def add_new_files(self) -> None:
        """The rest of the shared corpus arrives (hard links where they can be: nothing is copied)."""
        for path in self.new_files:
            target = self.corpus / path.name
            if not target.exists():
                place(path, target)


def place(src: Path, dst: Path) -> None:
    """`src` as the corpus file `dst`: a hard link, else a copy. (Not a symbolic link: the indexer
    skips links that lead outside the corpus folder.)"""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def scenario(work: Path) -> Scenario:
    """Old corpus in `work/corpus` (hard links to the shared files), questions from the dev set."""
    if not ISSUES.is_dir():
        raise SystemExit(f"needs the shared corpus at {ISSUES}")
    dates: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for line in (SHARED / "corpus" / "xwlb" / "truth.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        dates[row["file"]] = row["date"]
        numbers[row["file"]] = int(row["issue"])
    files = sorted(ISSUES.iterdir())
    old = [p for p in files if dates.get(p.name, "9999") < CUTOFF]
    new = [p for p in files if p not in old]
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    place(SEED, corpus / "seed-455.txt")
    for path in old:
        place(path, corpus / path.name)
    questions = [json.loads(line) for line in (SHARED / "eval" / "dev_questions.jsonl").open(encoding="utf-8")]
    seed_qs = [q["q"] for q in questions if str(q.get("id") or "").startswith("seed-455")]
    # probes: questions about 2023 issues that name no issue or date (so the filter cannot help)
    probes = [q["q"] for q in questions if q.get("issue") and not str(q.get("id") or "").startswith("seed")
              and q.get("kind") in ("keyword", "question")]
    new_issues = {(numbers[p.name], dates[p.name]) for p in new if p.name in dates}
    return Scenario(work, old, new, seed_qs, probes, new_issues)


def child_env(**settings: str) -> dict[str, str]:
    """The environment for a `bulletin-bot` child: none of the caller's settings, and the very
    package this benchmark imported first on the path (a relative PYTHONPATH would not resolve
    from the child's working folder, and another installed copy could be picked up instead)."""
    import bulletin_bot

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULLETIN_BOT_", "TELEGRAM_"))}
    package_root = str(Path(bulletin_bot.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_root, *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)])
    if os.environ.get("BULLETIN_BOT_CACHE"):
        env["BULLETIN_BOT_CACHE"] = os.environ["BULLETIN_BOT_CACHE"]
    env.update(settings)
    return env


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


class SwitchWatch:
    """Notes when the index's `current` link first points somewhere new (polled every 20 ms)."""

    def __init__(self, index: Path) -> None:
        self.link = index / "current"
        self.before = os.readlink(self.link)
        self.at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and self.at is None:
            try:
                if os.readlink(self.link) != self.before:
                    self.at = time.monotonic()
            except OSError:
                pass
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1],
            "mean": statistics.fmean(ordered)}


def machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
