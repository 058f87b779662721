"""The conversation every chat channel shares, driven through a channel that only records replies."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bulletin_bot.channels import chat
from bulletin_bot.channels.chat import ChatBot, Incoming, Markup, pack, parse_command, quote_blocks, utf8_len
from bulletin_bot.channels.feishu import MARKUP as FEISHU
from bulletin_bot.channels.wecom import MARKUP as WECOM
from bulletin_bot.config import Settings
from bulletin_bot.errors import IndexInvalid, IndexMissing
from bulletin_bot.models import Citation, IndexReport, Quote

from channel_helpers import LongAnswerService, squash


class Recorded:
    name = "test"
    markup = Markup("test", 300, utf8_len)

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: Incoming, texts) -> None:
        self.sent.extend(texts)

    async def download(self, message: Incoming) -> bytes:
        return b""


class NoIndex(LongAnswerService):
    def __init__(self, error: Exception) -> None:
        super().__init__(short=True)
        self.error = error
        self.gate = threading.Event()

    def ask(self, question, top_k=5, offset=0):
        raise self.error

    def reindex(self, progress=None):
        self.gate.wait(10)
        return IndexReport(True, "v1", 1, 0, 0, 0, 1, 1, 1, 1, 0, 0.1)


def talk(bot: ChatBot, *texts: str, user: str = "u1", private: bool = True) -> list[str]:
    channel = bot.channel

    async def main() -> None:
        for text in texts:
            await bot.handle(Incoming(user=user, chat=f"c-{user}", text=text, private=private))
        await asyncio.gather(*bot.tasks)

    before = len(channel.sent)
    asyncio.run(main())
    return channel.sent[before:]


def test_no_index_and_an_index_being_rebuilt_get_plain_replies():
    service = NoIndex(IndexMissing("no index in /srv/secret/index"))
    bot = ChatBot(service, Settings(), Recorded(), frozenset({"admin"}))
    assert talk(bot, "宣讲") == [chat.INDEX_MISSING]
    bot.runner.request()  # a first build is running now
    assert talk(bot, "宣讲") == [chat.INDEX_REBUILDING]
    service.gate.set()
    assert bot.runner.wait(10)
    invalid = ChatBot(NoIndex(IndexInvalid("built with model e5 at /srv/secret")), Settings(), Recorded(), frozenset())
    replies = talk(invalid, "宣讲")
    assert replies == [chat.INDEX_MISSING] and "/srv/secret" not in replies[0]


def test_group_chatter_is_ignored_and_commands_are_recognised():
    bot = ChatBot(LongAnswerService(short=True), Settings(), Recorded(), frozenset())
    assert talk(bot, "宣讲", private=False) == []
    assert parse_command("/issue 455") == ("issue", "455")
    assert parse_command("/ISSUE@bot 455") == ("issue", "455")
    assert parse_command("目录 455") == ("issue", "455")
    assert parse_command("更多") == ("more", "")
    assert parse_command("/nonsense") == ("help", "")
    assert parse_command("最新一期讲了什么") is None, "a question that starts like a command is a question"
    assert parse_command("更多的宣讲做法") is None


def test_rate_limit_is_per_user_and_per_platform():
    bot = ChatBot(LongAnswerService(short=True), Settings(questions_per_minute=1), Recorded(), frozenset())
    assert talk(bot, "一")[0].startswith("🔎")
    assert "太频繁" in talk(bot, "二")[0]
    assert talk(bot, "三", user="u2")[0].startswith("🔎")


def test_a_user_over_the_limit_is_told_once_and_更多_counts_too():
    """A fifth fresh attack: 200 group messages got 200 replies (100 没有更多结果了, 80 refusals),
    spending the group's sending quota for everyone."""
    bot = ChatBot(LongAnswerService(short=True), Settings(questions_per_minute=2), Recorded(), frozenset())
    assert talk(bot, "更多") == ["没有更多结果了。"]  # counted: one of two
    assert talk(bot, "一")[0].startswith("🔎")
    replies = [talk(bot, q) for q in ("二", "更多", "三", "更多")]
    assert "太频繁" in replies[0][0] and replies[1:] == [[], [], []]  # told once, then not answered
    assert talk(bot, "四", user="u2")[0].startswith("🔎")


def _quote(text: str) -> Quote:
    return Quote(Citation("工作简报", 455, "2023-12-10", "经验交流", "标题<a>", "455.txt", 1), text, ((0, 1),), 1.0, 1)


@hypothesis_settings(max_examples=40, deadline=None)
@given(text=st.text(alphabet="理论宣讲。！？；\n<>a/&\"😀 ", min_size=1, max_size=4000))
def test_every_passage_fits_every_platform_and_loses_nothing(text):
    for markup in (WECOM, FEISHU, Markup("tiny", 120, utf8_len)):
        blocks = quote_blocks(_quote(text), 1, markup)
        messages = pack(blocks, markup)
        assert all(markup.measure(m) <= markup.limit for m in messages)
        shown = "".join(messages).replace("\u200b", "")
        assert squash(text) in squash(shown)


def test_a_huge_question_is_cut_to_fit():
    messages = pack(["🔎 " + "问" * 5000], WECOM)
    assert all(utf8_len(m) <= 2048 for m in messages) and "".join(messages).count("问") == 5000


@pytest.mark.parametrize("text", ['<a href="x">y</a>', "<A HREF='x'>", "</a>", "<a>", "a<b>c"])
def test_wecom_links_never_form_from_user_text(text):
    escaped = WECOM.escape(text)
    assert "<a" not in escaped.lower().replace("<\u200ba", "") and escaped.replace("\u200b", "") == text


def test_channel_settings_come_from_env_dotenv_and_toml(tmp_path):
    from bulletin_bot.config import load_settings

    (tmp_path / ".env").write_text("BULLETIN_BOT_WECOM_CORP_ID=ww123\nBULLETIN_BOT_WECOM_ADMINS=ZhangSan, LiSi\n",
                                   encoding="utf-8")
    (tmp_path / "bulletin-bot.toml").write_text(
        'BULLETIN_BOT_WECOM_AGENT_ID = 1000002\nfeishu_admins = ["ou_a", "ou_b"]\nBULLETIN_BOT_PORT = 9001\n',
        encoding="utf-8")
    settings = load_settings(env={"BULLETIN_BOT_DINGTALK_ADMINS": "manager1;manager2"}, cwd=tmp_path)
    assert settings.wecom_corp_id == "ww123" and settings.wecom_agent_id == "1000002" and settings.port == 9001
    assert settings.wecom_admins == {"ZhangSan", "LiSi"} and settings.feishu_admins == {"ou_a", "ou_b"}
    assert settings.dingtalk_admins == {"manager1", "manager2"}
    assert settings.wecom_api_base_url == "https://qyapi.weixin.qq.com"
    assert settings.dingtalk_api_base_url == "https://api.dingtalk.com"
    assert settings.feishu_api_base_url == "https://open.feishu.cn"
