"""The one re-index job runner every front end uses (Telegram bot, web app, chat channels).

One build at a time, in a background thread, so questions keep being answered from the served
index meanwhile. A request made while a build runs (an admin's re-index, or an upload) is not
refused: it queues one more round, which starts when the running one ends and so picks up
whatever changed during it. However many requests arrive during a build, one round follows.

Front ends learn what happens in two ways: `snapshot()` (the web page polls it) and listeners
passed to `request()`, called from the worker thread when their round starts, on progress and
when it ends (the bot edits a status message, the chat channels send the report).
Hooks in `after_build` run in the worker thread after a round that switched in a new version
(each front end delivers its followers' new articles there, `delivery.py`).

When the last queued round has ended and a minute has passed without a new request (uploads
often come in a burst), the same thread has the reader read the new version's chunks
(`service.read_passages`, reader_vectors.py: about 0.1 s a chunk not read before). That is no
part of a round: nobody waits for it, and a new request stops it between two batches (what it
read is cached, and it goes on after that round).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from collections.abc import Callable
from typing import Any, Protocol

from .chat_text import kept_heading
from .errors import BulletinError, IndexBusy
from .models import IndexReport, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobOutcome:
    """How one round ended: a report, or an error an admin can read."""

    report: IndexReport | None
    error: str = ""


class JobListener(Protocol):
    def started(self) -> None: ...

    def progress(self, step: Progress) -> None: ...

    def finished(self, outcome: JobOutcome) -> None: ...


class _Service(Protocol):
    def reindex(self, progress: Any = None) -> IndexReport: ...

    def read_passages(self, progress: Any = None, stop: Callable[[], bool] | None = None) -> Any: ...


def report_summary(report: IndexReport) -> str:
    """What a round did, in one line: nothing changed, or how many files were added/changed/removed/failed."""
    failed = f"，{report.failed} 个文件未能收录" if report.failed else ""
    if report.kept:  # admins read this line: name the files, their issues are answered from before
        failed += f"，{kept_heading(len(report.kept))}{'、'.join(p.file for p in report.kept[:5])}"
        failed += "……" if len(report.kept) > 5 else ""
    if not report.built:
        return f"语料没有变化，索引保持不变（共 {report.issues} 期 / {report.articles} 篇）{failed}。"
    counts = [f"新增 {report.added} 个文件"]
    if report.changed:
        counts.append(f"修改 {report.changed} 个")
    if report.removed:
        counts.append(f"删除 {report.removed} 个")
    return f"索引已更新：{'，'.join(counts)}{failed}；共 {report.issues} 期 / {report.articles} 篇。"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


# seconds without a request after the last round before the reader's pass (None: no pass; the
# tests' default, where runners of finished tests would otherwise all read at once, in the background)
READ_DELAY: float | None = 60.0
_DEFAULT = object()  # read_delay not given: READ_DELAY as it is when the runner is made


class ReindexRunner:
    """Runs `service.reindex` one round at a time in a daemon thread; see the module docstring."""

    def __init__(self, service: _Service, read_delay: float | None | object = _DEFAULT) -> None:
        """`read_delay`: seconds of quiet before the reader's pass, None for no pass (READ_DELAY)."""
        self._service = service
        self._read_delay = READ_DELAY if read_delay is _DEFAULT else read_delay
        self._requested = threading.Event()  # a request came since the last round ended
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._current: list[JobListener] = []
        self._next: list[JobListener] | None = None  # None: no round queued
        self.rounds = 0  # rounds finished since start
        self.after_build: list[Callable[[IndexReport], None]] = []
        self._state: dict[str, Any] = {"running": False, "queued": False, "progress": None, "report": None,
                                       "error": "", "started_at": "", "finished_at": ""}

    @property
    def running(self) -> bool:
        with self._lock:
            return self._state["running"]

    def request(self, listener: JobListener | None = None) -> bool:
        """Start a build now (True), or queue one more round after the running one (False)."""
        with self._lock:
            self._requested.set()  # also stops a reader's pass between two batches
            if self._state["running"]:
                if self._next is None:
                    self._next = []
                if listener is not None:
                    self._next.append(listener)
                self._state["queued"] = True
                return False
            self._current = [listener] if listener is not None else []
            self._begin_round()
            self._thread = threading.Thread(target=self._run, name="bulletin-bot-reindex", daemon=True)
            self._thread.start()
            return True

    def _begin_round(self) -> None:
        self._state.update(running=True, queued=self._next is not None, progress=None, report=None,
                           error="", started_at=_now(), finished_at="")

    def _run(self) -> None:
        while True:
            with self._lock:
                listeners = list(self._current)
            for listener in listeners:
                _call(listener.started)
            outcome = self._one_round(listeners)
            if outcome.report is not None and outcome.report.built:
                for hook in list(self.after_build):  # inside the round: `wait()` covers the deliveries
                    _call(hook, outcome.report)
            with self._lock:
                self.rounds += 1
                self._state.update(finished_at=_now(), error=outcome.error,
                                   report=_report_json(outcome.report) if outcome.report else None)
                following = self._next
                self._next = None
                if following is None:
                    self._state.update(running=False, queued=False)
                    self._requested.clear()
                    self._idle.notify_all()
                else:
                    self._current = following
                    self._begin_round()
            for listener in listeners:
                _call(listener.finished, outcome)
            if following is None:
                self._read_passages()
                return

    def _read_passages(self) -> None:
        read = getattr(self._service, "read_passages", None)
        if read is None or self._read_delay is None or self._requested.wait(self._read_delay):
            return  # no pass here, or a new request came first: its round reads after it
        try:
            read(None, stop=self._requested.is_set)
        except Exception:  # answers go on without the reader's vectors; the next round tries again
            log.exception("reading the new version's passages failed")

    def _one_round(self, listeners: list[JobListener]) -> JobOutcome:
        def progress(step: Progress) -> None:
            with self._lock:
                self._state["progress"] = {**asdict(step), "label": step.label}
            for listener in listeners:
                _call(listener.progress, step)

        try:
            return JobOutcome(self._service.reindex(progress))
        except IndexBusy as exc:
            return JobOutcome(None, f"另一个进程正在建索引，请稍后再试（{exc}）")
        except BulletinError as exc:  # meant for the admin who asked: which files, what to do
            return JobOutcome(None, str(exc))
        except Exception as exc:  # the admin must hear about it, and the runner must go on
            log.exception("re-index failed")
            return JobOutcome(None, f"{type(exc).__name__}: {exc}")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no round runs or is queued; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._state["running"], timeout)

    def snapshot(self) -> dict[str, Any]:
        """running, queued, progress (with its label), report, error, started_at, finished_at."""
        with self._lock:
            return dict(self._state)


def _call(method: Any, *args: Any) -> None:
    try:
        method(*args)
    except Exception:  # one front end's failure must not stop the build or the others
        log.exception("re-index listener failed")


def _report_json(report: IndexReport) -> dict[str, Any]:
    data = asdict(report)
    data["problems"] = [asdict(p) for p in report.problems]
    data["kept"] = [asdict(p) for p in report.kept]
    data["summary"] = report_summary(report)
    return data
