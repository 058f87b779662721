"""Turns: how many pieces of heavy work (questions, 素材汇编 compiles) run at once, per client and
overall, and whose turn is next. Shared by the web app and the chat front ends.

A piece of work past the client's bound is refused at once (429), and one that finds the short
waiting line full, or waits longer than its wait, gets 503; both carry Retry-After (`Busy`).
The line is not first come, first served: when a piece ends, the next to run is the waiting one
whose client was in the server least recently (its last piece ended longest ago; a client with a
piece running counts as in the server now), so a client that keeps the server busy waits behind
everyone else. A client never seen before counts as having been in the server when its piece
joined the line, not as the least recent of all: a reader who keeps making up new client
addresses (every request from a new IPv6 address) is then served first come, first served
behind the returning readers who were there before, and gains nothing by it; and no client runs in every place at once, so with two places another client's
work starts at once. A client that started a piece in the last `BUSY_SECONDS` starts its next
only while no other client's work runs: a client that keeps asking then runs beside another's
question only for the rest of the one it had in flight, and the other question gets the two
cores (and the interpreter) to itself after that (benchmarks/load_fair.py).

Where nothing waits in line (`waiting=0`: the one 素材汇编 compile at a time), a client whose
piece ended less than `rest` seconds ago while another client was refused for want of a place
is refused in turn (429, Retry-After the rest of that time): the other client's retry finds the
place free, so one client looping cannot hold the only place for good. Alone, a client is
never held back.
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
REFUSALS_KEPT_SECONDS = 3600.0  # a refusal counts against a piece that started at most this long before


class RunningQuestions:
    """Questions in the server, per client and overall, and whose turn is next. The tables hold
    only clients with a question in the server, and the last turns of at most CLIENTS_KEPT."""

    def __init__(self, per_client: int, overall: int, waiting: int | None = None,
                 max_wait: float | None = None, rest: float = 0.0) -> None:
        self.per_client, self.overall, self.rest = per_client, overall, rest
        self.waiting = MAX_WAITING if waiting is None else waiting
        self.max_wait = MAX_WAIT_SECONDS if max_wait is None else max_wait
        self._in: dict[str, int] = {}  # running or waiting, per client
        self._running = 0
        self._running_by: dict[str, int] = {}
        # one client never holds every running place: another's question can start at once
        self.running_per_client = max(1, overall - 1)
        self._line: list[tuple[int, str]] = []  # (ticket, client), waiting
        self._joined: dict[int, float] = {}  # ticket -> when it joined the line
        self._last: OrderedDict[str, float] = OrderedDict()  # client -> when its last piece ended
        self._started: dict[str, float] = {}  # client -> when it last started one
        self._tickets = itertools.count()
        # client -> when it was last refused for want of a place (with `rest`: someone is waiting)
        self._refused: OrderedDict[str, float] = OrderedDict()
        self._cond = threading.Condition()

    def _last_in_server(self, ticket: int, client: str, now: float) -> float:
        """When `client` was last in the server: now while a piece of it runs, else when its last
        piece ended; a client never seen (or forgotten) counts from when this ticket joined the
        line, so a new client ranks as a returning one that was busy until then, never before it."""
        if client in self._running_by:
            return now
        return self._last.get(client, self._joined[ticket])

    def _next(self) -> int | None:
        """The waiting ticket to run next: of the clients below their running share, the one
        least recently in the server (ties: first in line); None when every waiter's client is at it."""
        ready = [e for e in self._line if self._running_by.get(e[1], 0) < self.running_per_client
                 and not self._keeps_busy(e[1])]
        now = time.monotonic()
        return min(ready, key=lambda e: (self._last_in_server(e[0], e[1], now), e[0]))[0] if ready else None

    def _keeps_busy(self, client: str) -> bool:
        """`client` started one a moment ago and another client's work is running."""
        recent = time.monotonic() - self._started.get(client, -BUSY_SECONDS) < BUSY_SECONDS
        return recent and any(other != client for other in self._running_by)

    def _rest_left(self, client: str, now: float) -> float:
        """With `rest`: how long `client` must still stand aside, because its last piece ended
        a moment ago and another client was refused a place since it started; else 0."""
        ended = self._last.get(client)
        if not self.rest or ended is None or now - ended >= self.rest:
            return 0.0
        started = self._started.get(client, ended)
        if any(other != client and when >= started for other, when in self._refused.items()):
            return self.rest - (now - ended)
        return 0.0

    def _note_refused(self, client: str, now: float) -> None:
        if not self.rest:
            return
        self._refused[client] = now
        self._refused.move_to_end(client)
        while self._refused and (len(self._refused) > CLIENTS_KEPT
                                 or now - next(iter(self._refused.values())) > REFUSALS_KEPT_SECONDS):
            self._refused.popitem(last=False)

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
            rest = self._rest_left(client, time.monotonic())
            if rest:
                raise Busy(429, max(1, int(rest + 0.999)), yielding=True)
            if self._running >= self.overall and len(self._line) >= self.waiting:
                self._note_refused(client, time.monotonic())
                raise Busy(503)
            self._in[client] = self._in.get(client, 0) + 1
            ticket = next(self._tickets)
            self._line.append((ticket, client))
            self._joined[ticket] = time.monotonic()
            deadline = self._joined[ticket] + self.max_wait
            try:
                while self._running >= self.overall or self._next() != ticket:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._line.remove((ticket, client))
                        self._leave(client)
                        raise Busy(503)
                    self._cond.wait(min(left, BUSY_SECONDS))  # a busy client's wait ends with time too
                self._line.remove((ticket, client))
            finally:
                del self._joined[ticket]
            self._running += 1
            self._running_by[client] = self._running_by.get(client, 0) + 1
            self._refused.pop(client, None)  # it has had its turn
            self._started[client] = time.monotonic()  # pruned with _last, when the piece ends
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                if self._running_by[client] > 1:
                    self._running_by[client] -= 1
                else:
                    del self._running_by[client]
                self._last[client] = time.monotonic()
                self._last.move_to_end(client)
                while len(self._last) > CLIENTS_KEPT:
                    self._started.pop(self._last.popitem(last=False)[0], None)
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
