"""Following through the WeCom channel, end to end: the stand-in plays the users and records
every message/send; the bot is the real callback server over the real service (HashEmbedder).
A new issue (conftest's NEW_ISSUE, 第456期) is indexed by an admin's /reindex while it runs.
"""

from __future__ import annotations

import pytest

from bulletin_bot.subscriptions import SubscriptionStore, path_for

from channel_helpers import squash, wait_for
from conftest import NEW_ISSUE
from test_wecom import ADMIN, READER, ask, real_service, settings_for, wecom_bot
from wecom_standin import WeComStandin

GONE = "wangwu"
CITATION = "第456期 · 2023-12-20 · 【经验交流】 宿迁市：“红石榴”宣讲团走进骆马湖渔村"


@pytest.fixture(scope="module")
def standin():
    server = WeComStandin().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bot(standin, tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("wecom-follow"), standin)
    service = real_service(settings)
    with wecom_bot(settings, service, standin):
        yield service


def test_help_lists_the_follow_and_compile_commands(standin, bot):
    [shown] = ask(standin, "/help")
    assert "/follow 主题" in shown and "/unfollow 主题" in shown and "/compile 主题" in shown


def test_a_follower_gets_the_new_issue_s_article_once_after_a_reindex(standin, bot):
    [reply] = ask(standin, "关注 红石榴宣讲团")
    assert "已关注「红石榴宣讲团」" in reply
    [reply] = ask(standin, "/follow 红石榴宣讲团", user=GONE)
    assert "已关注" in reply
    standin.gone.add(GONE)
    before = len(standin.texts_to(READER))
    (bot.settings.corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    ask(standin, "/reindex", user=ADMIN)
    wait_for(lambda: any("索引已更新" in t for t in standin.texts_to(ADMIN)), 60, "the re-index report")
    [delivered] = standin.wait_texts(READER, 1, after=before)
    assert "关注「红石榴宣讲团」" in delivered and CITATION in delivered
    assert "开展流动宣讲136场" in squash(delivered)
    store = SubscriptionStore(path_for(bot.settings.index))
    assert store.following("wecom", GONE) == []  # the user who left is dropped
    # again: nothing new, nothing sent twice
    reports = sum("语料没有变化" in t for t in standin.texts_to(ADMIN))
    ask(standin, "/reindex", user=ADMIN)
    wait_for(lambda: sum("语料没有变化" in t for t in standin.texts_to(ADMIN)) > reports, 60, "the second report")
    assert len(standin.texts_to(READER)) == before + 1


def test_following_unfollow_and_compile_in_text(standin, bot):
    [listed] = ask(standin, "我的关注")
    assert "· 红石榴宣讲团" in listed
    [reply] = ask(standin, "取消关注 红石榴宣讲团")
    assert "已取消关注「红石榴宣讲团」" in reply
    [listed] = ask(standin, "/following")
    assert "你还没有关注任何主题" in listed
    [compiled] = ask(standin, "/compile 理论宣讲 2023-01 2023-12")
    assert "素材汇编「理论宣讲」：2023-01-01 至 2023-12-31" in compiled
    assert "· 第455期 · 2023-12-10 · 【经验交流】 · 泗洪县：打造“洪轩理”理论品牌 筑牢基层理论武装根基" in compiled


def test_an_index_built_by_another_process_is_delivered_by_the_running_channel(tmp_path, monkeypatch):
    from bulletin_bot.channels import follow as channel_follow
    from bulletin_bot.embedding import HashEmbedder
    from bulletin_bot.service import BulletinService

    monkeypatch.setattr(channel_follow, "WATCH_EVERY", 0.2)
    server = WeComStandin().start()
    try:
        settings = settings_for(tmp_path, server)
        service = real_service(settings)
        with wecom_bot(settings, service, server):
            assert "已关注" in ask(server, "关注 红石榴宣讲团")[0]
            before = len(server.texts_to(READER))
            (settings.corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
            assert BulletinService(settings, embedder=HashEmbedder()).reindex().added == 1  # `bulletin-bot index`
            [delivered] = server.wait_texts(READER, 1, after=before, timeout=30)
            assert CITATION in delivered
    finally:
        server.stop()
