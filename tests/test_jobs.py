"""The one re-index job runner, the stage labels and what a report says happened.

The runner is driven over the real service (a temp copy of corpus/, the `hash` embedder) or,
where a build must be held open, over a gate in front of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from bulletin_bot.bot import format as fmt
from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.jobs import JobOutcome, ReindexRunner, report_summary
from bulletin_bot.models import STAGE_LABELS, Progress
from bulletin_bot.service import BulletinService

from conftest import NEW_ISSUE, SAMPLE


def make_service(root: Path) -> BulletinService:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(SAMPLE, corpus / SAMPLE.name)
    return BulletinService(Settings(corpus=corpus, index=root / "index", cache=root / "cache", model="hash"),
                           embedder=HashEmbedder())


class Recorder:
    """A front end listening to its round."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.stages: list[str] = []
        self.outcome: JobOutcome | None = None
        self.done = threading.Event()

    def started(self) -> None:
        self.events.append("started")

    def progress(self, step: Progress) -> None:
        self.stages.append(step.stage)

    def finished(self, outcome: JobOutcome) -> None:
        self.events.append("finished")
        self.outcome = outcome
        self.done.set()


class Gated:
    """The real service, held after its scan until the test lets it go (so a file can arrive mid-build)."""

    def __init__(self, service: BulletinService) -> None:
        self.service = service
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.calls = 0

    def reindex(self, progress=None):
        self.calls += 1

        def hold(step: Progress) -> None:
            if step.stage != "scan":
                self.entered.set()
                self.gate.wait(20)
            if progress:
                progress(step)

        return self.service.reindex(hold)


def test_every_stage_a_build_reports_has_a_label(tmp_path):
    service = make_service(tmp_path)
    seen: list[Progress] = []
    service.reindex(seen.append)
    stages = {p.stage for p in seen}
    assert {"scan", "parse", "tokens", "embed", "write", "switch", "done"} <= stages
    assert stages <= STAGE_LABELS.keys()
    tokens = fmt.progress_text(Progress("tokens", 3, 10))
    assert "切分词语" in tokens and "tokens" not in tokens
    runner = ReindexRunner(service)
    runner.request()
    runner.wait(30)
    (tmp_path / "corpus" / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    recorder = Recorder()
    runner.request(recorder)
    assert recorder.done.wait(30)
    assert "tokens" in recorder.stages


def test_a_request_during_a_build_queues_exactly_one_more_round(tmp_path):
    service = make_service(tmp_path)
    service.reindex()
    gated = Gated(service)
    runner = ReindexRunner(gated)
    first, second, third = Recorder(), Recorder(), Recorder()
    assert runner.request(first) is True
    assert gated.entered.wait(10)
    (tmp_path / "corpus" / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")  # arrives mid-build
    assert runner.request(second) is False and runner.request(third) is False
    assert runner.snapshot()["queued"] is True
    gated.gate.set()
    assert runner.wait(30)
    assert gated.calls == 2 and runner.rounds == 2
    assert first.events == second.events == third.events == ["started", "finished"]
    assert first.outcome.report.built is False  # the round that was running saw no change
    assert second.outcome is third.outcome and second.outcome.report.added == 1
    assert service.issue(456), "the file that arrived mid-build was picked up by the queued round"


def test_an_unchanged_corpus_is_reported_as_nothing_changed(tmp_path):
    service = make_service(tmp_path)
    first = service.reindex()
    assert first.built and first.added == 1
    again = service.reindex()
    assert again.built is False and again.version == first.version
    assert "语料没有变化" in report_summary(again) and "没有变化" in fmt.report_text(again)
    assert "已更新" in fmt.report_text(first) and "新增 1 个文件" in report_summary(first)
    (tmp_path / "corpus" / "bad.txt").write_bytes(b"")
    failed = service.reindex()
    assert failed.failed == 1 and "1 个文件未能收录" in report_summary(failed)


def test_cli_index_says_nothing_changed(tmp_path):
    service = make_service(tmp_path)
    service.reindex()
    settings = service.settings
    env = {**os.environ, "BULLETIN_BOT_CACHE": str(settings.cache)}
    args = ["index", "--corpus", str(settings.corpus), "--index", str(settings.index), "--model", "hash", "-q"]
    result = subprocess.run([sys.executable, "-m", "bulletin_bot.cli", *args], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert ": nothing changed, 0 failed" in result.stdout
    (settings.corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bulletin_bot.cli", *args], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0 and "updated: 1 added, 0 changed, 0 removed, 0 failed" in result.stdout


def test_a_failing_build_is_an_outcome_and_the_runner_goes_on(tmp_path):
    class Broken:
        def reindex(self, progress=None):
            raise RuntimeError("disk full")

    runner = ReindexRunner(Broken())
    recorder = Recorder()
    runner.request(recorder)
    assert recorder.done.wait(10)
    assert recorder.outcome.report is None and "disk full" in recorder.outcome.error
    assert runner.snapshot()["running"] is False and "disk full" in runner.snapshot()["error"]
