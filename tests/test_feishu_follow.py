"""Following through the Feishu channel, end to end: the stand-in plays the users and records the
messages the bot writes first (im/v1/messages); the bot is the real event server over the real
service (HashEmbedder). The new issue is conftest's NEW_ISSUE (第456期), indexed by an admin's /reindex.
"""

from __future__ import annotations

import pytest

from bulletin_bot.subscriptions import SubscriptionStore, path_for

from channel_helpers import squash, wait_for
from conftest import NEW_ISSUE
from feishu_standin import FeishuStandin
from test_feishu import ADMIN, READER, ask, feishu_bot, real_service, settings_for

GONE = "ou_gone0000000003"
CITATION = "第456期 · 2023-12-20 · 【经验交流】 宿迁市：“红石榴”宣讲团走进骆马湖渔村"


@pytest.fixture(scope="module")
def standin():
    server = FeishuStandin().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bot(standin, tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("feishu-follow"), standin)
    service = real_service(settings)
    with feishu_bot(settings, service, standin):
        yield service


def test_a_follower_gets_the_new_issue_s_article_once_after_a_reindex(standin, bot):
    assert "已关注「红石榴宣讲团」" in ask(standin, "关注 红石榴宣讲团")[0]
    assert "已关注每一期新简报" in ask(standin, "/follow 全部")[0]
    assert "已关注" in ask(standin, "/follow 红石榴宣讲团", user=GONE)[0]
    standin.gone.add(f"oc_{GONE}")
    (bot.settings.corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    ask(standin, "/reindex", user=ADMIN)
    delivered = wait_for(lambda: (lambda t: t if len(t) >= 2 else None)(standin.pushed_to(f"oc_{READER}")), 60,
                         "two deliveries")
    topic = next(t for t in delivered if "关注「红石榴宣讲团」" in t)
    assert CITATION in topic and "开展流动宣讲136场" in squash(topic)
    assert any("新一期简报" in t and "宿迁市：“红石榴”宣讲团走进骆马湖渔村" in t for t in delivered if t is not topic)
    store = SubscriptionStore(path_for(bot.settings.index))
    wait_for(lambda: store.following("feishu", f"oc_{GONE}") == [], 10, "the chat the bot left to be dropped")
    # again: nothing new, nothing sent twice (the round's report comes after its deliveries)
    started, report = ask(standin, "/reindex", user=ADMIN, count=2)
    assert "语料没有变化" in report
    assert len(standin.pushed_to(f"oc_{READER}")) == 2
