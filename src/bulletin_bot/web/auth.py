"""Who may use /admin: the admin token (and how strong it must be), signed session cookies that
logging out revokes, CSRF values, a bearer header, and one throttle on every wrong credential."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

from fastapi import Request

from ..errors import ConfigError
from .clients import client_key

SESSION_COOKIE = "bulletin_bot_admin"
SESSION_SECONDS = 12 * 3600
LOGIN_FAILURES_PER_MINUTE = 10  # wrong credentials per client per minute
ALL_FAILURES_PER_MINUTE = 60  # from all clients together: many addresses guess no faster
THROTTLE_WINDOW = 60.0  # seconds a wrong credential counts
FAILURES_BEFORE_CAP = 1  # a client's own failures in the window that the overall cap lets by
CLIENTS_KEPT = 10_000  # clients with recent failures remembered; the oldest go first
REVOKED_KEPT = 10_000  # logged-out sessions remembered; past that, every older session ends
MIN_TOKEN_BYTES = 16
MIN_TOKEN_VARIETY = 10  # distinct characters: `openssl rand -hex 16` has 13 or more
MAX_TOKEN_RUN = 5  # "abcdef", "654321" or "aaaaaa" (six in a row) is a pattern, not a secret
# what people type when asked for a password; a token holding one is guessed from a word list
WEAK_WORDS = ("password", "passwd", "admin", "qwerty", "asdfgh", "zxcvbn", "letmein", "secret", "changeme",
              "welcome", "iloveyou")
MAKE_TOKEN = "openssl rand -hex 16"
# a keyboard walk (1qaz2wsx, 1q2w3e4r, qazwsx…) is in every word list: refused when this share of
# its neighbouring characters are neighbouring keys; of 100,000 `openssl rand -hex 16` (and
# -base64 16) the highest share was 0.52 and 0.57, the walks in FINDINGS2 L3 0.71 to 1.0
MAX_KEYBOARD_WALK = 0.6
_KEY_ROWS = ("1234567890-=", "qwertyuiop[]", "asdfghjkl;'", "zxcvbnm,./")
_UNSHIFT = dict(zip('!@#$%^&*()_+{}:"<>?', "1234567890-=[];',./"))
_KEY_AT = {key: (row, col) for row, keys in enumerate(_KEY_ROWS) for col, key in enumerate(keys)}


def _longest_run(token: str) -> int:
    """The longest run of characters each one more, one less, or the same as the one before."""
    longest = run = 1
    step = None
    for a, b in zip(token, token[1:]):
        d = ord(b) - ord(a)
        run = run + 1 if d in (-1, 0, 1) and d == step else (2 if d in (-1, 0, 1) else 1)
        step = d
        longest = max(longest, run)
    return longest if token else 0


def _neighbouring_keys(a: str, b: str) -> bool:
    if a not in _KEY_AT or b not in _KEY_AT:
        return False
    (r1, c1), (r2, c2) = _KEY_AT[a], _KEY_AT[b]
    return (r1 == r2 and abs(c1 - c2) == 1) or (abs(r1 - r2) == 1 and c2 - c1 in (-1, 0, 1))


def keyboard_walk_share(token: str) -> float:
    """The share of neighbouring characters that are neighbouring keys on a QWERTY keyboard."""
    keys = [_UNSHIFT.get(ch, ch).lower() for ch in token]
    pairs = list(zip(keys, keys[1:]))
    return sum(_neighbouring_keys(a, b) for a, b in pairs) / len(pairs) if pairs else 0.0


def check_token_strength(token: str) -> None:
    """Refuse an admin token that can be guessed (ConfigError says how to make one)."""
    if not token:
        return
    problem = ""
    size = len(token.encode("utf-8"))
    word = next((w for w in WEAK_WORDS if w in token.lower()), "")
    if size < MIN_TOKEN_BYTES:
        problem = f"is {size} bytes long, under {MIN_TOKEN_BYTES}"
    elif len(set(token)) < MIN_TOKEN_VARIETY:
        problem = f"has only {len(set(token))} different characters, under {MIN_TOKEN_VARIETY}"
    elif _longest_run(token) > MAX_TOKEN_RUN:
        problem = f"has a run of {_longest_run(token)} sequential or repeated characters (like abcdef or 123456)"
    elif word:
        problem = "holds a common password word (like password or admin)"
    elif keyboard_walk_share(token) >= MAX_KEYBOARD_WALK:
        problem = "is a walk along the keyboard (like 1qaz2wsx or 1q2w3e4r)"
    if problem:
        raise ConfigError(
            f"BULLETIN_BOT_WEB_ADMIN_TOKEN {problem}, so it can be guessed: make one with "
            f"`{MAKE_TOKEN}` (or leave it unset to turn /admin off)"
        )


class AdminAuth:
    """The admin token, and signed session cookies and CSRF values derived from it.

    A session is `issued.nonce.mac`, signed with the token, so changing the token ends every
    session and nothing needs storing. The CSRF value is a second MAC over the same session.
    """

    def __init__(self, token: str) -> None:
        check_token_strength(token)
        self._token = token.encode("utf-8")
        # logged-out sessions until they would have expired anyway: value -> issued time
        self._revoked: dict[str, int] = {}
        self._not_before = 0.0  # sessions issued earlier are over (the revoked list overflowed)
        self._lock = threading.Lock()

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
        if not issued.isdecimal() or len(issued) > 12 or time.time() - int(issued) > SESSION_SECONDS:
            return None
        if int(issued) < self._not_before or value in self._revoked:
            return None
        return value

    def revoke(self, session: str) -> None:
        """End `session` now: its cookie and its CSRF value no longer work (logging out)."""
        now = time.time()
        with self._lock:
            for value, issued in list(self._revoked.items()):
                if now - issued > SESSION_SECONDS:
                    del self._revoked[value]
            if len(self._revoked) >= REVOKED_KEPT:  # never forget a revocation: end them all instead
                self._revoked.clear()
                self._not_before = now + 1
            self._revoked[session] = int(session.partition(".")[0])

    def csrf_for(self, session: str) -> str:
        return self._mac("csrf", session)

    def check_csrf(self, session: str, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(candidate.encode(), self.csrf_for(session).encode())


class LoginThrottle:
    """Wrong credentials (login form, session cookie, bearer header): a few per client a minute,
    and a cap over all clients together. The table of clients is pruned and bounded.

    The overall cap holds only clients that have failed more than once within the window: it
    slows many addresses that keep guessing, but a client with at most one recent failure (the
    real admin after a typo, on another address) always has its credential checked, so a flood of wrong guesses from
    others can never lock the admin out. Each failure expires after the window, in every check.
    IPv6 clients count per /64 (one customer's allocation), so a /64 guesses as one client.
    """

    def __init__(self, limit: int = LOGIN_FAILURES_PER_MINUTE, window: float | None = None,
                 overall: int = ALL_FAILURES_PER_MINUTE, kept: int = CLIENTS_KEPT) -> None:
        self.limit, self.overall, self.kept = limit, overall, kept
        self.window = THROTTLE_WINDOW if window is None else window
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque(maxlen=overall)
        self._lock = threading.Lock()

    def _prune(self, now: float) -> None:
        for client in [c for c, times in self._failures.items() if not times or now - times[-1] > self.window]:
            del self._failures[client]

    def _expire_all(self, now: float) -> None:
        while self._all and now - self._all[0] > self.window:
            self._all.popleft()

    def _recent(self, client: str, now: float) -> int:
        times = self._failures.get(client)
        while times and now - times[0] > self.window:
            times.popleft()
        return len(times) if times else 0

    def _wait(self, since: float, now: float) -> int:
        return max(1, int(self.window - (now - since) + 0.999))

    def wait_seconds(self, client: str) -> int:
        """0 when `client` may try a credential now, else how many seconds to wait."""
        client = throttle_key(client)
        with self._lock:
            now = time.monotonic()
            self._expire_all(now)
            recent = self._recent(client, now)
            if recent >= self.limit:
                return self._wait(self._failures[client][0], now)
            # only clients that keep failing meet the cap: one mistake (a typo, yesterday's
            # cookie) never leaves the real admin to a flood of other addresses' guesses
            if recent > FAILURES_BEFORE_CAP and len(self._all) >= self.overall:
                return self._wait(self._all[0], now)
            return 0

    def blocked(self, client: str) -> bool:
        return self.wait_seconds(client) > 0

    def failed(self, client: str) -> None:
        client = throttle_key(client)
        with self._lock:
            now = time.monotonic()
            if len(self._failures) >= self.kept:
                self._prune(now)
                while len(self._failures) >= self.kept:  # still full: the longest quiet goes
                    del self._failures[next(iter(self._failures))]
            self._recent(client, now)
            times = self._failures.pop(client, None) or deque(maxlen=self.limit)
            times.append(now)
            self._failures[client] = times  # the table runs from the longest quiet to the latest
            self._all.append(now)
            self._expire_all(now)

    def __len__(self) -> int:
        return len(self._failures)


def throttle_key(client: str) -> str:
    """The throttle's key for a client address: the same as every other limit's (an IPv6
    address stands for its /64)."""
    return client_key(client)


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
