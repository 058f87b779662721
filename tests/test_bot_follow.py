"""Following and compiling through the Telegram bot, end to end against the Bot API stand-in.

The real bot over the real service (corpus/455.txt, HashEmbedder). An admin uploads the new
issue (conftest's NEW_ISSUE, 第456期) while the bot runs; followers receive what answers them.
"""

from __future__ import annotations

import io

import pytest
from docx import Document

from bulletin_bot.bot import build_application
from bulletin_bot.subscriptions import SubscriptionStore, path_for

from botapi_standin import BotAPIStandin, User
from conftest import NEW_ISSUE
from test_bot import ADMIN, READER, TOKEN, Session, check_message, make_service, make_settings, running

FOLLOWER = User(4004, "关注者", "follower")
BLOCKER = User(5005, "拉黑者", "blocker")
CITATION = "第456期 · 2023-12-20 · 【经验交流】 宿迁市：“红石榴”宣讲团走进骆马湖渔村"


@pytest.fixture(scope="module")
def standin():
    with BotAPIStandin(TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def bot(standin, tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("follow-bot"), standin)
    service = make_service(settings)
    app = build_application(settings, service)
    with running(app, standin):
        yield service


def test_help_lists_the_follow_and_compile_commands(standin, bot):
    shown = check_message(Session(standin, READER).ask("/help")[0]["html"])
    for command in ("/follow 主题", "/follow 全部", "/following", "/unfollow 主题", "/compile 主题 2023-01 2023-12"):
        assert command in shown


def test_a_follower_receives_the_new_issue_s_article_once_with_its_citation(standin, bot):
    follower, blocker, admin = Session(standin, FOLLOWER), Session(standin, BLOCKER), Session(standin, ADMIN)
    assert "已关注「红石榴宣讲团」" in follower.say("/follow 红石榴宣讲团")[0]["text"]
    assert "已关注每一期新简报" in follower.say("关注 全部")[0]["text"]  # plain words work too
    assert "已关注「红石榴宣讲团」" in blocker.say("关注 红石榴宣讲团")[0]["text"]
    standin.blocked.add(BLOCKER.id)
    before = follower.seen()
    standin.send_document("456.txt", NEW_ISSUE.encode(), ADMIN)
    standin.wait_for(lambda: any("索引已更新" in m["text"] for m in standin.bot_messages(ADMIN.id)),
                     timeout=60, what="the re-index report")
    delivered = standin.wait_messages(FOLLOWER.id, 2, after=before, timeout=30)
    standin.idle()
    assert len(standin.bot_messages(FOLLOWER.id)) == before + 2  # one per subscription, nothing more
    topic = next(m for m in delivered if "关注「红石榴宣讲团」" in m["text"])
    shown = check_message(topic["html"])
    assert CITATION in shown and "开展流动宣讲136场" in shown and "第455期" not in shown
    series = next(m for m in delivered if "新一期简报" in m["text"] and m is not topic)
    assert "第456期 · 2023-12-20" in series["text"] and "宿迁市：“红石榴”宣讲团走进骆马湖渔村" in series["text"]
    # the user who blocked the bot is dropped
    store = SubscriptionStore(path_for(bot.settings.index))
    assert store.following("telegram", str(BLOCKER.id)) == []
    # a second re-index (nothing new) sends nothing again
    admin.say("/reindex", count=1)
    standin.wait_for(lambda: any("语料没有变化" in m["text"] for m in standin.bot_messages(ADMIN.id)),
                     timeout=60, what="the second report")
    standin.idle()
    assert len(standin.bot_messages(FOLLOWER.id)) == before + 2


def test_following_lists_and_unfollow_removes(standin, bot):
    reader = Session(standin, READER)
    reader.say("/follow 理论宣讲")
    listed = reader.say("/following")[0]["text"]
    assert "你关注了 1 项" in listed and "· 理论宣讲" in listed
    assert "已取消关注「理论宣讲」" in reader.say("取消关注 理论宣讲")[0]["text"]
    assert "你没有关注「理论宣讲」" in reader.say("/unfollow 理论宣讲")[0]["text"]
    assert "你还没有关注任何主题" in reader.say("我的关注")[0]["text"]


def test_the_limit_per_user_is_said_plainly(standin, bot):
    user = Session(standin, User(6006, "多关注", "many"))
    for n in range(20):
        assert "已关注" in user.say(f"/follow 主题{n}")[0]["text"]
    refused = user.say("/follow 再多一个")[0]["text"]
    assert "每人最多关注 20 个主题，已经关注了 20 个" in refused and "取消关注" in refused


def test_admins_see_the_counts(standin, bot):
    Session(standin, READER).say("/follow 乡村振兴")
    counts = Session(standin, ADMIN).say("/followers")[0]["text"]
    assert "关注统计" in counts and "telegram：" in counts


def test_compile_replies_with_the_docx(standin, bot):
    reader = Session(standin, READER)
    seen = len(standin.documents.get(READER.id, []))
    standin.say("/compile 理论宣讲 2023-01 2023-12 段落", READER)
    standin.wait_for(lambda: len(standin.documents.get(READER.id, [])) > seen, timeout=30, what="the document")
    name, data, caption = standin.documents[READER.id][-1]
    assert name.endswith(".docx") and "素材汇编「理论宣讲」" in caption
    doc = Document(io.BytesIO(data))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "素材汇编：理论宣讲" and "只收录回答主题的段落" in texts
    assert any(t.startswith("第455期 · 2023-12-10 · 【经验交流】") for t in texts)
    assert "用法：/compile" in reader.say("/compile 理论宣讲")[0]["text"]


def test_an_index_built_by_another_process_is_delivered_by_the_running_bot(tmp_path, monkeypatch):
    from bulletin_bot.bot import reindex as bot_reindex
    from bulletin_bot.embedding import HashEmbedder
    from bulletin_bot.service import BulletinService

    monkeypatch.setattr(bot_reindex, "REFRESH_EVERY", 1.5)
    with BotAPIStandin(TOKEN) as standin:
        settings = make_settings(tmp_path, standin)
        service = make_service(settings)
        app = build_application(settings, service)
        with running(app, standin):
            follower = Session(standin, FOLLOWER)
            assert "已关注" in follower.say("/follow 红石榴宣讲团")[0]["text"]
            before = follower.seen()
            # `bulletin-bot index` in another process: its own service over the same folders
            (settings.corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
            assert BulletinService(settings, embedder=HashEmbedder()).reindex().added == 1
            # a reader's command loads the new version before the watcher looks: still delivered
            reader = Session(standin, READER)
            assert "第456期" in reader.ask("/latest")[0]["text"]
            [delivered] = standin.wait_messages(FOLLOWER.id, 1, after=before, timeout=30)
            assert CITATION in check_message(delivered["html"])
            standin.idle()
            assert len(standin.bot_messages(FOLLOWER.id)) == before + 1


def test_one_compile_runs_at_a_time(tmp_path):
    """FINDINGS F2: the bot ran up to eight /compile at once (each a question per month and a .docx)."""
    from bulletin_bot import follow_text

    from channel_helpers import Gated
    from test_bot import OTHER

    with BotAPIStandin(TOKEN) as standin:
        settings = make_settings(tmp_path, standin)
        gated = Gated(make_service(settings))
        with running(build_application(settings, gated), standin):
            standin.say("/compile 理论宣讲 2023-01 2023-12", READER)
            standin.wait_for(lambda: gated.asking == 1, what="the first compile")
            assert Session(standin, READER).say("/compile 理论宣讲 2023-01 2023-12")[0]["text"] == follow_text.COMPILE_YOURS
            assert Session(standin, OTHER).say("/compile 理论宣讲 2023-01 2023-12")[0]["text"] == follow_text.COMPILE_BUSY
            assert gated.asking == 1
            gated.gate.set()
            standin.wait_for(lambda: standin.documents.get(READER.id), timeout=30, what="the document")


def test_a_control_character_in_a_compile_topic_is_refused_plainly(standin, bot):
    """FINDINGS F7: an ESC in a /compile topic failed in the .docx after the whole compile."""
    reply = Session(standin, READER).say("/compile 理论\x1b宣讲 2023-01 2023-12")[0]["text"]
    assert "控制字符" in reply and "U+001B" in reply


def test_a_slash_in_a_compile_topic_still_sends_the_docx(standin, bot):
    """FINDINGS2 L6: `/compile 理论/宣讲 …` compiled, then failed writing 素材汇编-理论/宣讲.docx
    (no such folder) and the user got "抱歉，处理这条消息时出了错"."""
    seen = len(standin.documents.get(READER.id, []))
    standin.say("/compile 理论/宣讲 2023-01 2023-12", READER)
    standin.wait_for(lambda: len(standin.documents.get(READER.id, [])) > seen, timeout=30, what="the document")
    name, _, caption = standin.documents[READER.id][-1]
    assert name == "素材汇编-理论_宣讲.docx" and "素材汇编「理论/宣讲」" in caption
