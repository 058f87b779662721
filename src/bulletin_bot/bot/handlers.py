"""What the bot does with each update: questions, 全文/更多 buttons, contents, stats, uploads,
and the one error handler. Every call into the (blocking) service runs in a worker thread."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import PurePath

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from ..chat_text import number
from ..conversation import is_reset
from ..errors import BulletinError, IndexInvalid, IndexMissing
from ..models import Answer
from ..numbers import number_in, parse_number
from ..readers import SUPPORTED_SUFFIXES
from . import format as fmt
from .base import state_of
from .reindex import start_reindex

logger = logging.getLogger(__name__)

TOP_K = 5  # results per answer message; 更多 asks for the next TOP_K
QUERIES_KEPT = 50  # 更多 state kept per chat
DOWNLOAD_TIMEOUT = 120.0  # seconds to read an uploaded bulletin (up to max_upload_mb)


# ---------------------------------------------------------------- keyboards and sending


def _article_button(label: str, article_id: int, issue: int, page: int = 0, kind: str = "a") -> InlineKeyboardButton:
    # a = open a new article message, p = turn the page of this one; issue guards against
    # article ids that moved after a re-index.
    return InlineKeyboardButton(label, callback_data=f"{kind}:{article_id}:{issue}:{page}")


def _rows(buttons: Sequence[InlineKeyboardButton], width: int = 5) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def _answer_keyboard(answer: Answer, start: int, more_id: str | None) -> InlineKeyboardMarkup | None:
    buttons: list[InlineKeyboardButton] = []
    seen: set[int] = set()
    for n, result in enumerate(answer.results, start=start):
        if result.article_id in seen:
            continue
        seen.add(result.article_id)
        buttons.append(_article_button(f"全文{number(n)}", result.article_id, result.citation.issue))
    rows = _rows(buttons)
    if more_id:
        rows.append([InlineKeyboardButton("更多 ▶", callback_data=f"m:{more_id}")])
    return InlineKeyboardMarkup(rows) if rows else None


def _pager(article_id: int, issue: int, page: int, pages: int) -> InlineKeyboardMarkup | None:
    if pages <= 1:
        return None
    row = []
    if page > 0:
        row.append(_article_button("◀", article_id, issue, page - 1, kind="p"))
    row.append(InlineKeyboardButton(f"{page + 1}/{pages}", callback_data="noop"))
    if page < pages - 1:
        row.append(_article_button("▶", article_id, issue, page + 1, kind="p"))
    return InlineKeyboardMarkup([row])


async def _send_all(
    message: Message, texts: Sequence[str], markup: InlineKeyboardMarkup | None = None
) -> list[Message]:
    """Reply with each text in order; the keyboard goes under the last one."""
    sent = []
    for i, text in enumerate(texts):
        last = i == len(texts) - 1
        sent.append(await message.reply_text(text, reply_markup=markup if last else None))
    return sent


def _remember_query(context: ContextTypes.DEFAULT_TYPE, question: str, offset: int) -> str:
    queries: OrderedDict[str, tuple[str, int]] = context.chat_data.setdefault("queries", OrderedDict())
    qid = secrets.token_urlsafe(6)
    queries[qid] = (question, offset)
    while len(queries) > QUERIES_KEPT:
        queries.popitem(last=False)
    return qid


async def _ask_and_reply(
    message: Message, context: ContextTypes.DEFAULT_TYPE, question: str, offset: int = 0,
    conversation: tuple[str, ...] | None = None,
) -> None:
    """Answer `question`; with `conversation`, as the next turn of it (a follow-up is read
    against the turns before), else as it stands (更多 asks the question as understood)."""
    state = state_of(context)
    await message.chat.send_action(ChatAction.TYPING)
    # one extra result tells whether 更多 has anything to show
    if conversation is None:
        answer = await asyncio.to_thread(state.service.ask, question, TOP_K + 1, offset)
    else:
        answer = await asyncio.to_thread(state.service.converse, conversation, question, TOP_K + 1, TOP_K)
        question = answer.query
    if answer.contents:  # "第455期有哪些文章": the contents, each article a button
        await _send_contents(message, answer.contents, answer.note)
        return
    shown = replace(answer, results=answer.results[:TOP_K])
    if offset and not shown.results:
        await message.reply_text(fmt.no_more_text())
        return
    more_id = None
    if len(answer.results) > TOP_K:
        more_id = _remember_query(context, question, offset + TOP_K)
    texts = fmt.answer_messages(shown, start=offset + 1)
    markup = _answer_keyboard(shown, offset + 1, more_id) if shown.results else None
    await _send_all(message, texts, markup)


async def _question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    message = update.effective_message
    question = " ".join(question.split())
    if not question:
        await message.reply_text(fmt.empty_question_text())
        return
    if is_reset(question):
        await new_conversation(update, context)
        return
    rate, client = state_of(context).rate, update.effective_user.id if update.effective_user else 0
    wait = rate.wait_seconds(client)
    if wait:
        if rate.first_refusal(client):  # told once a window, then not answered
            await message.reply_text(fmt.rate_limited_text(wait))
        return
    await _ask_and_reply(message, context, question, conversation=_conversation(update))


def _conversation(update: Update) -> tuple[str, str, str]:
    """Whose conversation a message continues: in a group, each member has their own."""
    user = update.effective_user
    return ("telegram", str(update.effective_chat.id), str(user.id if user else 0))


async def _limited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Count a reply against the user's limit (every reply spends the bot's outbound quota,
    shared by all users); True, and the user told, when over it."""
    user = update.effective_user
    wait = state_of(context).rate.wait_seconds(user.id if user else 0)
    if not wait:
        return False
    if update.callback_query:  # a button must be answered, or it keeps spinning
        await update.callback_query.answer(fmt.rate_limited_text(wait)[:200], show_alert=True)
    elif update.effective_message and state_of(context).rate.first_refusal(user.id if user else 0):
        await update.effective_message.reply_text(fmt.rate_limited_text(wait))
    return True


# ---------------------------------------------------------------- handlers


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet and say how to ask."""
    if await _limited(update, context):
        return
    user = update.effective_user
    group = update.effective_chat.type != "private"
    await update.effective_message.reply_text(
        fmt.start_text(user.first_name if user else "", group, context.bot.username)
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """How to ask, the commands, and for admins the admin ones."""
    if await _limited(update, context):
        return
    user = update.effective_user
    is_admin = bool(user and user.id in state_of(context).settings.admins)
    await update.effective_message.reply_text(fmt.help_text(is_admin, context.bot.username))


async def new_conversation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new (新问题) — forget the questions before: the next one is read on its own."""
    state_of(context).service.forget(_conversation(update))
    await update.effective_message.reply_text(fmt.new_conversation_text())


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask 问题 — in any chat."""
    await _question(update, context, " ".join(context.args or []))


async def ask_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    await _question(update, context, update.effective_message.text or "")


async def ask_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message mentioning @bot is a question; other mentions are none of our business."""
    message = update.effective_message
    me = f"@{context.bot.username}".lower()
    mentions = message.parse_entities([MessageEntity.MENTION])
    if not any(text.lower() == me for text in mentions.values()):
        return
    question = re.sub(re.escape(me), " ", message.text or "", flags=re.IGNORECASE)
    await _question(update, context, question)


async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """更多: the next results of a question asked earlier in this chat."""
    query = update.callback_query
    qid = query.data.split(":", 1)[1]
    stored = (context.chat_data or {}).get("queries", {}).get(qid)
    if stored is None:
        await query.answer("这个问题已过期，请重新提问。", show_alert=True)
        return
    wait = state_of(context).rate.wait_seconds(query.from_user.id)
    if wait:
        await query.answer(fmt.rate_limited_text(wait), show_alert=True)
        return
    await query.answer()
    question, offset = stored
    if query.message and isinstance(query.message, Message):
        await _drop_more_button(query.message)
        await _ask_and_reply(query.message, context, question, offset)


async def _drop_more_button(message: Message) -> None:
    markup = message.reply_markup
    if not markup:
        return
    rows = [
        [b for b in row if not (b.callback_data or "").startswith("m:")] for row in markup.inline_keyboard
    ]
    rows = [row for row in rows if row]
    try:
        await message.edit_reply_markup(InlineKeyboardMarkup(rows) if rows else None)
    except BadRequest as exc:  # e.g. the message is too old to edit; the button just stays
        logger.info("could not remove 更多 button: %s", exc)


async def article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """全文: the whole cited article as a new message (a:) or the next page in place (p:)."""
    query = update.callback_query
    kind, *typed = query.data.split(":")
    article_id, issue, page = (parse_number(t) for t in (typed + ["", "", ""])[:3])
    if await _limited(update, context):
        return
    view = None
    if article_id is not None and issue is not None and page is not None:
        view = await asyncio.to_thread(state_of(context).service.article, article_id)
    if view is None or view.citation.issue != issue:
        await query.answer(fmt.article_gone_text(), show_alert=True)
        return
    await query.answer()
    pages = fmt.article_pages(view)
    page_no = min(max(page, 0), len(pages) - 1)
    markup = _pager(view.article_id, view.citation.issue, page_no, len(pages))
    message = query.message
    if kind == "p" and isinstance(message, Message):
        try:
            await query.edit_message_text(pages[page_no], reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
    elif isinstance(message, Message):
        await message.reply_text(pages[page_no], reply_markup=markup, do_quote=False)


async def noop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The page counter between ◀ and ▶ does nothing."""
    await update.callback_query.answer()


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Button data no other handler reads (an old bot's, or forged): answered, so the button's
    spinner stops at once instead of when Telegram gives up."""
    await update.callback_query.answer("这个按钮已失效，请重新提问。")


async def issue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/issue N — contents of issue N; without N, the issues indexed."""
    service = state_of(context).service
    message = update.effective_message
    if await _limited(update, context):
        return
    typed, number = number_in(" ".join(context.args or []))
    if not typed:
        summaries = await asyncio.to_thread(service.issues)
        await message.reply_text(fmt.issue_list(summaries))
        return
    views = await asyncio.to_thread(service.issue, number) if number is not None else []
    if not views:  # 99999999999999999999 is no issue either: said plainly, nothing logged
        await message.reply_text(fmt.issue_not_found_text(number))
        return
    await _send_contents(message, views)


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/latest — contents of the newest issue."""
    if await _limited(update, context):
        return
    view = await asyncio.to_thread(state_of(context).service.latest)
    if view is None:
        await update.effective_message.reply_text("索引里还没有简报。")
        return
    await _send_contents(update.effective_message, [view])


async def _send_contents(message: Message, views: Sequence, note: str = "") -> None:
    buttons = [  # several issues: the button names the issue too (455·2)
        _article_button(number(ref.index) if len(views) == 1 else f"{view.summary.number}·{ref.index}",
                        ref.article_id, view.summary.number)
        for view in views
        for ref in view.articles
    ][:50]
    markup = InlineKeyboardMarkup(_rows(buttons)) if buttons else None
    await _send_all(message, fmt.issue_contents(views, note=note), markup)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats — what the served index holds."""
    if await _limited(update, context):
        return
    state = state_of(context)
    status = await asyncio.to_thread(state.service.stats)
    user = update.effective_user
    is_admin = bool(user and user.id in state.settings.admins)
    await update.effective_message.reply_text(fmt.stats_text(status, show_problems=is_admin))


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins) — rebuild the index in the background, progress in one edited message."""
    start_reindex(context, update.effective_chat.id, update.effective_message)


async def admin_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex from anyone else: refused, nothing changes."""
    await update.effective_message.reply_text(fmt.admin_only_text())


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A bulletin file from an admin: check, save to the corpus, re-index so it is answerable."""
    state = state_of(context)
    message = update.effective_message
    document = message.document
    name = PurePath(document.file_name or "upload").name
    if not name.lower().endswith(SUPPORTED_SUFFIXES):
        await message.reply_text(fmt.upload_type_text(name))
        return
    limit = state.settings.max_upload_bytes
    if document.file_size and document.file_size > limit:
        await message.reply_text(fmt.upload_too_big_text(name, document.file_size, limit))
        return
    await message.chat.send_action(ChatAction.UPLOAD_DOCUMENT)
    telegram_file = await context.bot.get_file(document.file_id)
    data = bytes(await telegram_file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT))
    if len(data) > limit:  # the size Telegram announced may be missing or wrong
        await message.reply_text(fmt.upload_too_big_text(name, len(data), limit))
        return
    result = await asyncio.to_thread(state.service.add_file, name, data)
    await message.reply_text(fmt.upload_text(result))
    if result.ok:
        start_reindex(context, message.chat_id, message, announce=False)


async def upload_refused(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file from a non-admin in a private chat: refused, nothing saved."""
    await update.effective_message.reply_text(fmt.upload_refused_text())


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log what went wrong with the update, and tell the user in one short line."""
    error = context.error
    # The messages of the core name server folders and model ids: they go to the log, and the
    # user, who may be anyone, gets a plain line.
    if isinstance(error, (IndexMissing, IndexInvalid)):
        text = fmt.index_missing_text()
        logger.warning("no usable index: %s", error)
    elif isinstance(error, BulletinError):
        text = fmt.error_text()
        logger.warning("service refused: %s", error)
    else:
        text = fmt.error_text()
        shown = update.to_dict() if isinstance(update, Update) else repr(update)
        logger.error("exception while handling update %s", shown, exc_info=error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query:
            plain = html.unescape(re.sub(r"<[^>]+>", "", text))
            await update.callback_query.answer(plain[:200], show_alert=True)
        elif update.effective_message:
            await update.effective_message.reply_text(text)
    except TelegramError as exc:
        logger.warning("could not tell the user about the error: %s", exc)
