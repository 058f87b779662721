"""Who may use /admin: the admin token, signed session cookies, CSRF values, a bearer header,
and a throttle on wrong tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

from fastapi import Request

SESSION_COOKIE = "bulletin_bot_admin"
SESSION_SECONDS = 12 * 3600
LOGIN_FAILURES_PER_MINUTE = 10


class AdminAuth:
    """The admin token, and signed session cookies and CSRF values derived from it.

    A session is `issued.nonce.mac`, signed with the token, so changing the token ends every
    session and nothing needs storing. The CSRF value is a second MAC over the same session.
    """

    def __init__(self, token: str) -> None:
        self._token = token.encode("utf-8")

    @property
    def enabled(self) -> bool:
        return bool(self._token)

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._token, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def check_token(self, candidate: str) -> bool:
        return self.enabled and hmac.compare_digest(candidate.encode("utf-8"), self._token)

    def new_session(self) -> str:
        value = f"{int(time.time())}.{secrets.token_urlsafe(16)}"
        return f"{value}.{self._mac('session', value)}"

    def session_value(self, cookie: str | None) -> str | None:
        """The session's signed part when the cookie is genuine and fresh, else None."""
        if not self.enabled or not cookie or cookie.count(".") != 2:
            return None
        value, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac("session", value).encode()):
            return None
        issued = value.partition(".")[0]
        if not issued.isdigit() or time.time() - int(issued) > SESSION_SECONDS:
            return None
        return value

    def csrf_for(self, session: str) -> str:
        return self._mac("csrf", session)

    def check_csrf(self, session: str, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(candidate.encode(), self.csrf_for(session).encode())


class LoginThrottle:
    """At most a few wrong tokens per client per minute."""

    def __init__(self, limit: int = LOGIN_FAILURES_PER_MINUTE, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def blocked(self, client: str) -> bool:
        with self._lock:
            count = len(self._recent(client, time.monotonic()))
            if not count:
                del self._failures[client]  # forget clients with nothing recent
            return count >= self.limit

    def failed(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(client, now).append(now)


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
