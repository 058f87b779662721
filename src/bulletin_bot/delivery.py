"""What each follower gets when a re-index adds issues, and sending it exactly once.

A topic's news in a new issue is what the question "第N期 <topic>" finds there: the same
ranking and the same evidence rule as any question (`BulletinService.ask`), kept only when the
answer is found inside that issue (a restriction that was dropped for lack of an answer gives
nothing). A series subscription gets the new issue's contents. Nothing is sent when nothing
answers. The store's claims (`subscriptions.py`) make a killed round, a re-run, or two
processes delivering at once send nothing twice.

Sending is the front end's: a `Sender` takes one `Digest` and raises `Blocked` when the user
blocked the bot (their subscriptions are dropped, with a log line) or anything else on a failure,
which is retried a few times before the delivery is marked failed (a later round retries it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import Blocked
from .models import ArticleRef, IssueSummary, Quote
from .subscriptions import Subscription, SubscriptionStore

log = logging.getLogger(__name__)

MAX_QUOTES = 10  # results per issue in a digest
MAX_ISSUES = 10  # issues per digest: the newest; older new ones are skipped (a first index, a big upload)
RECENT_SECONDS = 7 * 86400  # issues first seen this long ago are no longer news (failed ones stop retrying)
TRIES = 3
RETRY_PAUSE = 2.0  # seconds before the second try, doubled for the third


@dataclass(frozen=True)
class IssueNews:
    issue: IssueSummary
    quotes: tuple[Quote, ...] = ()  # a topic: the articles that answer it, quote + citation each
    contents: tuple[ArticleRef, ...] = ()  # a series: the issue's contents


@dataclass(frozen=True)
class Digest:
    """One message's worth for one subscription: its new issues, oldest first."""

    subscription: Subscription
    issues: tuple[IssueNews, ...]


Sender = Callable[[Digest], None]


@dataclass
class DeliveryReport:
    sent: int = 0  # digests sent
    empty: int = 0  # (subscription, issue) pairs with nothing that answers
    failed: int = 0
    dropped: list[str] = field(default_factory=list)  # chats that blocked the bot


class _Service(Protocol):
    def issues(self) -> list[IssueSummary]: ...

    def issue(self, number: int) -> list[Any]: ...

    def ask(self, question: str, top_k: int = 5, offset: int = 0) -> Any: ...


def issue_key(issue: IssueSummary) -> str:
    """One issue across re-indexes: its series, number and date (not its row id, which moves)."""
    return f"{issue.series}\x1f{issue.number}\x1f{issue.date}"


def topic_news(service: _Service, topic: str, issue: IssueSummary, limit: int = MAX_QUOTES) -> tuple[Quote, ...]:
    """The articles of `issue` that answer `topic`, as the question "第N期 topic" finds them."""
    answer = service.ask(f"第{issue.number}期 {topic}", top_k=limit)
    if not answer.found or answer.note:  # not found in that issue: the answer is from elsewhere
        return ()
    same = (issue.series, issue.number, issue.date)
    return tuple(q for q in answer.results if (q.citation.series, q.citation.issue, q.citation.date) == same)


def series_news(service: _Service, issue: IssueSummary) -> tuple[ArticleRef, ...]:
    for view in service.issue(issue.number):
        if (view.summary.series, view.summary.date) == (issue.series, issue.date):
            return tuple(view.articles)
    return ()


def deliver(service: _Service, store: SubscriptionStore, channel: str, send: Sender,
            pause: float = RETRY_PAUSE, interval: float = 0.0) -> DeliveryReport:
    """Send every subscription of `channel` what the newly indexed issues hold for it, once.

    `interval` is waited between two digests (a platform's rate limit)."""
    report = DeliveryReport()
    indexed = {issue_key(i): i for i in service.issues()}
    store.note_issues(indexed)
    seen = store.first_seen(list(indexed))
    now = time.time()
    recent = {k: t for k, t in seen.items() if now - t <= RECENT_SECONDS}
    subs = store.subscriptions(channel)
    if not recent or not subs:
        return report
    first = True
    found: dict[tuple[str, str], IssueNews] = {}  # (topic, issue key): many follow the same topic
    for sub in subs:
        if sub.chat in report.dropped:  # its subscriptions went with the first one that bounced
            continue
        done = store.delivered(sub.id)
        new = [k for k, t in recent.items() if t > sub.created and done.get(k) in (None, "failed")]
        if not new:
            continue
        new.sort(key=lambda k: (indexed[k].date, indexed[k].number))
        for old in new[:-MAX_ISSUES]:
            store.claim(sub.id, old, "skipped")
        news: list[tuple[str, IssueNews]] = []
        for key in new[-MAX_ISSUES:]:
            issue = indexed[key]
            item = found.get((sub.topic, key))
            if item is None:
                if sub.series:
                    item = IssueNews(issue, contents=series_news(service, issue))
                else:
                    item = IssueNews(issue, quotes=topic_news(service, sub.topic, issue))
                found[(sub.topic, key)] = item
            if item.quotes or item.contents:
                news.append((key, item))
            elif store.claim(sub.id, key, "empty"):
                report.empty += 1
        claimed = [(k, item) for k, item in news if store.claim(sub.id, k)]
        if not claimed:
            continue
        if not first and interval:
            time.sleep(interval)
        first = False
        keys = [k for k, _ in claimed]
        state = _send(send, Digest(sub, tuple(item for _, item in claimed)), pause)
        store.mark(sub.id, keys, state)
        if state == "sent":
            report.sent += 1
        elif state == "dropped":
            gone = store.drop_chat(channel, sub.chat)
            log.warning("%s: chat %s blocked the bot; dropped its %d subscription(s)", channel, sub.chat, gone)
            report.dropped.append(sub.chat)
        else:
            report.failed += 1
    return report


def _send(send: Sender, digest: Digest, pause: float) -> str:
    sub = digest.subscription
    for attempt in range(TRIES):
        try:
            send(digest)
            return "sent"
        except Blocked:
            return "dropped"
        except Exception as exc:  # a platform or network failure: tried again, then left for a later round
            log.warning("%s: sending to %s failed (try %d of %d): %s", sub.channel, sub.chat, attempt + 1, TRIES, exc)
            if attempt + 1 < TRIES and pause:
                time.sleep(pause * 2**attempt)
    return "failed"


def by_message(render: Callable[[Digest], list[str]], send_one: Callable[[Subscription, str], None]) -> Sender:
    """A sender that sends a digest's messages (`render`) one by one; when a try fails part way,
    the next try of the same digest sends only the messages that did not go out."""
    progress: dict[int, int] = {}  # id(digest) -> messages sent

    def send(digest: Digest) -> None:
        texts = render(digest)
        for i in range(progress.get(id(digest), 0), len(texts)):
            send_one(digest.subscription, texts[i])
            progress[id(digest)] = i + 1
        progress.pop(id(digest), None)

    return send


def issue_heading(issue: IssueSummary) -> str:
    return f"第{issue.number}期 · {issue.date}"


def digest_lines(digest: Digest) -> list[tuple[str, list[tuple[str, str]]]]:
    """Per issue: its heading and its (quote, citation) pairs (contents lines for a series), for
    front ends to render in their own markup."""
    out = []
    for item in digest.issues:
        if item.quotes:
            pairs = [(q.quote, q.citation.label()) for q in item.quotes]
        else:
            pairs = [("", f"{ref.index}. 【{ref.section}】 {ref.title}") for ref in item.contents]
        out.append((issue_heading(item.issue), pairs))
    return out


def digest_title(digest: Digest) -> str:
    sub = digest.subscription
    if sub.series:
        return "📰 新一期简报"
    return f"🔔 关注「{sub.topic}」：新一期简报中的相关文章"


def delivery_callback(service: _Service, store: SubscriptionStore, channel: str, send: Sender,
                      interval: float = 0.0) -> Callable[[Any], None]:
    """A re-index runner hook: after a build that changed the index, deliver to `channel`."""

    def after_build(report: Any) -> None:
        """`report` None: another process switched the index in (the watcher noticed it)."""
        if report is not None and not getattr(report, "built", False):
            return
        result = deliver(service, store, channel, send, interval=interval)
        log.info("%s: delivered %d digest(s) after the re-index (%d failed, %d dropped)",
                 channel, result.sent, result.failed, len(result.dropped))

    return after_build


def plain_digest(digest: Digest, escape: Callable[[str], str] = lambda t: t) -> list[str]:
    """A digest as plain-text blocks (the chat channels pack them into messages)."""
    blocks = [escape(digest_title(digest))]
    for heading, pairs in digest_lines(digest):
        blocks.append(escape(heading))
        n = 0
        lines: list[str] = []
        for quote, citation in pairs:
            if quote:
                n += 1
                blocks.append(f"{n}.「{escape(quote)}」\n—— {escape(citation)}")
            else:
                lines.append(escape(citation))
        if lines:
            blocks.append("\n".join(lines))
    return blocks
