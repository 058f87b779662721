"""How many of the bot's updates one chat may have in hand at once.

The bot handles at most UPDATES_AT_ONCE updates together, and a reply waits for its chat's
share of Telegram's sending limits (AIORateLimiter: 20 messages a minute in a group). A member
flooding a group with @mentions filled every place with replies waiting on that group's limit,
and nothing else was handled, private chats included, for minutes (a fifth fresh attack). So a
chat holds at most PER_CHAT places: an update from a chat that already has that many in hand
is not read (logged once a minute per chat), and the other chats' updates go on at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import Any

from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

UPDATES_AT_ONCE = 8
PER_CHAT = 2
_LOG_EVERY = 60.0


class PerChatUpdates(BaseUpdateProcessor):
    """At most `per_chat` updates of one chat in hand, `max_concurrent_updates` in all."""

    def __init__(self, max_concurrent_updates: int = UPDATES_AT_ONCE, per_chat: int = PER_CHAT) -> None:
        super().__init__(max_concurrent_updates)
        self.per_chat = per_chat
        self._in_hand: dict[int, int] = {}
        self._logged: dict[int, float] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = getattr(getattr(update, "effective_chat", None), "id", None)
        if chat is None:
            await coroutine
            return
        if self._in_hand.get(chat, 0) >= self.per_chat:
            close = getattr(coroutine, "close", None)
            if close is not None:
                close()  # never awaited: say so to Python, not in a warning
            now = time.monotonic()
            if now - self._logged.get(chat, -_LOG_EVERY) >= _LOG_EVERY:
                self._logged[chat] = now
                if len(self._logged) > 10_000:
                    self._logged.clear()
                log.warning("telegram: chat %s has %d updates in hand: later ones not read", chat, self.per_chat)
            return
        self._in_hand[chat] = self._in_hand.get(chat, 0) + 1
        try:
            await coroutine
        finally:
            left = self._in_hand[chat] - 1
            if left:
                self._in_hand[chat] = left
            else:
                del self._in_hand[chat]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
