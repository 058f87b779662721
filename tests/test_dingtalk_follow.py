"""Following through the DingTalk channel, end to end: the Stream client against the stand-in
gateway, which records what the robot writes first (oToMessages/batchSend); the real service
(HashEmbedder). The new issue is conftest's NEW_ISSUE (第456期), indexed by an admin's /reindex.
"""

from __future__ import annotations

import pytest

from bulletin_bot.subscriptions import SubscriptionStore, path_for

from channel_helpers import squash
from conftest import NEW_ISSUE
from dingtalk_standin import DingTalkStandin
from test_dingtalk import ADMIN, READER, ask, dingtalk_bot, real_service, settings_for

GONE = "staff0099"
CITATION = "第456期 · 2023-12-20 · 【经验交流】 宿迁市：“红石榴”宣讲团走进骆马湖渔村"


@pytest.fixture(scope="module")
def standin():
    server = DingTalkStandin().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bot(standin, tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("dingtalk-follow"), standin)
    service = real_service(settings)
    with dingtalk_bot(settings, service, standin):
        yield service


def test_a_follower_gets_the_new_issue_s_article_once_after_a_reindex(standin, bot):
    assert "已关注「红石榴宣讲团」" in ask(standin, "关注 红石榴宣讲团")[0]
    assert "已关注" in ask(standin, "/follow 红石榴宣讲团", user=GONE)[0]
    assert "· 红石榴宣讲团" in ask(standin, "/following")[0]
    standin.gone.add(GONE)
    (bot.settings.corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    started, report = ask(standin, "/reindex", user=ADMIN, count=2)
    assert "索引已更新" in report
    [delivered] = standin.pushed_to(f"user:{READER}")
    assert "关注「红石榴宣讲团」" in delivered and CITATION in delivered and "开展流动宣讲136场" in squash(delivered)
    store = SubscriptionStore(path_for(bot.settings.index))
    assert store.following("dingtalk", f"user:{GONE}") == []
    started, report = ask(standin, "/reindex", user=ADMIN, count=2)
    assert "语料没有变化" in report
    assert len(standin.pushed_to(f"user:{READER}")) == 1
