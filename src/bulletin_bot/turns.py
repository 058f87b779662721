"""Turns: how many pieces of heavy work (questions, 素材汇编 compiles) run at once, per client and
overall, and whose turn is next. Shared by the web app and the chat front ends.

A piece of work past the client's bound is refused at once (429), and one that finds the short
waiting line full, or waits longer than its wait, gets 503; both carry Retry-After (`Busy`).
The line is not first come, first served: when a piece ends, the next to run is the waiting one
whose client started one least recently, so a client that keeps the server busy waits behind
everyone else; and no client runs in every place at once, so with two places another client's
work starts at once. A client that started a piece in the last `BUSY_SECONDS` starts its next
only while no other client's work runs: a client that keeps asking then runs beside another's
question only for the rest of the one it had in flight, and the other question gets the two
cores (and the interpreter) to itself after that (benchmarks/load_fair.py).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import Busy

MAX_WAITING = 16  # questions waiting for a turn, from all clients
MAX_WAIT_SECONDS = 10.0
CLIENTS_KEPT = 10_000  # clients whose last turn is remembered for the order
# a client that started a piece of work this recently is keeping the server busy: it runs alone
BUSY_SECONDS = 2.0


class RunningQuestions:
    """Questions in the server, per client and overall, and whose turn is next. The tables hold
    only clients with a question in the server, and the last turns of at most CLIENTS_KEPT."""

    def __init__(self, per_client: int, overall: int, waiting: int | None = None,
                 max_wait: float | None = None) -> None:
        self.per_client, self.overall = per_client, overall
        self.waiting = MAX_WAITING if waiting is None else waiting
        self.max_wait = MAX_WAIT_SECONDS if max_wait is None else max_wait
        self._in: dict[str, int] = {}  # running or waiting, per client
        self._running = 0
        self._running_by: dict[str, int] = {}
        # one client never holds every running place: another's question can start at once
        self.running_per_client = max(1, overall - 1)
        self._line: list[tuple[int, str]] = []  # (ticket, client), waiting
        self._last: OrderedDict[str, int] = OrderedDict()  # client -> the turn it last started
        self._started: dict[str, float] = {}  # client -> when it last started one (clients in _last)
        self._tickets = itertools.count()
        self._turns = itertools.count()
        self._cond = threading.Condition()

    def _next(self) -> int | None:
        """The waiting ticket to run next: of the clients below their running share, the one
        whose last turn is the oldest (none: first); None when every waiter's client is at it."""
        ready = [e for e in self._line if self._running_by.get(e[1], 0) < self.running_per_client
                 and not self._keeps_busy(e[1])]
        return min(ready, key=lambda entry: (self._last.get(entry[1], -1), entry[0]))[0] if ready else None

    def _keeps_busy(self, client: str) -> bool:
        """`client` started one a moment ago and another client's work is running."""
        recent = time.monotonic() - self._started.get(client, -BUSY_SECONDS) < BUSY_SECONDS
        return recent and any(other != client for other in self._running_by)

    def _leave(self, client: str) -> None:
        left = self._in[client] - 1
        if left:
            self._in[client] = left
        else:
            del self._in[client]
        self._cond.notify_all()

    @contextmanager
    def slot(self, client: str) -> Iterator[None]:
        """Run one question of `client` inside, when its turn comes; raises Busy when refused."""
        with self._cond:
            if self._in.get(client, 0) >= self.per_client:
                raise Busy(429)
            if self._running >= self.overall and len(self._line) >= self.waiting:
                raise Busy(503)
            self._in[client] = self._in.get(client, 0) + 1
            ticket = next(self._tickets)
            self._line.append((ticket, client))
            deadline = time.monotonic() + self.max_wait
            while self._running >= self.overall or self._next() != ticket:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._line.remove((ticket, client))
                    self._leave(client)
                    raise Busy(503)
                self._cond.wait(min(left, BUSY_SECONDS))  # a busy client's wait ends with time too
            self._line.remove((ticket, client))
            self._running += 1
            self._running_by[client] = self._running_by.get(client, 0) + 1
            self._last[client] = next(self._turns)
            self._last.move_to_end(client)
            self._started[client] = time.monotonic()
            while len(self._last) > CLIENTS_KEPT:
                self._started.pop(self._last.popitem(last=False)[0], None)
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                if self._running_by[client] > 1:
                    self._running_by[client] -= 1
                else:
                    del self._running_by[client]
                self._leave(client)

    def at_share(self, client: str) -> bool:
        """Whether `client` already has its share in the server (its next question gets 429)."""
        with self._cond:
            return self._in.get(client, 0) >= self.per_client

    @property
    def running_now(self) -> int:
        return self._running

    @property
    def waiting_now(self) -> int:
        return len(self._line)
