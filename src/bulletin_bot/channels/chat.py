"""What every chat channel (WeCom, DingTalk, Feishu) does with a message, whatever the platform.

A channel module only speaks its platform's protocol: it checks and decrypts callbacks (or reads
stream frames), turns each user message into an `Incoming`, hands it to `ChatBot.handle`, and
implements `send` (and `download` where the platform delivers files to a bot). Everything else
lives here: which texts are questions, the commands, admin checks, per-user rate limits, the
"index is being rebuilt" and "not found" replies, and formatting answers with their citations
for the platform's `Markup` (how text is escaped, how message size is counted, the limit).

Messages are plain text with the platform's escaping: no platform here renders a quote block
the way Telegram does, and plain text is what all three show the same way in every client.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any, Protocol

from ..chat_text import kept_heading, number, scope_label, shorten, split_sentences
from ..config import Settings
from ..conversation import understood_line
from ..errors import CallbackRejected, IndexInvalid, IndexMissing, UploadTooLarge
from ..follow_text import HELP_LINES as FOLLOW_HELP
from ..follow_text import compile_turns, parse_plain
from ..jobs import JobOutcome, ReindexRunner, report_summary
from ..models import CLOSEST_HEADING, Answer, IndexStatus, IssueSummary, IssueView, Progress, Quote
from ..question_check import is_question_problem
from ..numbers import number_in, parse_number
from ..rate_limit import RateLimit
from ..readers import SUPPORTED_LABEL, SUPPORTED_SUFFIXES
from . import follow

log = logging.getLogger(__name__)

TOP_K = 5  # results per answer; 更多 shows the next TOP_K
QUERIES_KEPT = 2000  # conversations whose last question 更多 remembers
SEP = "\n\n"
SEEN_KEPT = 5000  # message ids remembered for de-duplication


@dataclass(frozen=True)
class Markup:
    """How one platform shows a text message: the escaping, how size is counted, the limit."""

    name: str
    limit: int  # the largest message, in `measure` units
    measure: Callable[[str], int]
    escape: Callable[[str], str] = lambda text: text


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


@dataclass(frozen=True)
class Incoming:
    """One user message, as every channel hands it over."""

    user: str  # the platform's user id (what the admin settings name)
    chat: str  # the conversation (a private chat or a group)
    text: str
    private: bool
    mentioned: bool = False  # in a group: the bot was mentioned
    message_id: str = ""
    file_name: str = ""  # set for a file message
    file_size: int = 0  # as the platform announces it; 0 when unknown
    extra: dict[str, Any] = field(default_factory=dict)  # what the channel needs to reply or download


class Channel(Protocol):
    name: str
    markup: Markup

    async def send(self, message: Incoming, texts: Sequence[str]) -> None:
        """Reply to `message` (or to its conversation) with each text, in order."""

    async def download(self, message: Incoming) -> bytes:
        """The file of a file message."""


class Seen:
    """Ids handled recently (platforms deliver again what they think went unanswered)."""

    def __init__(self, kept: int = SEEN_KEPT) -> None:
        self.kept = kept
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, key: str) -> bool:
        if key in self._ids:
            return False
        self._ids[key] = None
        while len(self._ids) > self.kept:
            self._ids.popitem(last=False)
        return True



REPLAY_WINDOW = 3600  # seconds: a signed callback older than this (or as far ahead) is a replay


def check_fresh(timestamp: str, now: float | None = None) -> None:
    """Refuse a signed callback whose (signed) timestamp is not within REPLAY_WINDOW of now."""
    seconds = parse_number(timestamp, high=10**12, max_digits=12)  # '²'.isdigit() is true; int('²') fails
    if seconds is None or abs((time.time() if now is None else now) - seconds) > REPLAY_WINDOW:
        raise CallbackRejected(f"timestamp {timestamp[:20]!r} is not within {REPLAY_WINDOW} s of now (a replay?)")


# ---------------------------------------------------------------- formatting


def fit(text: str, markup: Markup) -> list[str]:
    """`text` cut (at sentence ends where it can) into pieces that each fit the platform's limit."""
    if markup.measure(text) <= markup.limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for unit in _units(text, markup):
        if current and markup.measure(current + unit) > markup.limit:
            pieces.append(current)
            current = ""
        current += unit
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, markup: Markup) -> list[str]:
    units: list[str] = []
    for sentence in split_sentences(text):
        if markup.measure(sentence) <= markup.limit:
            units.append(sentence)
        else:  # a "sentence" longer than a message: cut anywhere
            units.extend(sentence)
    return units


def pack(blocks: Sequence[str], markup: Markup) -> list[str]:
    """Blocks joined into as few messages as fit; a block too big alone is cut with `fit`."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in fit(block, markup):
            candidate = f"{current}{SEP}{piece}" if current else piece
            if current and markup.measure(candidate) > markup.limit:
                messages.append(current)
                candidate = piece
            current = candidate
    if current:
        messages.append(current)
    return messages


def quote_blocks(quote: Quote, n: int, markup: Markup) -> list[str]:
    """One result: ①「verbatim quote」 and its citation under it; split at sentences when too long."""
    esc = markup.escape
    head, tail = f"{number(n)}「", f"」\n—— {esc(shorten(quote.citation.label(), 300))}"
    whole = f"{head}{esc(quote.quote)}{tail}"
    if markup.measure(whole) <= markup.limit:
        return [whole]
    room = replace(markup, limit=markup.limit - markup.measure(head + tail))
    pieces = [esc(p) for p in fit(quote.quote, replace(room, measure=lambda t: markup.measure(esc(t))))]
    pieces[0] = head + pieces[0]
    pieces[-1] = pieces[-1] + tail
    return pieces


def answer_blocks(answer: Answer, start: int, markup: Markup, more: bool) -> list[str]:
    esc = markup.escape
    head = f"🔎 {esc(shorten(answer.query))}"
    if answer.understood:  # a follow-up: the first line says how it was read (and names the question)
        head = esc(understood_line(shorten(answer.understood)))
    if start > 1:
        head += f"（续，第 {start}–{start + len(answer.results) - 1} 条）"
    scope = scope_label(answer.filters)
    if scope:
        head += f"\n范围：{esc(scope)}"
    if answer.note:
        head += f"\n{esc(answer.note)}"
    if not answer.found:
        if answer.reason:
            head += f"\n{esc(answer.reason)}"
        head += f"\n{esc(CLOSEST_HEADING)}"
    blocks = [head]
    for n, quote in enumerate(answer.results, start=start):
        blocks.extend(quote_blocks(quote, n, markup))
    if more:
        blocks.append("发送「更多」看后面的结果。")
    return blocks


def not_found_text(answer: Answer, markup: Markup) -> str:
    esc = markup.escape
    if is_question_problem(answer):  # blank or not Chinese: how to ask, not "try other words"
        return esc(answer.reason)
    lines = [f"没有在已收录的简报中找到与「{esc(shorten(answer.query))}」直接相关的原文。"]
    if answer.understood:
        lines.insert(0, esc(understood_line(shorten(answer.understood))))
    scope = scope_label(answer.filters)
    if scope:
        lines.append(f"（已限定范围：{esc(scope)}）")
    if answer.reason:
        lines.append(f"原因：{esc(answer.reason)}")
    lines += ["", "可以试试：少用几个词，只留关键词；或指明期号，如「第455期 理论宣讲」。",
              "发送 /latest 看最新一期目录，/issue 455 看某一期目录。"]
    return "\n".join(lines)


def contents_blocks(views: Sequence[IssueView], markup: Markup) -> list[str]:
    esc = markup.escape
    blocks: list[str] = []
    for view in views:
        s = view.summary
        head = f"{esc(s.series or '工作简报')}\n第{s.number}期 · {esc(s.date)}" + (f" · {esc(s.office)}" if s.office else "")
        blocks.append(head)
        section = None
        lines: list[str] = []
        for ref in view.articles:
            if ref.section != section:
                if lines:
                    blocks.append("\n".join(lines))
                section, lines = ref.section, [f"【{esc(ref.section)}】"]
            lines.append(f"{number(ref.index)} {esc(ref.title)}")
        if lines:
            blocks.append("\n".join(lines))
    return blocks


def issue_list_text(summaries: Sequence[IssueSummary], shown: int = 30) -> str:
    if not summaries:
        return "索引里还没有简报。"
    lines = [f"已收录 {len(summaries)} 期（最新在前）："]
    lines += [f"第{s.number}期 · {s.date} · {s.article_count} 篇" for s in summaries[:shown]]
    if len(summaries) > shown:
        lines.append(f"……另有 {len(summaries) - shown} 期")
    lines.append(f"发送 /issue 期号 查看目录，如 /issue {summaries[0].number}")
    return "\n".join(lines)


def stats_text(status: IndexStatus, markup: Markup, show_problems: bool) -> str:
    esc = markup.escape
    lines = ["索引状态", f"简报：{status.issues} 期", f"文章：{status.articles} 篇", f"片段：{status.chunks} 段",
             f"版本：{esc(status.version)}", f"建立：{esc(status.built_at)}"]
    if status.problems and show_problems:  # server file names: for admins only
        lines.append(f"未收录的文件 {len(status.problems)} 个：")
        lines += [f"· {esc(p.file)}：{esc(p.reason)}" for p in status.problems[:10]]
    if status.kept and show_problems:
        lines.append(kept_heading(len(status.kept)))
        lines += [f"· {esc(p.file)}：{esc(p.reason)}" for p in status.kept[:10]]
    return "\n".join(lines)


def help_text(is_admin: bool, group_hint: str) -> str:
    lines = [
        "怎么问",
        f"私聊直接发问题；{group_hint}",
        "问题里可以指明期号（第455期）、日期（2023年12月）或栏目（经验交流），只在其中找。",
        "每条结果是简报原文，下面注明 第N期 · 日期 · 【栏目】 标题。",
        "",
        "命令",
        "/issue 期号 — 某一期的目录（不带期号列出已收录的期）",
        "/latest — 最新一期的目录",
        "/more 或「更多」— 上一个问题后面的结果",
        "接着问（那徐州呢、去年的呢、还有吗、第二条的全文）会按上一个问题理解，回答第一行说明按什么查找；",
        "/new 或「新问题」— 忘掉前面的问题，重新开始",
        "/stats — 索引状态",
        "/help — 本说明",
        "",
        "关注与汇编",
        *FOLLOW_HELP,
    ]
    if is_admin:
        lines += ["", "管理员", "/reindex — 按语料目录重建索引，完成后告诉你结果", "/followers — 关注统计",
                  "发送 .txt / .docx / .pdf 简报文件 — 加入语料并重建索引（平台能把文件交给应用时）"]
    return "\n".join(lines)


RATE_LIMITED = "提问太频繁了，请 {seconds} 秒后再试。"
ADMIN_ONLY = "只有管理员可以这样做。"
UPLOAD_REFUSED = "只有管理员可以上传简报文件。"
INDEX_MISSING = "索引还没有建立，暂时无法回答。请管理员发送 /reindex。"
INDEX_REBUILDING = "索引正在重建中，暂时无法回答，请过一两分钟再问。"
ERROR = "抱歉，处理这条消息时出了错，已记录。请稍后再试。"
NO_MORE = "没有更多结果了。"
EMPTY = "问题是空的。请写上问题，例如：泗洪县理论宣讲做法"
REINDEX_STARTED = "⏳ 已开始重建索引，完成后会告诉你结果；这期间照常回答问题。"
NEW_CONVERSATION = "好的，前面的问题不再算数，请提新问题。"
REINDEX_QUEUED = "索引正在重建中，这一轮结束后会再重建一次，完成后告诉你结果。"

# whole-message words that work like the slash commands
ALIASES = {"帮助": "help", "更多": "more", "新问题": "new", "最新": "latest", "最新一期": "latest", "状态": "stats", "重建索引": "reindex"}
COMMANDS = {"help", "start", "more", "latest", "issue", "stats", "reindex", "new", *follow.COMMANDS}


def parse_command(text: str) -> tuple[str, str] | None:
    """("issue", "455") for "/issue 455"; None for a question."""
    if text in ALIASES:
        return ALIASES[text], ""
    plain = parse_plain(text)  # 关注 理论宣讲 / 取消关注 … / 我的关注
    if plain:
        return plain
    match = re.fullmatch(r"/(\w+)(?:@\S+)?\s*(.*)", text, re.S)
    if match:
        name = match.group(1).lower()
        return (name if name in COMMANDS else "help"), match.group(2).strip()
    match = re.fullmatch(r"目录\s*(\d*)", text)
    return ("issue", match.group(1)) if match else None


# ---------------------------------------------------------------- the bot


class _Report:
    """A re-index round as one chat sees it: the report (or the error) is sent when it ends."""

    def __init__(self, bot: ChatBot, message: Incoming) -> None:
        self.bot, self.message = bot, message
        self.loop = asyncio.get_running_loop()

    def started(self) -> None:
        pass

    def progress(self, step: Progress) -> None:
        pass  # these platforms cannot edit a sent message; one report at the end is enough

    def finished(self, outcome: JobOutcome) -> None:
        if outcome.report is not None:
            text = f"✅ {report_summary(outcome.report)}"
        else:
            text = f"❌ 重建索引失败：{outcome.error}"
        asyncio.run_coroutine_threadsafe(self.bot.reply(self.message, [self.bot.channel.markup.escape(text)]), self.loop)


class ChatBot:
    """The channel-neutral conversation over one `BulletinService` (see the module docstring)."""

    def __init__(self, service: Any, settings: Settings, channel: Channel, admins: frozenset[str],
                 runner: ReindexRunner | None = None, group_hint: str = "群里 @我 再写问题。") -> None:
        self.service = service
        self.settings = settings
        self.channel = channel
        self.admins = admins
        self.runner = runner or ReindexRunner(service)
        self.rate = RateLimit(settings.questions_per_minute)
        self.compiles = compile_turns()  # one 素材汇编 at a time: it asks a question per month
        self.group_hint = group_hint
        self._queries: OrderedDict[tuple[str, str], tuple[str, int]] = OrderedDict()
        self.tasks: set[asyncio.Task] = set()
        self._follows = None
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # built outside an event loop (some tests): no deliveries
            pass
        else:
            follow.start_delivery(self, pack)

    @property
    def follows(self):
        """The subscriptions file in the index folder, opened on first use."""
        if self._follows is None:
            self._follows = follow.store_for(self.settings)
        return self._follows

    def spawn(self, message: Incoming) -> None:
        """Handle `message` in the background (callbacks must be answered at once); errors are logged."""
        task = asyncio.create_task(self.handle(message))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def reply(self, message: Incoming, texts: Sequence[str]) -> None:
        try:
            await self.channel.send(message, [t for text in texts for t in fit(text, self.channel.markup)])
        except Exception:  # a platform refusing one reply must not stop the bot
            log.exception("%s: could not reply to %s", self.channel.name, message.user)

    def is_admin(self, message: Incoming) -> bool:
        return message.user in self.admins

    async def handle(self, message: Incoming) -> None:
        """Answer one message: a file, a command or a question."""
        try:
            if message.file_name:
                await self._file(message)
                return
            text = " ".join(message.text.split())
            if not message.private and not message.mentioned:
                return  # group chatter that does not address the bot
            command = parse_command(text)
            if command is None:
                await self._question(message, text)
            else:
                await self._command(message, *command)
        except (IndexMissing, IndexInvalid) as exc:  # names server folders: for the log only
            log.warning("%s: no usable index: %s", self.channel.name, exc)
            await self.reply(message, [INDEX_REBUILDING if self.runner.running else INDEX_MISSING])
        except Exception:
            log.exception("%s: failed on a message from %s", self.channel.name, message.user)
            await self.reply(message, [ERROR])

    async def _limited(self, message: Incoming) -> bool:
        """Count a reply against the user's limit; True (and the user told) when over it."""
        client = (self.channel.name, message.user)
        wait = self.rate.wait_seconds(client)
        if wait and self.rate.first_refusal(client):  # told once a window, then not answered
            await self.reply(message, [RATE_LIMITED.format(seconds=wait)])
        return bool(wait)

    async def _command(self, message: Incoming, name: str, arg: str) -> None:
        markup = self.channel.markup
        # every reply spends the bot's outbound quota, shared by all users: each counts
        if name != "more" and await self._limited(message):
            return
        if name in ("help", "start"):
            await self.reply(message, [help_text(self.is_admin(message), self.group_hint)])
        elif name == "new":
            self.service.forget(self.conversation(message))
            await self.reply(message, [NEW_CONVERSATION])
        elif name == "more":
            stored = self._queries.get((message.chat, message.user))
            if stored is None:
                if not await self._limited(message):  # a reply too: it counts
                    await self.reply(message, [NO_MORE])
            else:
                await self._question(message, stored[0], stored[1])
        elif name == "latest":
            view = await asyncio.to_thread(self.service.latest)
            await self.reply(message, pack(contents_blocks([view], markup), markup) if view else ["索引里还没有简报。"])
        elif name == "issue":
            typed, wanted = number_in(arg)
            if not typed:
                await self.reply(message, [markup.escape(issue_list_text(await asyncio.to_thread(self.service.issues)))])
                return
            views = await asyncio.to_thread(self.service.issue, wanted) if wanted is not None else []
            if not views:
                shown = f"第{wanted}期" if wanted is not None else "这一期"
                await self.reply(message, [f"没有找到{shown}。发送 /issue 查看已收录的期号。"])
            else:
                await self.reply(message, pack(contents_blocks(views, markup), markup))
        elif name == "stats":
            status = await asyncio.to_thread(self.service.stats)
            await self.reply(message, [stats_text(status, markup, self.is_admin(message))])
        elif name in follow.COMMANDS:
            await follow.command(self, message, name, arg)
        elif name == "reindex":
            if not self.is_admin(message):
                await self.reply(message, [ADMIN_ONLY])
                return
            self._reindex(message)

    def _reindex(self, message: Incoming, announce: bool = True) -> None:
        started = self.runner.request(_Report(self, message))
        if announce or not started:
            self.spawn_reply(message, REINDEX_STARTED if started else REINDEX_QUEUED)

    def spawn_reply(self, message: Incoming, text: str) -> None:
        task = asyncio.create_task(self.reply(message, [text]))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def conversation(self, message: Incoming) -> tuple[str, str, str]:
        """Whose conversation a message continues: in a group, each member has their own."""
        return (self.channel.name, message.chat, message.user)

    async def _question(self, message: Incoming, question: str, offset: int = 0) -> None:
        markup = self.channel.markup
        question = " ".join(question.split())
        if not question:
            await self.reply(message, [EMPTY])
            return
        if await self._limited(message):
            return
        # one extra result tells whether 更多 has anything to show; 更多 asks the question as understood
        if offset:
            answer = await asyncio.to_thread(self.service.ask, question, TOP_K + 1, offset)
        else:
            answer = await asyncio.to_thread(self.service.converse, self.conversation(message), question, TOP_K + 1, TOP_K)
            question = answer.query
        if answer.contents:  # "第455期有哪些文章": the contents, each title with its issue and section
            notes = [markup.escape(answer.note)] if answer.note else []
            await self.reply(message, pack(notes + contents_blocks(answer.contents, markup), markup))
            return
        shown = replace(answer, results=answer.results[:TOP_K])
        if offset and not shown.results:
            await self.reply(message, [NO_MORE])
            return
        if not shown.results:
            await self.reply(message, [not_found_text(answer, markup)])
            return
        more = len(answer.results) > TOP_K
        key = (message.chat, message.user)
        self._queries.pop(key, None)
        if more:
            self._queries[key] = (question, offset + TOP_K)
            while len(self._queries) > QUERIES_KEPT:
                self._queries.popitem(last=False)
        await self.reply(message, pack(answer_blocks(shown, offset + 1, markup, more), markup))

    async def _file(self, message: Incoming) -> None:
        if not self.is_admin(message):
            await self.reply(message, [UPLOAD_REFUSED])
            return
        name = PurePath(message.file_name).name
        esc = self.channel.markup.escape
        if not name.lower().endswith(SUPPORTED_SUFFIXES):
            await self.reply(message, [f"不支持的文件类型：{esc(name)}。请上传 {SUPPORTED_LABEL} 格式的简报。"])
            return
        limit = self.settings.max_upload_bytes
        too_big = f"文件 {esc(name)} 超过上限 {limit / 1048576:.1f} MB。"
        if message.file_size > limit:
            await self.reply(message, [too_big])
            return
        try:
            data = await self.channel.download(message)  # given up past the limit
        except UploadTooLarge:
            data = None
        if data is None or len(data) > limit:
            await self.reply(message, [too_big])
            return
        result = await asyncio.to_thread(self.service.add_file, name, data)
        if not result.ok:
            await self.reply(message, [f"❌ {esc(result.message)}"])
            return
        await self.reply(message, [f"✅ {esc(result.message)}\n正在重建索引，完成后即可提问。"])
        self._reindex(message, announce=False)
