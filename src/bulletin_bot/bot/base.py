"""What the bot's parts share: the adapter state kept in `bot_data`, and the updates asked for."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import ContextTypes

from ..config import Settings
from ..follow_text import compile_turns
from ..jobs import ReindexRunner
from ..rate_limit import RateLimit
from ..service import BulletinService

STATE = "bulletin"  # key of the adapter state in application.bot_data
ALLOWED_UPDATES = ["message", "callback_query"]


@dataclass
class BotState:
    service: BulletinService
    settings: Settings
    rate: RateLimit
    jobs: ReindexRunner
    refresh_task: asyncio.Task | None = None
    # one 素材汇编 at a time in the bot (it asks a question per month of its period)
    compiles: Any = field(default_factory=compile_turns)
    tasks: set[asyncio.Task] = field(default_factory=set)


def state_of(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data[STATE]
