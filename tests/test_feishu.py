"""The Feishu channel end to end: a Feishu stand-in pushes encrypted, signed events and records replies.

The bot is the real event server (uvicorn) over the real service (a temp copy of corpus/,
indexed with `HashEmbedder`), or over a fake where an answer must be longer than the corpus
gives. Nothing here leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bulletin_bot.channels import chat
from bulletin_bot.channels.feishu import EVENT_PATH, create_app
from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.service import BulletinService

from channel_helpers import (LongAnswerService, Streamed, check_dialogues, declared_length_reply, post_chunked, serve_app,
                             slow_body_reply, squash, wait_for)
from conftest import NEW_FACT, NEW_ISSUE, NEW_QUESTION, SAMPLE
from conversation_corpus import write_archive
from feishu_standin import (APP_ID, APP_SECRET, BOT_OPEN_ID, ENCRYPT_KEY, MAX_POST_BYTES, VERIFICATION_TOKEN,
                            FeishuStandin, feishu_encrypt)

ADMIN = "ou_admin000000001"
READER = "ou_reader00000002"
QUESTION = "泗洪县理论宣讲做法"


def settings_for(root: Path, standin: FeishuStandin, encrypt_key: str = ENCRYPT_KEY, **overrides) -> Settings:
    values = dict(corpus=root / "corpus", index=root / "index", cache=root / "cache", model="hash",
                  feishu_app_id=APP_ID, feishu_app_secret=APP_SECRET, feishu_verification_token=VERIFICATION_TOKEN,
                  feishu_encrypt_key=encrypt_key, feishu_api_base_url=standin.base_url,
                  feishu_admins=frozenset({ADMIN}))
    return Settings(**{**values, **overrides})


def real_service(settings: Settings) -> BulletinService:
    settings.corpus.mkdir(parents=True)
    shutil.copy(SAMPLE, settings.corpus / SAMPLE.name)
    write_archive(settings.corpus)  # where a follow-up's right answer is known
    service = BulletinService(settings, embedder=HashEmbedder())
    service.reindex()
    return service


@contextmanager
def feishu_bot(settings: Settings, service, standin: FeishuStandin):
    with serve_app(create_app(settings, service)) as url:
        standin.events_url = url + EVENT_PATH
        yield


@pytest.fixture(scope="module")
def standin():
    server = FeishuStandin().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bot(standin, tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("feishu"), standin, questions_per_minute=500)  # every reply counts; the module's reader sends many
    service = real_service(settings)
    with feishu_bot(settings, service, standin):
        yield service


def ask(standin: FeishuStandin, text: str, user: str = READER, count: int = 1, **kwargs) -> list[str]:
    message_id, response = standin.say(text, user, **kwargs)
    assert response.status_code == 200
    return standin.wait_texts(message_id, count)


def test_url_verification_challenge_encrypted(standin, bot):
    challenge = {"challenge": "1b6aef1a-401f-406a-be41-f48911eabcef", "token": VERIFICATION_TOKEN,
                 "type": "url_verification"}
    r = standin.push(challenge, sign=False)  # Feishu does not sign the challenge, it encrypts it
    assert r.status_code == 200 and r.json() == {"challenge": challenge["challenge"]}
    assert standin.push({**challenge, "token": "someone-else"}, sign=False).status_code == 401
    assert standin.push(challenge, encrypt_key="another key", sign=False).status_code == 401


def test_question_is_answered_with_the_verbatim_quote_citing_issue_455(standin, bot):
    texts = ask(standin, QUESTION)
    top = bot.ask(QUESTION).results[0]
    assert top.citation.issue == 455
    assert top.quote in texts[0] and top.citation.label() in texts[0]
    article = bot.article(top.article_id)
    assert all(article.text[a:b] in top.quote for a, b in top.spans)


def test_an_unanswerable_question_gets_the_plain_not_found_reply(standin, bot):
    [reply] = ask(standin, "量子计算机芯片制程工艺路线图")
    assert reply.startswith("没有在已收录的简报中找到")


def test_not_found_says_why_above_the_closest_passages(standin, bot):
    text = "".join(ask(standin, "“蓝丝带”宣讲团怎么开展理论宣讲"))
    assert "简报中没有提到“蓝丝带”。" in text and text.index("简报中没有提到“蓝丝带”。") < text.index("没有找到直接回答")


def test_a_follow_up_is_read_in_its_conversation_and_two_users_never_mix(standin, bot):
    check_dialogues(lambda who, text: ask(standin, text, user=("ou_talker1", "ou_talker2")[who]))


def test_two_members_of_one_group_keep_their_own_conversations(standin, bot):
    check_dialogues(lambda who, text: ask(standin, text, user=("ou_member1", "ou_member2")[who],
                                          chat_type="group", mention=BOT_OPEN_ID))

def test_forged_or_wrongly_signed_events_are_refused_and_never_answered(standin, bot):
    before = len(standin.replies)
    event = standin.message_event(QUESTION, READER)
    assert standin.push(event, signature="0" * 64).status_code == 401
    assert standin.push(event, sign=False).status_code == 401
    assert standin.push(event, encrypt_key="another key").status_code == 401
    assert standin.push(event, encrypt_key="").status_code == 401  # plain text while we expect encryption
    assert standin.push(standin.message_event(QUESTION, READER, token="another-token")).status_code == 401
    assert standin.push(event, timestamp="1600000000").status_code == 401  # signed right, but a replay
    body = json.dumps({"encrypt": feishu_encrypt(json.dumps(event), ENCRYPT_KEY)}).encode()
    replayed = httpx.post(standin.events_url, content=body + b" ", headers={  # body changed after signing
        "X-Lark-Request-Timestamp": "1", "X-Lark-Request-Nonce": "n", "X-Lark-Signature": "f" * 64})
    assert replayed.status_code == 401
    ask(standin, "/help")  # a genuine event after them is answered, and it is the only answer
    assert len(standin.replies) == before + 1


def test_a_duplicate_delivery_is_answered_once(standin, bot):
    event = standin.message_event("/latest", READER, event_id="ev-duplicate-1")
    message_id = event["event"]["message"]["message_id"]
    for _ in range(3):
        assert standin.push(event).status_code == 200
    standin.wait_texts(message_id)
    ask(standin, "/help")  # later events are still answered, so the first one had its chance to repeat
    assert len(standin.texts_to(message_id)) == 1


def test_non_admin_reindex_is_refused(standin, bot):
    version = bot.stats().version
    assert ask(standin, "/reindex") == [chat.ADMIN_ONLY]
    assert bot.stats().version == version


def test_groups_answer_mentions_of_the_bot_only(standin, bot):
    message_id, _ = standin.say(QUESTION, "ou_member1", chat_type="group")
    other_id, _ = standin.say(QUESTION, "ou_member1", chat_type="group", mention="ou_someone_else")
    texts = ask(standin, QUESTION, user="ou_member1", chat_type="group", mention=BOT_OPEN_ID)
    assert "第455期" in texts[0] and "@_user_1" not in texts[0]
    assert standin.texts_to(message_id) == [] and standin.texts_to(other_id) == []


def test_user_text_stays_text(standin, bot):
    texts = ask(standin, '<at user_id="all">所有人</at> 理论宣讲')
    assert '<at user_id="all">所有人</at>' in texts[0]  # shown literally inside a text element, not a mention
    assert not standin.refused


def test_admin_uploads_an_issue_and_it_becomes_answerable(standin, tmp_path):
    settings = settings_for(tmp_path, standin)
    service = real_service(settings)
    with feishu_bot(settings, service, standin):
        standin.files["file_v2_456"] = NEW_ISSUE.encode()
        file_content = {"file_key": "file_v2_456", "file_name": "456.txt"}
        refused = ask(standin, "", user=READER, message_type="file", content=file_content)
        assert refused == [chat.UPLOAD_REFUSED] and not (settings.corpus / "456.txt").exists()
        replies = ask(standin, "", user=ADMIN, message_type="file", content=file_content, count=2)
        assert replies[0].startswith("✅ 已保存 456.txt") and "新增 1 个文件" in replies[1]
        answer = ask(standin, NEW_QUESTION)
        assert "第456期" in answer[0] and NEW_FACT in squash(answer[0])


class ManyResults(LongAnswerService):
    def __init__(self) -> None:
        self.quotes = [f"第{i}条结果讲的是理论学习。" for i in range(1, 9)]


def test_more_shows_the_next_results(standin, tmp_path):
    with feishu_bot(settings_for(tmp_path, standin), ManyResults(), standin):
        first = "".join(ask(standin, "理论学习", user="ou_more"))
        assert "⑤" in first and "⑥" not in first and "更多" in first
        following = "".join(ask(standin, "更多", user="ou_more"))
        assert "⑥" in following and "第6条结果" in following and "①" not in following
        assert ask(standin, "更多", user="ou_more") == [chat.NO_MORE]


def test_a_long_answer_arrives_split_and_never_refused(standin, tmp_path):
    service = LongAnswerService()
    service.quotes = [q * 8 for q in service.quotes]  # past 30 KB in all, one passage alone too
    with feishu_bot(settings_for(tmp_path, standin), service, standin):
        message_id, _ = standin.say("宣讲", "ou_long")
        texts = wait_for(lambda: (lambda t: t if t and "第5篇文章" in t[-1] else None)(standin.texts_to(message_id)),
                         what="the whole answer")
    assert not standin.refused and len(texts) >= 3
    assert all(len(r["body"]["content"].encode()) < MAX_POST_BYTES for r in standin.replies)
    assert squash("".join(texts)).count(squash(LongAnswerService.SENTENCE)) == (4 * 30 + 200) * 8


def test_plain_mode_checks_the_verification_token(tmp_path):
    standin = FeishuStandin(encrypt_key="").start()
    try:
        plain = settings_for(tmp_path, standin, encrypt_key="", feishu_allow_plain=True)  # the explicit, unsafe opt-in
        with feishu_bot(plain, LongAnswerService(short=True), standin):
            challenge = {"challenge": "c-1", "token": VERIFICATION_TOKEN, "type": "url_verification"}
            assert standin.push(challenge).json() == {"challenge": "c-1"}
            forged = standin.message_event("宣讲", READER, token="guessed")
            assert standin.push(forged).status_code == 401
            texts = ask(standin, "宣讲")
            assert "第455期" in texts[0]
            assert len(standin.replies) == 1
            standin.expire_tokens()
            assert ask(standin, "/help")[0].startswith("怎么问")  # a new token was fetched and the reply went through
    finally:
        standin.stop()


# --- issue #28: identities, paths and big files -----------------------------------------------------


def test_a_message_id_holding_path_segments_sends_nothing_anywhere(standin, tmp_path):
    settings = settings_for(tmp_path, standin)
    with feishu_bot(settings, real_service(settings), standin):
        event = standin.message_event("/help", READER)
        event["event"]["message"]["message_id"] = "om_1/../../../open-apis/other/v1/steal"
        before = len(standin.calls)
        assert standin.push(event).status_code == 200
        ask(standin, "/help")  # a genuine event after it is answered, and is the only call made
        paths = [c[1] for c in standin.calls[before:]]
        assert not any("other" in p or ".." in p for p in paths), paths


def test_an_admin_is_known_by_open_id_not_by_another_tenants_user_id(standin, tmp_path):
    settings = settings_for(tmp_path, standin, feishu_admins=frozenset({ADMIN, "u_boss"}))
    service = real_service(settings)
    with feishu_bot(settings, service, standin):
        version = service.stats().version
        event = standin.message_event("/reindex", "ou_stranger0001")
        event["header"]["tenant_key"] = event["event"]["sender"]["tenant_key"] = "another-tenant"
        event["event"]["sender"]["sender_id"]["user_id"] = "u_boss"  # the admin's user_id, elsewhere
        assert standin.push(event).status_code == 200
        assert standin.wait_texts(event["event"]["message"]["message_id"]) == [chat.ADMIN_ONLY]
        assert service.stats().version == version


def test_with_a_tenant_key_set_another_tenants_events_are_refused(standin, tmp_path):
    settings = settings_for(tmp_path, standin, feishu_admins=frozenset({ADMIN}), feishu_tenant_key="tk")
    service = real_service(settings)
    with feishu_bot(settings, service, standin):
        version = service.stats().version
        event = standin.message_event("/reindex", ADMIN)  # the admin's open_id, from another tenant
        event["header"]["tenant_key"] = event["event"]["sender"]["tenant_key"] = "another-tenant"
        assert standin.push(event).status_code == 401
        assert ask(standin, "/help")  # our own tenant is answered
        assert service.stats().version == version
        assert not any(event["event"]["message"]["message_id"] in c[1] for c in standin.calls)


def test_a_file_past_the_upload_limit_is_not_read_whole(standin, tmp_path):
    settings = settings_for(tmp_path, standin, max_upload_mb=1)
    service = real_service(settings)
    with feishu_bot(settings, service, standin):
        big = Streamed(64 * 1024 * 1024)  # 64 MB, announced by no Content-Length
        standin.files["file_v2_big"] = big
        replies = ask(standin, "", user=ADMIN, message_type="file",
                      content={"file_key": "file_v2_big", "file_name": "456.txt"})
        assert "超过上限" in replies[0]
        wait_for(lambda: big.done, what="the stand-in to stop sending")
        assert big.sent < 16 * 1024 * 1024, f"the bot read {big.sent} bytes of a 1 MB-limited upload"
        assert not (settings.corpus / "456.txt").exists()


# --- /tmp/FINDINGS.md: bodies read within bounds -------------------------------------------------


def test_a_huge_unsigned_body_is_refused_before_it_is_read(standin, tmp_path, monkeypatch):
    """F3 and F6: a 300 MB event body was read whole before any check; a slow one was never cut."""
    from bulletin_bot import http_limits

    settings = settings_for(tmp_path, standin)
    with feishu_bot(settings, LongAnswerService(short=True), standin):
        reply, sent = post_chunked(standin.events_url, 64 * 1024 * 1024)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:80]
        assert sent < 16 * 1024 * 1024, f"{sent} bytes went in before the refusal"
        assert declared_length_reply(standin.events_url, 300 * 1024 * 1024).startswith(b"HTTP/1.1 413")
        monkeypatch.setattr(http_limits, "BODY_GRACE", 1.0)  # the rule as shipped, over 1 s instead of 10
        assert slow_body_reply(standin.events_url).startswith(b"HTTP/1.1 408")
        assert ask(standin, "/help")[0].startswith("怎么问"), "the bot still answers"


def test_without_an_encrypt_key_the_channel_does_not_start_unless_told(standin, tmp_path, caplog):
    """F4: without an Encrypt Key anyone with the Verification Token sent /reindex as the admin;
    the channel started without a word."""
    from bulletin_bot.errors import ChannelConfigError

    with pytest.raises(ChannelConfigError, match="BULLETIN_BOT_FEISHU_ENCRYPT_KEY.*BULLETIN_BOT_FEISHU_ALLOW_PLAIN"):
        create_app(settings_for(tmp_path, standin, encrypt_key=""), LongAnswerService(short=True))
    with caplog.at_level("WARNING"):
        create_app(settings_for(tmp_path, standin, encrypt_key="", feishu_allow_plain=True), LongAnswerService(short=True))
    assert any("UNSAFE" in r.getMessage() for r in caplog.records)


def test_the_feishu_channel_without_an_encrypt_key_refuses_to_start(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "BULLETIN_BOT_INDEX": str(tmp_path / "index"), "BULLETIN_BOT_FEISHU_APP_ID": "cli_x",
           "BULLETIN_BOT_FEISHU_APP_SECRET": "s", "BULLETIN_BOT_FEISHU_VERIFICATION_TOKEN": "t"}
    done = subprocess.run([sys.executable, "-m", "bulletin_bot.cli", "serve", "--channel", "feishu"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "BULLETIN_BOT_FEISHU_ENCRYPT_KEY" in done.stderr, done.stderr[-500:]
