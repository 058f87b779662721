"""The follow and compile commands on the chat channels (WeCom, DingTalk, Feishu), and sending
followers their new articles where the platform lets a bot write first (`push`).

`ChatBot` hands the commands here; the texts are `follow_text`'s, as on Telegram. A channel
that implements `push(chat, texts)` gets its followers' digests after each re-index round; a
`Blocked` from it drops the chat's subscriptions.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from collections.abc import Callable, Sequence
from typing import Any

from .. import follow_text
from ..delivery import Digest, by_message, delivery_callback, plain_digest
from ..dossier import compile_dossier
from ..errors import Busy, DossierError
from ..subscriptions import SubscriptionStore, path_for

log = logging.getLogger(__name__)

COMMANDS = frozenset({"follow", "unfollow", "following", "followers", "compile"})
SEND_TIMEOUT = 120.0
CONTENTS_SHOWN = 20  # citations listed in a compile reply
PUSH_RESERVE = 200  # bytes of a platform's message limit left for the receiver's id and the like
# seconds between two followers' digests: under the strictest of the platforms' send rates
# (Feishu: 5 messages a second per bot; WeCom and DingTalk allow more)
PUSH_INTERVAL = 0.25
WATCH_EVERY = 30.0  # seconds between checks for an index switched in by another process


def store_for(settings: Any) -> SubscriptionStore:
    return SubscriptionStore(path_for(settings.index))


async def command(bot: Any, message: Any, name: str, arg: str) -> None:
    """/follow, /unfollow, /following, /followers (admins), /compile."""
    esc = bot.channel.markup.escape
    store, channel = bot.follows, bot.channel.name
    address = getattr(bot.channel, "address", None)  # where the platform's push API writes to
    chat = address(message) if address else message.chat
    if name == "follow":
        text = await asyncio.to_thread(follow_text.follow_reply, store, bot.service, channel, chat, arg)
    elif name == "unfollow":
        text = await asyncio.to_thread(follow_text.unfollow_reply, store, channel, chat, arg)
    elif name == "following":
        text = await asyncio.to_thread(follow_text.following_reply, store, channel, chat)
    elif name == "followers":
        text = await asyncio.to_thread(follow_text.counts_reply, store) if bot.is_admin(message) else "只有管理员可以这样做。"
    else:
        text = await _compile(bot, message, arg)
    await bot.reply(message, [esc(text)])


async def _compile(bot: Any, message: Any, arg: str) -> str:
    """These platforms take no file from a bot here: the dossier's contents, and where to get the
    document. One compile runs at a time in the process (`bot.compiles`); others are told so."""
    request = follow_text.parse_compile(arg)
    if request is None:
        return follow_text.COMPILE_USAGE

    def compile_in_turn() -> Any:
        with bot.compiles.slot(message.user):
            return compile_dossier(bot.service, request.topic, request.start, request.end, request.group,
                                   request.passages)

    try:
        dossier = await asyncio.to_thread(compile_in_turn)
    except Busy as busy:
        return follow_text.compile_refused(busy.status, busy.yielding)
    except DossierError as exc:  # a topic or period it cannot be: said before anything is compiled
        return str(exc)
    lines = [f"素材汇编「{dossier.topic}」：{dossier.period}，共 {len(dossier.entries)} 篇文章，来自 {dossier.issue_count} 期简报。"]
    lines += [f"· {e.citation}" for e in dossier.entries[:CONTENTS_SHOWN]]
    if len(dossier.entries) > CONTENTS_SHOWN:
        lines.append(f"……另有 {len(dossier.entries) - CONTENTS_SHOWN} 篇")
    if dossier.entries:
        lines.append("完整的 .docx 文档请在网页版「素材汇编」下载，或由管理员运行 bulletin-bot compile。")
    return "\n".join(lines)


def start_delivery(bot: Any, pack: Callable[[Sequence[str], Any], list[str]]) -> None:
    """Deliver after each re-index round, when the channel can write first (call on its loop);
    `pack` joins a digest's blocks into the platform's messages (chat.pack)."""
    push = getattr(bot.channel, "push", None)
    if push is None:
        return
    loop = asyncio.get_running_loop()
    # room for what a first message carries beyond a reply (the receiver's id)
    markup = replace(bot.channel.markup, limit=bot.channel.markup.limit - PUSH_RESERVE)

    def render(digest: Digest) -> list[str]:
        return pack(plain_digest(digest, markup.escape), markup)

    def send_one(sub: Any, text: str) -> None:
        asyncio.run_coroutine_threadsafe(push(sub.chat, [text]), loop).result(SEND_TIMEOUT)

    hook = delivery_callback(bot.service, bot.follows, bot.channel.name, by_message(render, send_one),
                             interval=PUSH_INTERVAL)
    bot.runner.after_build.append(hook)
    # not among bot.tasks, which a channel awaits when it stops: this one never ends by itself
    bot.watcher = loop.create_task(_watch(bot, hook))


def stop_delivery(bot: Any) -> None:
    """Stop the index watcher (a channel that ends its own loop calls this)."""
    watcher = getattr(bot, "watcher", None)
    if watcher is not None:
        watcher.cancel()


async def _watch(bot: Any, hook: Callable[[Any], None]) -> None:
    """Deliver what an index built by another process (`bulletin-bot index`) added, once this
    process loads it; a round of this process's own runner delivers by itself."""
    served = _served_version(bot.service)  # told by the link: a question may load a new version first
    while True:
        await asyncio.sleep(WATCH_EVERY)
        if bot.runner.running:
            continue
        try:
            target = _served_version(bot.service)
            if target != served:
                await asyncio.to_thread(bot.service.refresh)
                await asyncio.to_thread(hook, None)
                served = target
        except Exception as exc:  # no index yet, or a bad new one: the service keeps serving and says why
            log.info("%s: index watcher: %s", bot.channel.name, exc)


def _served_version(service: Any):
    paths = getattr(service, "paths", None)
    return paths.current_target() if paths is not None else None
