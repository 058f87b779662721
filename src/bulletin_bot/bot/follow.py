"""The bot's follow and compile commands, and sending followers their new articles.

/follow, /unfollow, /following (and 关注 X / 取消关注 X / 我的关注 in a private chat),
/followers for admins, /compile for a 素材汇编 sent back as a .docx file. `register` adds the
handlers in a group before the question handlers, and hooks delivery into the re-index runner
and into the watcher that loads an index switched by another process.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import Forbidden
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, ContextTypes, MessageHandler, filters

from .. import follow_text
from ..delivery import Digest, by_message, delivery_callback, digest_title, issue_heading
from ..dossier import compile_dossier
from ..errors import Blocked, Busy, DossierError
from ..dossier_render import to_docx
from ..subscriptions import Subscription, SubscriptionStore, path_for
from . import format as fmt
from .base import state_of

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
STORE = "follows"  # key of the SubscriptionStore in application.bot_data
GROUP = -1  # handler group: before the question handlers of group 0
SEND_TIMEOUT = 120.0  # seconds a delivery waits for its messages to go out


def store_of(context: ContextTypes.DEFAULT_TYPE) -> SubscriptionStore:
    return context.application.bot_data[STORE]


def _chat(update: Update) -> str:
    return str(update.effective_chat.id)


async def _reply(update: Update, text: str) -> None:
    await update.effective_message.reply_text(fmt.esc(text))


async def follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/follow 主题 (or 全部)."""
    service = state_of(context).service
    text = await asyncio.to_thread(follow_text.follow_reply, store_of(context), service, CHANNEL, _chat(update),
                                   " ".join(context.args or []))
    await _reply(update, text)


async def unfollow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unfollow 主题."""
    text = await asyncio.to_thread(follow_text.unfollow_reply, store_of(context), CHANNEL, _chat(update),
                                   " ".join(context.args or []))
    await _reply(update, text)


async def following(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/following — this chat's topics."""
    text = await asyncio.to_thread(follow_text.following_reply, store_of(context), CHANNEL, _chat(update))
    await _reply(update, text)


async def followers(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/followers (admins) — how many chats follow how many topics, per channel."""
    await _reply(update, await asyncio.to_thread(follow_text.counts_reply, store_of(context)))


async def plain(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """关注 X / 取消关注 X / 我的关注 in a private chat; anything else goes on to the question handlers."""
    parsed = follow_text.parse_plain(update.effective_message.text or "")
    if parsed is None:
        return
    verb, topic = parsed
    context.args = topic.split()
    await {"follow": follow, "unfollow": unfollow, "following": following}[verb](update, context)
    raise ApplicationHandlerStop


def _file_part(topic: str) -> str:
    """The topic as part of a file name: a / or \\ (理论/宣讲) would name a folder that is not there."""
    return "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in topic)


async def compile_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/compile 主题 2023-01 2023-12 [月] [段落] — the 素材汇编 as a .docx file."""
    request = follow_text.parse_compile(" ".join(context.args or []))
    if request is None:
        await _reply(update, follow_text.COMPILE_USAGE)
        return
    state = state_of(context)
    user = update.effective_user
    wait = state.rate.wait_seconds(user.id if user else 0)
    if wait:
        await update.effective_message.reply_text(fmt.rate_limited_text(wait))
        return
    await update.effective_message.chat.send_action(ChatAction.UPLOAD_DOCUMENT)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"素材汇编-{_file_part(request.topic[:20])}.docx"

        def compile_in_turn() -> Any:  # one at a time in the bot: the compile and the .docx
            with state.compiles.slot(str(user.id if user else 0)):
                made = compile_dossier(state.service, request.topic, request.start, request.end, request.group,
                                       request.passages)
                to_docx(made, path)
                return made

        try:
            dossier = await asyncio.to_thread(compile_in_turn)
        except Busy as busy:
            await _reply(update, follow_text.compile_refused(busy.status, busy.yielding))
            return
        except DossierError as exc:  # a topic or period it cannot be: said before anything is compiled
            await _reply(update, str(exc))
            return
        caption = f"素材汇编「{dossier.topic}」：{dossier.period}，共 {len(dossier.entries)} 篇文章，来自 {dossier.issue_count} 期简报"
        with path.open("rb") as handle:
            await update.effective_message.reply_document(handle, filename=path.name, caption=fmt.esc(caption))


# ---------------------------------------------------------------- delivery


def digest_messages(digest: Digest) -> list[str]:
    """A digest as Telegram HTML messages: per issue its heading, then each quote and citation."""
    blocks = [f"<b>{fmt.esc(digest_title(digest))}</b>"]
    for item in digest.issues:
        blocks.append(f"<b>{fmt.esc(issue_heading(item.issue))}</b>")
        for n, quote in enumerate(item.quotes, start=1):
            blocks.extend(fmt.quote_blocks(quote, n))
        if item.contents:
            lines = [fmt.esc(f"{ref.index}. 【{ref.section}】 {ref.title}") for ref in item.contents]
            blocks.extend(fmt.pack(lines, sep="\n"))
    return fmt.pack(blocks)


def _sender(app: Application, loop: asyncio.AbstractEventLoop):
    async def send(chat: str, text: str) -> None:
        try:
            await app.bot.send_message(int(chat), text)
        except Forbidden as exc:  # blocked, kicked from the group, or the user deleted their account
            raise Blocked(str(exc)) from exc

    def send_from_thread(sub: Subscription, text: str) -> None:
        asyncio.run_coroutine_threadsafe(send(sub.chat, text), loop).result(SEND_TIMEOUT)

    return by_message(digest_messages, send_from_thread)


def start_delivery(app: Application) -> None:
    """Deliver after each re-index round that built a new version (call on the bot's loop)."""
    state = app.bot_data["bulletin"]
    hook = delivery_callback(state.service, app.bot_data[STORE], CHANNEL, _sender(app, asyncio.get_running_loop()))
    state.jobs.after_build.append(hook)
    app.bot_data["deliver"] = hook


def register(app: Application, settings) -> None:
    """The follow and compile handlers, before the question handlers; the store in bot_data."""
    app.bot_data[STORE] = SubscriptionStore(path_for(settings.index))
    private = filters.ChatType.PRIVATE
    app.add_handlers([
        CommandHandler("follow", follow),
        CommandHandler("unfollow", unfollow),
        CommandHandler("following", following),
        CommandHandler("followers", followers, filters=filters.User(user_id=settings.admins)),
        CommandHandler("compile", compile_command),
        MessageHandler(filters.TEXT & ~filters.COMMAND & private, plain),
    ], group=GROUP)
