"""The DingTalk channel end to end: the Stream client against a stand-in gateway on 127.0.0.1.

The stand-in hands out a ticket, sends robot messages as Stream frames, records the client's
acknowledgements and the replies posted to each message's session webhook. The service is
the real one over a temp copy of corpus/ (`HashEmbedder`), or a fake for very long answers.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bulletin_bot.channels import chat
from bulletin_bot.channels.dingtalk import DingTalkStream, webhook_allowed
from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.errors import ChannelConfigError
from bulletin_bot.service import BulletinService

from channel_helpers import LongAnswerService, Streamed, check_dialogues, squash, wait_for
from conftest import NEW_FACT, NEW_ISSUE, NEW_QUESTION, SAMPLE
from conversation_corpus import write_archive
from dingtalk_standin import CLIENT_ID, CLIENT_SECRET, MAX_TEXT_BYTES, TOPIC, DingTalkStandin

ADMIN = "manager4567"
READER = "staff0001"
QUESTION = "泗洪县理论宣讲做法"


def settings_for(root: Path, standin: DingTalkStandin, **overrides) -> Settings:
    values = dict(corpus=root / "corpus", index=root / "index", cache=root / "cache", model="hash",
                  dingtalk_client_id=CLIENT_ID, dingtalk_client_secret=CLIENT_SECRET,
                  dingtalk_api_base_url=standin.base_url, dingtalk_admins=frozenset({ADMIN}),
                  dingtalk_webhook_hosts=frozenset({"127.0.0.1"}))  # the stand-in's session webhooks
    return Settings(**{**values, **overrides})


def real_service(settings: Settings) -> BulletinService:
    settings.corpus.mkdir(parents=True)
    shutil.copy(SAMPLE, settings.corpus / SAMPLE.name)
    write_archive(settings.corpus)  # where a follow-up's right answer is known
    service = BulletinService(settings, embedder=HashEmbedder())
    service.reindex()
    return service


@contextmanager
def dingtalk_bot(settings: Settings, service, standin: DingTalkStandin):
    """The stream client in its own thread and event loop, as `bulletin-bot serve --channel dingtalk` runs it."""
    stream = DingTalkStream(settings, service, first_backoff=0.05)
    loop = asyncio.new_event_loop()
    stop: list[asyncio.Event] = []

    async def main() -> None:
        stop.append(asyncio.Event())
        await stream.run(stop[0])

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    before = stream.connections
    wait_for(lambda: stream.connections > before and standin.connected, what="the stream connection")
    try:
        yield stream
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(15)
        assert not thread.is_alive(), "the stream client did not stop"


@pytest.fixture(scope="module")
def standin():
    server = DingTalkStandin().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bot(standin, tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("dingtalk"), standin, questions_per_minute=500)  # every reply counts; the module's reader sends many
    service = real_service(settings)
    with dingtalk_bot(settings, service, standin) as stream:
        stream.service_ = service
        yield stream


def ask(standin: DingTalkStandin, text: str, user: str = READER, count: int = 1, **kwargs) -> list[str]:
    session, _ = standin.say(text, user, **kwargs)
    return standin.wait_texts(session, count)


def test_the_client_subscribes_to_the_robot_topic_and_acknowledges_every_frame(standin, bot):
    assert standin.opened[-1]["subscriptions"] == [{"type": "CALLBACK", "topic": TOPIC}]
    ping = standin.frame("SYSTEM", "ping", {"opaque": "9a3b-ping"})
    standin.send_frame(ping)
    pong = standin.ack_of(ping["headers"]["messageId"])
    assert pong["code"] == 200 and json.loads(pong["data"]) == {"opaque": "9a3b-ping"}
    event = standin.frame("EVENT", "chat_update_title", {"chatId": "x"})
    standin.send_frame(event)
    assert standin.ack_of(event["headers"]["messageId"])["code"] == 404
    session, message_id = standin.say("/help", READER)
    assert standin.ack_of(message_id)["code"] == 200
    assert standin.wait_texts(session)[0].startswith("怎么问")


def test_question_is_answered_with_the_verbatim_quote_citing_issue_455(standin, bot):
    texts = ask(standin, QUESTION)
    service = bot.service_
    top = service.ask(QUESTION).results[0]
    assert top.citation.issue == 455
    assert top.quote in texts[0] and top.citation.label() in texts[0]
    article = service.article(top.article_id)
    assert all(article.text[a:b] in top.quote for a, b in top.spans)


def test_an_unanswerable_question_gets_the_plain_not_found_reply(standin, bot):
    [reply] = ask(standin, "量子计算机芯片制程工艺路线图")
    assert reply.startswith("没有在已收录的简报中找到")


def test_not_found_says_why_above_the_closest_passages(standin, bot):
    text = "".join(ask(standin, "“蓝丝带”宣讲团怎么开展理论宣讲"))
    assert "简报中没有提到“蓝丝带”。" in text and text.index("简报中没有提到“蓝丝带”。") < text.index("没有找到直接回答")


def test_a_follow_up_is_read_in_its_conversation_and_two_users_never_mix(standin, bot):
    check_dialogues(lambda who, text: ask(standin, text, user=("talker1", "talker2")[who]))


def test_two_members_of_one_group_keep_their_own_conversations(standin, bot):
    check_dialogues(lambda who, text: ask(standin, f"@简报助手 {text}", user=("member1", "member2")[who],
                                          group=True, at=True))

def test_a_frame_for_another_robot_is_acknowledged_and_never_answered(standin, bot):
    session, message_id = standin.say(QUESTION, READER, robot_code="dingsomeoneelse")
    assert standin.ack_of(message_id)["code"] == 200
    ask(standin, "/help")  # answered after it: the other one had its chance
    assert standin.texts_to(session) == []


def test_a_forged_ticket_gets_no_connection(standin, bot):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus):
        connect(f"{standin.ws_url}?ticket=guessed-ticket", open_timeout=5)


def test_a_duplicate_delivery_is_answered_once(standin, bot):
    data = standin.robot_message("/latest", READER, msg_id="msgDuplicate01")
    for _ in range(3):  # redelivered after a lost ack: a new frame id, the same msgId
        standin.send_frame(standin.frame("CALLBACK", TOPIC, data))
    session = data["sessionWebhook"].split("session=")[1]
    standin.wait_texts(session)
    ask(standin, "/help")
    assert len(standin.texts_to(session)) == 1


def test_non_admin_reindex_is_refused(standin, bot):
    version = bot.service_.stats().version
    assert ask(standin, "/reindex") == [chat.ADMIN_ONLY]
    assert bot.service_.stats().version == version


def test_groups_answer_mentions_only(standin, bot):
    quiet, _ = standin.say(QUESTION, READER, group=True, at=False)
    texts = ask(standin, f"@简报助手 {QUESTION}", group=True, at=True)
    assert "第455期" in texts[0] and "@简报助手" not in texts[0]
    assert standin.texts_to(quiet) == []


def test_reconnects_after_a_drop_and_after_a_disconnect_request(standin, bot):
    opened = len(standin.opened)
    standin.drop()
    wait_for(lambda: len(standin.opened) > opened and standin.connected, what="a reconnect after the drop")
    assert "第455期" in ask(standin, QUESTION)[0]
    opened = len(standin.opened)
    bye = standin.frame("SYSTEM", "disconnect", {"reason": "gateway upgrade"})
    standin.send_frame(bye)
    assert standin.ack_of(bye["headers"]["messageId"])["code"] == 200
    wait_for(lambda: len(standin.opened) > opened and standin.connected, what="a reconnect after disconnect")
    assert ask(standin, "/help")[0].startswith("怎么问")


def test_backoff_grows_while_the_gateway_refuses(standin, tmp_path):
    settings = settings_for(tmp_path, standin, dingtalk_client_secret="wrong-secret")
    stream = DingTalkStream(settings, LongAnswerService(short=True), first_backoff=0.05)
    loop = asyncio.new_event_loop()

    async def main() -> None:
        stop = asyncio.Event()
        loop.call_later(1.0, stop.set)
        await stream.run(stop)

    started = len(standin.opened)
    calls_before = len(standin.calls_to("/v1.0/gateway/connections/open"))
    loop.run_until_complete(main())
    loop.close()
    attempts = len(standin.calls_to("/v1.0/gateway/connections/open")) - calls_before
    assert len(standin.opened) == started and stream.connections == 0
    assert 3 <= attempts <= 6, attempts  # 0.05, 0.1, 0.2, 0.4 s … not a busy loop, not giving up


def test_admin_upload_and_a_non_admins_file(standin, tmp_path):
    settings = settings_for(tmp_path, standin)
    service = real_service(settings)
    with dingtalk_bot(settings, service, standin):
        standin.files["dlcode456"] = NEW_ISSUE.encode()
        content = {"downloadCode": "dlcode456", "fileName": "456.txt"}
        assert ask(standin, "", msgtype="file", content=content) == [chat.UPLOAD_REFUSED]
        replies = ask(standin, "", user=ADMIN, msgtype="file", content=content, count=2)
        assert replies[0].startswith("✅ 已保存 456.txt") and "新增 1 个文件" in replies[1]
        answer = ask(standin, NEW_QUESTION)[0]
        assert "第456期" in answer and NEW_FACT in squash(answer)


def test_a_long_answer_arrives_split_and_never_refused(standin, tmp_path):
    with dingtalk_bot(settings_for(tmp_path, standin), LongAnswerService(), standin):
        session, _ = standin.say("宣讲", "staff_long")
        texts = wait_for(lambda: (lambda t: t if t and "第5篇文章" in t[-1] else None)(standin.texts_to(session)),
                         what="the whole answer")
    assert not standin.refused and len(texts) >= 3
    assert all(len(t.encode()) <= MAX_TEXT_BYTES for t in texts)
    assert squash("".join(texts)).count(squash(LongAnswerService.SENTENCE)) == 4 * 30 + 200


def test_missing_settings_are_named(tmp_path):
    with pytest.raises(ChannelConfigError, match="BULLETIN_BOT_DINGTALK_CLIENT_SECRET"):
        DingTalkStream(Settings(dingtalk_client_id="x"), LongAnswerService())


# --- issue #28: identities, reply hosts and big files ---------------------------------------------


def send(standin: DingTalkStandin, data: dict) -> str:
    standin.send_frame(standin.frame("CALLBACK", TOPIC, data))
    return parse_qs(urlsplit(data["sessionWebhook"]).query)["session"][0]


def test_an_admin_is_known_by_staff_id_only(standin, tmp_path):
    settings = settings_for(tmp_path, standin)
    service = real_service(settings)
    with dingtalk_bot(settings, service, standin):
        version = service.stats().version
        data = standin.robot_message("/reindex", "stranger9")
        del data["senderStaffId"]
        data["senderId"] = ADMIN  # the admin's id, where anyone's frame carries its own
        assert standin.wait_texts(send(standin, data)) == [chat.ADMIN_ONLY]
        assert service.stats().version == version


def test_replies_go_only_to_dingtalks_own_webhook_hosts(standin, tmp_path):
    settings = settings_for(tmp_path, standin)
    with dingtalk_bot(settings, real_service(settings), standin):
        data = standin.robot_message("/help", READER)
        data["sessionWebhook"] = data["sessionWebhook"].replace("127.0.0.1", "localhost")  # same server, other name
        elsewhere = send(standin, data)
        ask(standin, "/help")  # a genuine message after it is answered
        assert standin.texts_to(elsewhere) == []
    hosts = Settings().dingtalk_webhook_hosts
    assert webhook_allowed("https://oapi.dingtalk.com/robot/sendBySession?session=x", hosts)
    assert not webhook_allowed("https://oapi.dingtalk.com.evil.example/x", hosts)
    assert not webhook_allowed("file:///etc/passwd", frozenset({""}))
    # FINDINGS F11: never in clear text to DingTalk's hosts; plain http only to a loopback stand-in
    assert not webhook_allowed("http://oapi.dingtalk.com/robot/sendBySession?session=x", hosts)
    assert not webhook_allowed("http://10.0.0.5/x", frozenset({"10.0.0.5"}))
    assert webhook_allowed("http://127.0.0.1:8000/x", frozenset({"127.0.0.1"}))


def test_a_file_past_the_upload_limit_is_not_read_whole(standin, tmp_path):
    settings = settings_for(tmp_path, standin, max_upload_mb=1)
    service = real_service(settings)
    with dingtalk_bot(settings, service, standin):
        big = Streamed(64 * 1024 * 1024)  # 64 MB, announced by no Content-Length
        standin.files["dlcodebig"] = big
        replies = ask(standin, "", user=ADMIN, msgtype="file", content={"downloadCode": "dlcodebig", "fileName": "456.txt"})
        assert "超过上限" in replies[0]
        wait_for(lambda: big.done, what="the stand-in to stop sending")
        assert big.sent < 16 * 1024 * 1024, f"the bot read {big.sent} bytes of a 1 MB-limited upload"
        assert not (settings.corpus / "456.txt").exists()


def test_a_frame_that_is_not_an_object_is_ignored_and_the_stream_goes_on(standin, tmp_path):
    """FINDINGS F11: a frame `[1]` raised AttributeError, which dropped and reopened the connection."""
    settings = settings_for(tmp_path, standin)
    with dingtalk_bot(settings, real_service(settings), standin):
        ask(standin, "/help")
        handshakes = standin.handshakes
        for frame in ([1], "x", 5, None):
            standin.send_frame(frame)
        assert ask(standin, "/help")[0].startswith("怎么问")
        assert standin.handshakes == handshakes, "the connection was not dropped"
