"""The Telegram bot: a thin python-telegram-bot adapter over `BulletinService`, wired here.

Private chats: any text is a question. Groups: `/ask 问题` or a message mentioning the bot.
Answers are verbatim quotes with citations (see `format`), with buttons 全文 (the whole cited
article, paged) and 更多 (the next results). Admins re-index with /reindex or by sending a
bulletin file in a private chat. The service is CPU-bound and blocking, so every call into it
runs in a worker thread; a re-index runs in the background while answers flow.

The handlers are in `handlers`, the re-index glue in `reindex`, token hygiene in `redact`, the
webhook server in `webhook`.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, MessageEntity
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)

from ..config import Settings
from ..errors import IndexMissing
from ..jobs import ReindexRunner
from ..rate_limit import RateLimit
from ..service import BulletinService
from . import follow
from .base import ALLOWED_UPDATES, STATE, BotState
from .updates import PerChatUpdates
from .handlers import (
    admin_only,
    article,
    ask_command,
    ask_mention,
    ask_private,
    help_command,
    issue,
    latest,
    more,
    new_conversation,
    noop,
    on_error,
    reindex,
    stale_button,
    start,
    stats,
    upload,
    upload_refused,
)
from .redact import check_token, protect_token
from .reindex import refresh_loop
from .webhook import serve_webhook

logger = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("ask", "提问，例如 /ask 泗洪县理论宣讲做法"),
    BotCommand("new", "新问题：忘掉前面的问题"),
    BotCommand("issue", "某一期的目录，例如 /issue 455"),
    BotCommand("latest", "最新一期的目录"),
    BotCommand("stats", "索引状态"),
    BotCommand("follow", "关注主题，例如 /follow 理论宣讲（/follow 全部：每一期）"),
    BotCommand("following", "我关注的主题"),
    BotCommand("unfollow", "取消关注，例如 /unfollow 理论宣讲"),
    BotCommand("compile", "素材汇编，例如 /compile 理论宣讲 2023-01 2023-12"),
    BotCommand("help", "使用说明"),
]
ADMIN_COMMANDS = [*COMMANDS, BotCommand("reindex", "重建索引（管理员）")]


async def _post_init(app: Application) -> None:
    """Register the command menus (admins also see /reindex) and start the index watcher."""
    state: BotState = app.bot_data[STATE]
    await app.bot.set_my_commands(COMMANDS, scope=BotCommandScopeDefault())
    for admin in sorted(state.settings.admins):
        try:
            await app.bot.set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:  # the admin has not opened a chat with the bot yet
            logger.warning("could not set admin commands for %s: %s", admin, exc)
    state.refresh_task = asyncio.create_task(refresh_loop(state))
    follow.start_delivery(app)


async def _post_stop(app: Application) -> None:
    state: BotState = app.bot_data[STATE]
    if state.refresh_task:
        state.refresh_task.cancel()
        state.refresh_task = None


def build_application(settings: Settings, service: BulletinService, webhook: bool = False) -> Application:
    """The wired Application; `webhook=True` builds it without an Updater (updates come via POST)."""
    token = check_token(settings.telegram_token)
    protect_token(token)
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_file_url)
        .rate_limiter(AIORateLimiter(max_retries=3))
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .concurrent_updates(PerChatUpdates())
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    if webhook:
        builder = builder.updater(None)
    app = builder.build()
    app.bot_data[STATE] = BotState(service, settings, RateLimit(settings.questions_per_minute), ReindexRunner(service))

    admins = filters.User(user_id=settings.admins)
    private = filters.ChatType.PRIVATE
    app.add_handlers(
        [
            CommandHandler("start", start),
            CommandHandler("help", help_command),
            CommandHandler("ask", ask_command),
            CommandHandler("new", new_conversation),
            CommandHandler("issue", issue),
            CommandHandler("latest", latest),
            CommandHandler("stats", stats),
            CommandHandler("reindex", reindex, filters=admins),
            CommandHandler("reindex", admin_only),
            MessageHandler(filters.Document.ALL & private & admins, upload),
            MessageHandler(filters.Document.ALL & private, upload_refused),
            MessageHandler(filters.TEXT & ~filters.COMMAND & private, ask_private),
            MessageHandler(
                filters.TEXT & ~filters.COMMAND & filters.ChatType.GROUPS & filters.Entity(MessageEntity.MENTION),
                ask_mention,
            ),
            CallbackQueryHandler(more, pattern=r"^m:"),
            CallbackQueryHandler(article, pattern=r"^[ap]:\d+:\d+:\d+$"),
            CallbackQueryHandler(noop, pattern=r"^noop$"),
            CallbackQueryHandler(stale_button),  # last: any other data is still answered
        ]
    )
    follow.register(app, settings)
    app.add_error_handler(on_error)
    return app


def run_bot(settings: Settings, service: BulletinService) -> None:
    """Serve until interrupted: long polling, or a webhook when `settings.webhook_url` is set."""
    check_token(settings.telegram_token)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    protect_token(settings.telegram_token.strip())
    try:  # load the index and model now, so the first question is not the slow one
        status = service.stats()
        logger.info("serving index %s: %d issues, %d articles", status.version, status.issues, status.articles)
    except IndexMissing as exc:
        logger.warning("no index yet (%s): questions get a notice until an admin sends /reindex", exc)
    if settings.webhook_url:
        app = build_application(settings, service, webhook=True)
        asyncio.run(serve_webhook(app, settings))
    else:
        app = build_application(settings, service)
        logger.info("polling %s", _api_host(settings.telegram_api_base_url))
        app.run_polling(allowed_updates=ALLOWED_UPDATES)


def _api_host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
