"""Fair shares of the machine: how many questions run at once, in what order, and how much work
one may do. `RunningQuestions` is `turns.py`'s (the chat front ends bound their compiles with it).

The per-minute limit (`rate_limit.RateLimit`) caps how often a client asks; this caps how many
of its questions are in the server at the same time (running or waiting), and how many run at
once over all clients. A question past the client's bound is refused at once (429), and one
that finds the short waiting line full, or waits longer than `MAX_WAIT_SECONDS`, gets 503; both
carry Retry-After. The line is not first come, first served: when a question ends, the next to
run is the waiting one whose client was in the server least recently (a never-seen client
counts from when it joined the line, so a new address never jumps ahead: turns.py), so a client
that keeps the server busy waits behind everyone else; no client runs in every place at once, so with
two places another client's question starts at once; and a client that keeps asking runs alone
(turns.BUSY_SECONDS). A question from a client already at its share is refused before FastAPI
reads it (web/app.py, FrontDoor).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

from ..errors import Busy
from ..turns import RunningQuestions

__all__ = ["FOLLOWS_PER_CLIENT_A_DAY", "DailyAllowance", "MAX_OFFSET", "MAX_TOP_K", "WEB_MAX_QUESTION_CHARS", "Busy", "RunningQuestions"]

# a question, not a pasted article (the longest of 623 real ones: 41; a question in English, told
# to ask in Chinese, can be twice that); the fairness measurement runs at this length
WEB_MAX_QUESTION_CHARS = 100
MAX_TOP_K = 10  # results one request may ask for (more pages come with `offset`)
MAX_OFFSET = 100  # results one may page past
# A 素材汇编 asks one question for each month of its period (28 on the archive) and builds a
# .docx: seconds of CPU. One runs at a time in the whole server, and each holds one of its
# client's question places while it runs. A few wait their turn (turns.py's order: the client
# least recently in the server first, a new address behind those already waiting), so readers
# who keep making up new addresses cannot take every turn from one who asks once; past
# DOSSIERS_WAITING, or after DOSSIER_WAIT_SECONDS in line, 503 (retry later).
DOSSIERS_AT_ONCE = 1
DOSSIERS_WAITING = 4
DOSSIER_WAIT_SECONDS = 20.0
DOSSIER_RETRY_SECONDS = 10
# A client whose compile just ended, while another was refused one, stands aside this long
# (turns.py, `rest`): the other's retry, after its Retry-After, finds the place free.
DOSSIER_REST_SECONDS = 2 * DOSSIER_RETRY_SECONDS

# New 关注 one client address may add a day, over all the readers (cookies) it makes up: a new
# cookie is free, so without this one address could fill the channel's shared cap alone.
FOLLOWS_PER_CLIENT_A_DAY = 20
FOLLOW_CLIENTS_KEPT = 10_000  # addresses remembered; the oldest is forgotten past this


class DailyAllowance:
    """At most `per_day` of something per client in any 24 hours. The table keeps the clients
    seen most recently, at most `kept` (forgetting one needs `kept` other addresses, which a
    client able to rotate that many has anyway)."""

    def __init__(self, per_day: int, kept: int = FOLLOW_CLIENTS_KEPT, window: float = 86400.0) -> None:
        self.per_day, self.kept, self.window = per_day, kept, window
        self._spent: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait_seconds(self, client: str) -> int:
        """0 when `client` may have one more now, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            spent = self._spent.get(client)
            while spent and now - spent[0] >= self.window:
                spent.popleft()
            if spent is None or len(spent) < self.per_day:
                return 0
            return max(1, int(self.window - (now - spent[0]) + 0.999))

    def spend(self, client: str) -> None:
        with self._lock:
            spent = self._spent.setdefault(client, deque(maxlen=self.per_day))
            spent.append(time.monotonic())
            self._spent.move_to_end(client)
            while len(self._spent) > self.kept:
                self._spent.popitem(last=False)
