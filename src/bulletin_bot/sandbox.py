"""Parse untrusted files in child processes, each held to a memory and a time limit.

A crafted or broken file (a zip bomb named .docx, a PDF that takes its reader minutes or gigabytes, a
parser bug that recurses forever) must cost the serving process nothing but one refusal. So
`parsing.parse_bytes` — whatever readers it dispatches to, including ones added later — runs in a
worker process whose data segment is capped (RLIMIT_DATA) and which is killed when it takes too
long. The parent only ever receives a finished `Issue` or a reason, so its own memory grows by at
most the size of one parsed issue, which the worker's limit bounds.

Workers are forked from a clean forkserver (never from the serving process, which has threads and
a loaded model), stay alive for further files, and are replaced after one was killed or ran out
of memory. Like any multiprocessing child, a worker imports the parent's main module first, so a
script that parses must keep its work under `if __name__ == "__main__":`. `ParsePool.parse_many` keeps several workers busy, which is how the indexer parses a
whole corpus (see docs/BENCHMARKS.md for the cost against parsing in-process).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from .errors import ParseError, SandboxError
from .models import Issue
from .readers import ocr

DEFAULT_MEMORY_MB = 1536  # RapidOCR (onnxruntime) takes up to ~1.4 GB of address space on a page; 1 GB failed
DEFAULT_SECONDS = 30.0
# A scanned page read by OCR takes about 3 s on two cores; a worker that announces OCR pages
# gets this much more time for each (slack for a loaded machine), on top of the file's limit.
OCR_PAGE_SECONDS = 20.0

_CONTEXT = multiprocessing.get_context("forkserver")
# imported once in the forkserver, so each worker starts with the parser, its readers' libraries
# and the word dictionary loaded
_CONTEXT.set_forkserver_preload(["pypdfium2", "lxml.etree", "olefile", "bulletin_bot._parse_warm"])


@dataclass(frozen=True)
class ParseLimits:
    """How much one parse may take: the worker's memory (MB) and wall-clock time (s)."""

    memory_mb: int = DEFAULT_MEMORY_MB
    seconds: float = DEFAULT_SECONDS


def _worker(conn: Connection, memory_bytes: int) -> None:
    """Parse files sent over `conn` until it closes; reply ("ok", issue) or ("error", reason)."""
    from .parsing import parse_bytes, warm_up

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which then kills us
    warm_up()  # the word dictionary (already loaded by the forkserver), before the limit
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    # OCR is slow by nature, not because the file is hostile: say how many pages are coming,
    # and the parent moves this file's deadline (see _Worker.extend)
    ocr.pages_announced = lambda pages: conn.send(("ocr", pages))
    while True:
        try:
            data, file = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = ("ok", parse_bytes(data, file))
        except ParseError as exc:
            # a reader that turns every exception into "unreadable" hides the limit's MemoryError
            reply = ("memory", "") if _caused_by(exc, MemoryError) else ("error", exc.reason)
        except MemoryError:
            reply = ("memory", "")
        except RecursionError:
            reply = ("error", "unreadable: its structure is nested too deeply")
        except Exception as exc:  # noqa: BLE001 - a parser bug must not pass for a verdict on the file
            reply = ("bug", f"{type(exc).__name__}: {exc}"[:300])
        del data
        try:
            conn.send(reply)
        except MemoryError:  # a result too big to pickle within the limit
            conn.send(("memory", ""))
        if reply[0] == "memory":
            return  # a fresh worker for the next file: this one's heap may be fragmented


def _caused_by(exc: BaseException, kind: type) -> bool:
    seen = 0
    while exc is not None and seen < 50:
        if isinstance(exc, kind):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


class _Worker:
    def __init__(self, limits: ParseLimits) -> None:
        parent, child = _CONTEXT.Pipe(duplex=True)
        self.conn = parent
        self.process = _CONTEXT.Process(target=_worker, args=(child, limits.memory_mb * 1024 * 1024),
                                        name="bulletin-bot-parse", daemon=True)
        self.process.start()
        child.close()
        self.file = ""
        self.deadline = 0.0

    def send(self, data: bytes, file: str, seconds: float) -> None:
        self.file = file
        self.conn.send((data, file))
        # the clock starts once the file is handed over, so a slow pipe of a big file counts too
        self.deadline = time.monotonic() + seconds
        self.granted = seconds

    def extend(self, pages: int) -> None:
        """The worker is about to OCR `pages` scanned pages: give it the time they take."""
        more = OCR_PAGE_SECONDS * max(0, min(int(pages), ocr.MAX_PAGES))
        self.deadline += more
        self.granted += more

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class ParsePool:
    """Worker processes that parse files with `parse_bytes` under `limits`. Not thread-safe:
    use one pool per thread (a pool is cheap; its workers start on first use)."""

    def __init__(self, limits: ParseLimits = ParseLimits(), workers: int = 1) -> None:
        self.limits = limits
        self.size = max(1, workers)
        self._idle: list[_Worker] = []

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._idle:
            worker.kill()
        self._idle.clear()

    def parse(self, data: bytes, file: str) -> Issue:
        """The parsed issue, or ParseError naming the file and why (a limit counts as a reason)."""
        for _, outcome in self.parse_many([(file, data)]):
            if isinstance(outcome, ParseError):
                raise outcome
            return outcome
        raise AssertionError("unreachable")

    def parse_many(self, jobs: Iterable[tuple[str, bytes]]) -> Iterator[tuple[str, Issue | ParseError]]:
        """(file, Issue or ParseError) for each (file, data), in the order they finish."""
        pending = iter(jobs)
        busy: dict[Connection, _Worker] = {}
        try:
            while True:
                while len(busy) < self.size:
                    job = next(pending, None)
                    if job is None:
                        break
                    busy_worker = self._start(job)
                    busy[busy_worker.conn] = busy_worker
                if not busy:
                    return
                timeout = max(0.0, min(w.deadline for w in busy.values()) - time.monotonic())
                ready = wait(list(busy), timeout)
                for conn in ready:
                    outcome = self._collect(busy[conn])
                    if outcome is None:
                        continue  # word of OCR pages: the deadline moved, the worker goes on
                    worker = busy.pop(conn)
                    yield worker.file, outcome
                now = time.monotonic()
                for conn, worker in list(busy.items()):
                    if not conn.poll() and now >= worker.deadline:
                        del busy[conn]
                        worker.kill()
                        yield worker.file, ParseError(worker.file, self._too_slow(worker.granted))
        finally:
            for worker in busy.values():  # the caller stopped early (or an error): no orphans
                worker.kill()

    def _start(self, job: tuple[str, bytes]) -> _Worker:
        """An idle worker (or a new one) given the job; a dead idle one is replaced once."""
        file, data = job
        for attempt in range(2):
            worker = self._idle.pop() if self._idle and attempt == 0 else None
            try:
                worker = worker or _Worker(self.limits)
                worker.send(data, file, self.limits.seconds)
                return worker
            except (OSError, EOFError, RuntimeError) as exc:
                if worker is not None:
                    worker.kill()
                error = exc
        raise SandboxError(f"cannot start a process to read {file} in: {error}")

    def _collect(self, worker: _Worker) -> Issue | ParseError | None:
        """The worker's verdict on its file, or None when its message only announced OCR pages."""
        file = worker.file
        try:
            kind, value = worker.conn.recv()
        except (EOFError, OSError):
            worker.kill()
            return ParseError(file, self._died(worker.process.exitcode))
        except MemoryError:
            worker.kill()
            return ParseError(file, self._too_big())
        if kind == "memory":
            worker.kill()
            return ParseError(file, self._too_big())
        if kind == "ocr":
            worker.extend(value)
            return None
        self._idle.append(worker)
        if kind == "ok":
            return value
        if kind == "bug":
            return ParseError(file, f"the parser failed on this file ({value}); please report it")
        return ParseError(file, value)

    def _too_big(self) -> str:
        return (f"reading it needs more than {self.limits.memory_mb} MB of memory "
                "(a decompression bomb, or raise BULLETIN_BOT_PARSE_MEMORY_MB)")

    def _too_slow(self, seconds: float) -> str:
        return (f"reading it took longer than {seconds:g} s "
                "(a file built to hang the reader, or raise BULLETIN_BOT_PARSE_SECONDS)")

    def _died(self, code: int | None) -> str:
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            if -code == signal.SIGKILL:  # the kernel's out-of-memory killer, or an admin
                return f"the reader was killed ({name}) while reading it: " + self._too_big()
            if -code == signal.SIGABRT:  # a native reader (pdfium) aborts when malloc fails at the limit
                return f"the reader aborted ({name}) while reading it, most likely because " + self._too_big()
            return f"the reader crashed on it ({name})"
        return f"the reader stopped while reading it (exit status {code})"


def parse_untrusted(data: bytes, file: str, limits: ParseLimits = ParseLimits()) -> Issue:
    """Parse one file in a fresh worker (see ParsePool for many)."""
    with ParsePool(limits) as pool:
        return pool.parse(data, file)


def cpu_workers() -> int:
    """Workers for parsing a whole corpus: one per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
