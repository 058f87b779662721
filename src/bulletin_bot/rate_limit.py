"""Questions per client per minute: one sliding window per client (Telegram user, web address).

Shared by the bot and the web app so one person cannot keep a 2-core server busy for everyone.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Hashable


class RateLimit:
    """At most `per_minute` questions per client in any `window` seconds; 0 turns it off."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._seen: dict[Hashable, deque[float]] = {}
        self._told: dict[Hashable, float | None] = {}  # client -> the window it was last refused in
        self._lock = threading.Lock()  # the web app answers in a thread pool

    def wait_seconds(self, client: Hashable, now: float | None = None) -> int:
        """0 and the question counted, or how many seconds the client must wait."""
        if self.per_minute <= 0:
            return 0
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._seen) > 10_000:  # forget idle clients so the table stays small
                for key in [k for k, v in self._seen.items() if not v or now - v[-1] >= self.window]:
                    del self._seen[key]
            seen = self._seen.setdefault(client, deque())
            while seen and now - seen[0] >= self.window:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return max(1, int(self.window - (now - seen[0]) + 0.999))
            seen.append(now)
            return 0

    def first_refusal(self, client: Hashable) -> bool:
        """Whether a refusal due now is the first of the client's current window: the client is
        told once, and its further messages in that window get no reply (each reply spends the
        bot's sending quota, which a chat platform counts per group for everyone in it)."""
        with self._lock:
            seen = self._seen.get(client)
            mark = seen[0] if seen else None
            told = self._told.get(client)
            if told == mark:
                return False
            if len(self._told) > 10_000:
                self._told.clear()
            self._told[client] = mark
            return True
