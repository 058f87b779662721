"""Fair shares of the machine: how many questions run at once, and how much work one may do.

The per-minute limit (`rate_limit.RateLimit`) caps how often a client asks; this caps how many
of its questions run at the same time, per client and over all clients. A question past either
bound is refused at once (429 for the client's own bound, 503 when the server is full, both
with Retry-After) rather than queued: a queue would let one client's flood delay everyone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

WEB_MAX_QUESTION_CHARS = 200  # a question, not a pasted article: the work grows with its length
MAX_TOP_K = 10  # results one request may ask for (more pages come with `offset`)
MAX_OFFSET = 100  # results one may page past


class Busy(Exception):
    """A question refused because too many are running: `status` 429 (this client) or 503 (all)."""

    def __init__(self, status: int, retry_after: int = 1) -> None:
        super().__init__(status)
        self.status, self.retry_after = status, retry_after


class RunningQuestions:
    """Counts the questions running now, per client and overall; the table holds only clients
    with a question running, so it is never larger than `overall`."""

    def __init__(self, per_client: int, overall: int) -> None:
        self.per_client, self.overall = per_client, overall
        self._running: dict[str, int] = {}
        self._total = 0
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, client: str) -> Iterator[None]:
        """Run one question of `client` inside; raises Busy when a bound is reached."""
        with self._lock:
            mine = self._running.get(client, 0)
            if mine >= self.per_client:
                raise Busy(429)
            if self._total >= self.overall:
                raise Busy(503)
            self._running[client] = mine + 1
            self._total += 1
        try:
            yield
        finally:
            with self._lock:
                self._total -= 1
                left = self._running[client] - 1
                if left:
                    self._running[client] = left
                else:
                    del self._running[client]

    @property
    def total(self) -> int:
        return self._total
