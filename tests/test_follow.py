"""Following a topic: what a follower receives when a re-index adds an issue, and only once.

The real service over a temp copy of corpus/455.txt (HashEmbedder); the new issue is
conftest's NEW_ISSUE (第456期, 红石榴宣讲团). Senders here record what they are given, as a
front end's would send it.
"""

from __future__ import annotations

import shutil
import threading
import time

import pytest

from bulletin_bot.config import Settings
from bulletin_bot.delivery import Blocked, Digest, by_message, deliver, issue_key, plain_digest
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.jobs import ReindexRunner
from bulletin_bot.service import BulletinService
from bulletin_bot.subscriptions import SERIES, FollowRefused, SubscriptionStore, path_for

from conftest import NEW_ISSUE, SAMPLE

NEW = "第456期 · 2023-12-20 · 【经验交流】 宿迁市：“红石榴”宣讲团走进骆马湖渔村"


@pytest.fixture
def service(tmp_path) -> BulletinService:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / SAMPLE.name)
    settings = Settings(corpus=corpus, index=tmp_path / "index", cache=tmp_path / "cache", model="hash")
    svc = BulletinService(settings, embedder=HashEmbedder())
    svc.reindex()
    return svc


def store_of(service: BulletinService) -> SubscriptionStore:
    return SubscriptionStore(path_for(service.settings.index))


def follow(store: SubscriptionStore, service: BulletinService, chat: str, topic: str):
    return store.follow("telegram", chat, topic, [issue_key(i) for i in service.issues()])


def add_new_issue(service: BulletinService) -> None:
    (service.settings.corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    assert service.reindex().added == 1


class Recorder:
    def __init__(self) -> None:
        self.digests: list[Digest] = []
        self.lock = threading.Lock()

    def __call__(self, digest: Digest) -> None:
        with self.lock:
            self.digests.append(digest)

    def to(self, chat: str) -> list[str]:
        return ["\n".join(plain_digest(d)) for d in self.digests if d.subscription.chat == chat]


def test_the_store_lives_in_the_index_folder_beside_the_versions(service):
    store = store_of(service)
    assert store.path == service.settings.index / "subscriptions.sqlite"
    follow(store, service, "42", "理论宣讲")
    add_new_issue(service)  # a new version is written and switched in
    assert [s.topic for s in store_of(service).following("telegram", "42")] == ["理论宣讲"]
    assert not any(p.name == "subscriptions.sqlite" for p in service.paths.versions.rglob("*"))


def test_a_follower_gets_the_new_issue_s_answering_article_once_with_its_citation(service):
    store = store_of(service)
    follow(store, service, "42", "红石榴宣讲团")
    follow(store, service, "77", "铁路货运量")  # nothing in 第456期 answers it
    add_new_issue(service)
    sent = Recorder()
    report = deliver(service, store, "telegram", sent)
    assert report.sent == 1 and report.empty == 1
    [text] = sent.to("42")
    assert "关注「红石榴宣讲团」" in text and "第456期 · 2023-12-20" in text
    assert f"—— {NEW}" in text and "开展流动宣讲136场" in text
    assert "第455期" not in text  # an issue indexed before the follow is not news
    assert sent.to("77") == []
    again = deliver(service, store, "telegram", sent)
    assert again.sent == 0 and len(sent.digests) == 1


def test_nothing_is_sent_for_issues_indexed_before_the_follow(service):
    add_new_issue(service)
    store = store_of(service)
    follow(store, service, "42", "红石榴宣讲团")
    sent = Recorder()
    deliver(service, store, "telegram", sent)
    assert sent.digests == []


def test_a_series_follower_gets_the_new_issue_s_contents(service):
    store = store_of(service)
    sub = follow(store, service, "42", "全部")
    assert sub.topic == SERIES and sub.label == "每一期新简报"
    add_new_issue(service)
    sent = Recorder()
    deliver(service, store, "telegram", sent)
    [text] = sent.to("42")
    assert "新一期简报" in text and "第456期 · 2023-12-20" in text and "宿迁市：“红石榴”宣讲团走进骆马湖渔村" in text


def test_a_killed_round_and_its_rerun_send_nothing_twice(service):
    store = store_of(service)
    for chat in ("1", "2", "3"):
        follow(store, service, chat, "红石榴宣讲团")
    add_new_issue(service)
    sent = Recorder()

    def killed_after_first(digest: Digest) -> None:
        sent(digest)
        raise KeyboardInterrupt  # the process dies right after the message went out

    with pytest.raises(KeyboardInterrupt):
        deliver(service, store, "telegram", killed_after_first)
    deliver(service, store, "telegram", sent)  # the re-run
    deliver(service, store, "telegram", sent)
    chats = sorted(d.subscription.chat for d in sent.digests)
    assert chats == ["1", "2", "3"]


def test_two_processes_delivering_at_once_send_each_digest_once(service):
    store = store_of(service)
    for n in range(6):
        follow(store, service, str(n), "红石榴宣讲团")
    add_new_issue(service)
    sent = Recorder()

    def slow(digest: Digest) -> None:
        time.sleep(0.05)
        sent(digest)

    # two stores over one file, as two processes would open it
    other = SubscriptionStore(store.path)
    threads = [threading.Thread(target=deliver, args=(service, s, "telegram", slow)) for s in (store, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(d.subscription.chat for d in sent.digests) == [str(n) for n in range(6)]


def test_a_failed_send_is_retried_then_left_for_the_next_round(service):
    store = store_of(service)
    follow(store, service, "42", "红石榴宣讲团")
    add_new_issue(service)
    tries: list[int] = []

    def down(digest: Digest) -> None:
        tries.append(1)
        raise ConnectionError("platform down")

    report = deliver(service, store, "telegram", down, pause=0)
    assert report.failed == 1 and len(tries) == 3
    sent = Recorder()
    deliver(service, store, "telegram", sent, pause=0)
    assert len(sent.to("42")) == 1


def test_a_user_who_blocked_the_bot_is_dropped_with_a_log_line(service, caplog):
    store = store_of(service)
    follow(store, service, "42", "红石榴宣讲团")
    follow(store, service, "42", "全部")
    follow(store, service, "43", "红石榴宣讲团")
    add_new_issue(service)

    def send(digest: Digest) -> None:
        if digest.subscription.chat == "42":
            raise Blocked("Forbidden: bot was blocked by the user")

    with caplog.at_level("WARNING"):
        report = deliver(service, store, "telegram", send)
    assert report.dropped == ["42"]
    assert store.following("telegram", "42") == [] and len(store.following("telegram", "43")) == 1
    assert "chat 42 blocked the bot" in caplog.text


def test_the_limit_per_user_is_said_plainly(tmp_path):
    store = SubscriptionStore(tmp_path / "subscriptions.sqlite", limit=3)
    for topic in ("理论宣讲", "乡村振兴", "全部"):
        store.follow("wecom", "lisi", topic)
    store.follow("wecom", "lisi", "理论宣讲")  # again: nothing changes, no refusal
    with pytest.raises(FollowRefused, match="每人最多关注 3 个主题，已经关注了 3 个"):
        store.follow("wecom", "lisi", "生态环境")
    store.follow("wecom", "wangwu", "生态环境")  # another user has their own limit
    assert store.unfollow("wecom", "lisi", "乡村振兴") and not store.unfollow("wecom", "lisi", "乡村振兴")
    store.follow("wecom", "lisi", "生态环境")
    assert [s.topic for s in store.following("wecom", "lisi")] == ["理论宣讲", SERIES, "生态环境"]
    assert [(c.channel, c.chats, c.subscriptions) for c in store.counts()] == [("wecom", 2, 4)]


def test_deliveries_run_after_a_reindex_round_that_added_an_issue(service):
    store = store_of(service)
    follow(store, service, "42", "红石榴宣讲团")
    sent = Recorder()
    runner = ReindexRunner(service)
    runner.after_build.append(lambda report: deliver(service, store, "telegram", sent))
    (service.settings.corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    runner.request()
    assert runner.wait(60)
    assert len(sent.to("42")) == 1
    runner.request()  # nothing changed: no new version, nothing sent
    assert runner.wait(60)
    assert len(sent.digests) == 1


def test_a_retry_after_a_failure_part_way_sends_only_the_messages_that_did_not_go_out(service):
    store = store_of(service)
    follow(store, service, "42", "红石榴宣讲团")
    add_new_issue(service)
    sent: list[str] = []
    failures = iter([True])  # the second message fails once

    def send_one(sub, text: str) -> None:
        if len(sent) == 1 and next(failures, False):
            raise ConnectionError("reset by peer")
        sent.append(text)

    report = deliver(service, store, "telegram", by_message(plain_digest, send_one), pause=0)
    assert report.sent == 1
    assert len(sent) == len(set(sent)) >= 3  # title, issue heading, the quote: each once
    assert "开展流动宣讲136场" in sent[-1]
