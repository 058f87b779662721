"""The bot's side of a re-index: one status message per round, edited with progress, then the
report; and a watcher that loads an index another process switched on disk.

The build itself is `jobs.ReindexRunner`, shared with the other front ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Message
from telegram.error import BadRequest
from telegram.ext import Application, ContextTypes

from ..errors import IndexMissing
from ..jobs import JobOutcome
from ..models import Progress
from . import format as fmt
from .base import BotState, state_of

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 2.0  # seconds between edits of the re-index progress message
REFRESH_EVERY = 30.0  # seconds between checks for an index switched by another process


class _StatusMessage:
    """One chat's view of a re-index round: a status message, edited with progress, then the report.

    The runner calls it from its worker thread; everything that talks to Telegram runs on the
    bot's event loop.
    """

    def __init__(self, app: Application, chat_id: int) -> None:
        self.app = app
        self.chat_id = chat_id
        self.loop = asyncio.get_running_loop()
        self.latest: Progress | None = None
        self.outcome: JobOutcome | None = None
        self._done = asyncio.Event()

    def started(self) -> None:
        asyncio.run_coroutine_threadsafe(self._follow(), self.loop)

    def progress(self, step: Progress) -> None:
        self.latest = step

    def finished(self, outcome: JobOutcome) -> None:
        self.outcome = outcome
        self.loop.call_soon_threadsafe(self._done.set)

    async def _follow(self) -> None:
        status = await self.app.bot.send_message(self.chat_id, "⏳ 开始重建索引……")
        shown: Progress | None = None
        while not self._done.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._done.wait(), timeout=PROGRESS_EVERY)
            if self._done.is_set() or self.latest is None or self.latest == shown:
                continue
            shown = self.latest
            await _edit(status, fmt.progress_text(shown))
        outcome = self.outcome
        if outcome is not None and outcome.report is not None:
            text = fmt.report_text(outcome.report)
        else:
            text = fmt.reindex_failed_text(outcome.error if outcome else "")
        await _edit(status, text)


def start_reindex(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, message: Message | None, announce: bool = True
) -> None:
    """Start a round reported in this chat, or queue one more round after the running one."""
    state = state_of(context)
    app = context.application
    if state.jobs.request(_StatusMessage(app, chat_id)):
        return
    if message is not None:
        text = fmt.reindex_running_text() if announce else fmt.reindex_queued_text()
        task = app.create_task(message.reply_text(text))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            logger.warning("could not update the progress message: %s", exc)


async def refresh_loop(state: BotState) -> None:
    """Pick up an index that `bulletin-bot index` switched on disk while the bot runs."""
    # the version whose followers were served: a question may load a new one before this
    # loop looks, so a switch is told by the `current` link, not by refresh() alone
    served = _served_version(state.service)
    while True:
        await asyncio.sleep(REFRESH_EVERY)
        if state.jobs.running:
            continue
        try:
            if await asyncio.to_thread(state.service.refresh):
                logger.info("loaded the index switched on disk")
            target = _served_version(state.service)
            if target != served:
                for hook in list(state.jobs.after_build):  # its new issues' followers (delivery.py)
                    await asyncio.to_thread(hook, None)
                served = target
        except IndexMissing:
            logger.debug("still no index to refresh")
        except Exception:
            logger.exception("could not refresh the index")


def _served_version(service: object):
    """The version folder `current` points to (None: no index, or a service without one)."""
    paths = getattr(service, "paths", None)
    return paths.current_target() if paths is not None else None
