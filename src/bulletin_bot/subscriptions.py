"""Who follows what: topics and whole series per (channel, chat), and what was delivered to whom.

The store is one SQLite file in the index folder, beside `versions/` and never inside a
version (`index/subscriptions.sqlite`), so it survives re-indexes, version switches and
restarts. Every front-end process opens the same file; SQLite's locking keeps them apart.

Deliveries are recorded per (subscription, issue) with a UNIQUE key, in states
    pending  claimed by a sender (written before sending)
    sent     the message went out (written after sending)
    empty    nothing in the issue answers the topic: nothing to send
    failed   every try failed; claimed again by a later round
    dropped  the user blocked the bot; the subscription is gone
A claim is `INSERT OR IGNORE`: of two processes (or a re-run after a killed one) only the one
whose insert took the row sends. A `pending` row whose sender died stays `pending`: whether it
went out is unknown, and a bulletin sent twice is the one thing a follower must never see.

An issue is new to a subscription when the store first saw it after the subscription was made:
following a topic notes the issues indexed then, so only later ones are delivered.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import FollowRefused

MAX_TOPICS = 20  # subscriptions per (channel, chat)
# subscriptions on one channel: anonymous web readers (a new cookie is a new reader) cannot grow
# the file without bound, nor take the room of another channel's users
MAX_PER_CHANNEL = 50_000
MAX_TOPIC_CHARS = 40
SERIES = "*"  # the topic stored for "every new issue"
# words a user writes to follow every new issue rather than a topic
SERIES_WORDS = frozenset({"全部", "所有", "每期", "每一期", "全部简报", "所有简报", "新一期", "*"})
FILE_NAME = "subscriptions.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    chat TEXT NOT NULL,
    topic TEXT NOT NULL,
    created REAL NOT NULL,
    UNIQUE (channel, chat, topic)
);
CREATE TABLE IF NOT EXISTS issues_seen (
    issue_key TEXT PRIMARY KEY,
    first_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    subscription INTEGER NOT NULL,
    issue_key TEXT NOT NULL,
    state TEXT NOT NULL,
    changed REAL NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    UNIQUE (subscription, issue_key)
);
"""


@dataclass(frozen=True)
class Subscription:
    id: int
    channel: str  # "telegram", "wecom", "dingtalk", "feishu", "web"
    chat: str  # where deliveries go: the chat id, or the platform's user id
    topic: str  # SERIES for every new issue
    created: float

    @property
    def series(self) -> bool:
        return self.topic == SERIES

    @property
    def label(self) -> str:
        return "每一期新简报" if self.series else self.topic


@dataclass(frozen=True)
class ChannelCount:
    """For admins: how many chats follow how many topics on a channel."""

    channel: str
    chats: int
    subscriptions: int


def clean_topic(text: str) -> str:
    """The topic as stored: spaces collapsed; the series words all become SERIES."""
    topic = " ".join(text.split()).strip("「」“”\"'《》")
    if topic in SERIES_WORDS:
        return SERIES
    return topic


def path_for(index_root: Path) -> Path:
    return Path(index_root) / FILE_NAME


class SubscriptionStore:
    """The subscriptions file; safe to share between threads (one connection per call)."""

    def __init__(self, path: Path, limit: int = MAX_TOPICS, per_channel: int | None = None) -> None:
        self.path = Path(path)
        self.limit = limit
        self.per_channel = MAX_PER_CHANNEL if per_channel is None else per_channel
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # autocommit per statement unless a `with db:` block opens a transaction
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        return db

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        db = self._connect()
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    # ------------------------------------------------------------ following

    def follow(self, channel: str, chat: str, topic: str, indexed: Iterable[str] = ()) -> Subscription:
        """Follow `topic` (or SERIES); `indexed` are the keys of the issues indexed now, which are
        not new to this subscription. Following a topic already followed returns it unchanged."""
        topic = clean_topic(topic)
        if not topic:
            raise FollowRefused("请写上要关注的主题，例如：关注 理论宣讲")
        if len(topic) > MAX_TOPIC_CHARS:
            raise FollowRefused(f"主题太长了（{len(topic)} 字），请控制在 {MAX_TOPIC_CHARS} 字以内")
        self.note_issues(indexed)
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")  # the count and the insert as one step
            row = db.execute("SELECT id, created FROM subscriptions WHERE channel=? AND chat=? AND topic=?",
                             (channel, chat, topic)).fetchone()
            if row:
                db.execute("COMMIT")
                return Subscription(row[0], channel, chat, topic, row[1])
            (count,) = db.execute("SELECT COUNT(*) FROM subscriptions WHERE channel=? AND chat=?",
                                  (channel, chat)).fetchone()
            if count >= self.limit:
                db.execute("ROLLBACK")
                raise FollowRefused(f"每人最多关注 {self.limit} 个主题，已经关注了 {count} 个。"
                                    f"请先取消一个（取消关注 主题），再关注新的。")
            (total,) = db.execute("SELECT COUNT(*) FROM subscriptions WHERE channel=?", (channel,)).fetchone()
            if total >= self.per_channel:
                db.execute("ROLLBACK")
                raise FollowRefused("关注的人太多，暂时不能再添加新的关注。请稍后再试，或联系管理员。")
            created = time.time()
            cur = db.execute("INSERT INTO subscriptions (channel, chat, topic, created) VALUES (?,?,?,?)",
                             (channel, chat, topic, created))
            db.execute("COMMIT")
            return Subscription(int(cur.lastrowid), channel, chat, topic, created)
        finally:
            db.close()

    def unfollow(self, channel: str, chat: str, topic: str) -> bool:
        """Stop following `topic`; False when it was not followed."""
        rows = self._run("DELETE FROM subscriptions WHERE channel=? AND chat=? AND topic=? RETURNING id",
                         (channel, chat, clean_topic(topic)))
        return bool(rows)

    def following(self, channel: str, chat: str) -> list[Subscription]:
        rows = self._run("SELECT id, channel, chat, topic, created FROM subscriptions WHERE channel=? AND chat=? "
                         "ORDER BY created", (channel, chat))
        return [Subscription(*r) for r in rows]

    def subscriptions(self, channel: str) -> list[Subscription]:
        rows = self._run("SELECT id, channel, chat, topic, created FROM subscriptions WHERE channel=? ORDER BY id",
                         (channel,))
        return [Subscription(*r) for r in rows]

    def drop_chat(self, channel: str, chat: str) -> int:
        """Remove every subscription of a chat (the user blocked the bot); how many went."""
        return len(self._run("DELETE FROM subscriptions WHERE channel=? AND chat=? RETURNING id", (channel, chat)))

    def counts(self) -> list[ChannelCount]:
        rows = self._run("SELECT channel, COUNT(DISTINCT chat), COUNT(*) FROM subscriptions GROUP BY channel "
                         "ORDER BY channel")
        return [ChannelCount(*r) for r in rows]

    # ------------------------------------------------------------ issues and deliveries

    def note_issues(self, keys: Iterable[str]) -> None:
        """Record when each issue was first seen (kept from the first time)."""
        now = time.time()
        rows = [(k, now) for k in keys]
        if not rows:
            return
        db = self._connect()
        try:
            with db:
                db.execute("BEGIN")
                db.executemany("INSERT OR IGNORE INTO issues_seen (issue_key, first_seen) VALUES (?,?)", rows)
        finally:
            db.close()

    def first_seen(self, keys: Sequence[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for start in range(0, len(keys), 500):
            part = list(keys[start : start + 500])
            marks = ",".join("?" * len(part))
            out.update(self._run(f"SELECT issue_key, first_seen FROM issues_seen WHERE issue_key IN ({marks})",
                                 tuple(part)))
        return out

    def delivered(self, subscription: int) -> dict[str, str]:
        """issue key -> state, for every delivery row of a subscription."""
        return dict(self._run("SELECT issue_key, state FROM deliveries WHERE subscription=?", (subscription,)))

    def claim(self, subscription: int, issue_key: str, state: str = "pending") -> bool:
        """Take the (subscription, issue) delivery; False when another sender (or an earlier run)
        has it. A `failed` one is taken back, so a later round retries it."""
        now = time.time()
        db = self._connect()
        try:
            cur = db.execute("INSERT OR IGNORE INTO deliveries (subscription, issue_key, state, changed) "
                             "VALUES (?,?,?,?)", (subscription, issue_key, state, now))
            if cur.rowcount == 1:
                return True
            cur = db.execute("UPDATE deliveries SET state=?, changed=? WHERE subscription=? AND issue_key=? "
                             "AND state='failed'", (state, now, subscription, issue_key))
            return cur.rowcount == 1
        finally:
            db.close()

    def mark(self, subscription: int, issue_keys: Iterable[str], state: str) -> None:
        now = time.time()
        db = self._connect()
        try:
            with db:
                db.execute("BEGIN")
                db.executemany("UPDATE deliveries SET state=?, changed=?, tries=tries+1 "
                               "WHERE subscription=? AND issue_key=?",
                               [(state, now, subscription, k) for k in issue_keys])
        finally:
            db.close()

    def delivery_states(self) -> dict[tuple[int, str], str]:
        """Every delivery row (for tests and admins)."""
        return {(s, k): st for s, k, st in self._run("SELECT subscription, issue_key, state FROM deliveries")}
