"""The Telegram bot: a thin python-telegram-bot adapter over `BulletinService`.

Private chats: any text is a question. Groups: `/ask 问题` or a message mentioning the bot.
Answers are verbatim quotes with citations (see `telegram_format`), with buttons 全文 (the
whole cited article, paged) and 更多 (the next results). Admins re-index with /reindex or by
sending a bulletin file in a private chat. The service is CPU-bound and blocking, so every
call into it runs in a worker thread; a re-index runs in the background while answers flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import logging
import re
import secrets
import signal
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from urllib.parse import quote, urlsplit

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from . import telegram_format as fmt
from .config import Settings
from .jobs import JobOutcome, ReindexRunner
from .models import Answer, Progress
from .rate_limit import RateLimit
from .readers import SUPPORTED_SUFFIXES
from .errors import BotConfigError, BulletinError, IndexInvalid, IndexMissing
from .service import BulletinService

logger = logging.getLogger(__name__)

TOP_K = 5  # results per answer message; 更多 asks for the next TOP_K
PROGRESS_EVERY = 2.0  # seconds between edits of the re-index progress message
REFRESH_EVERY = 30.0  # seconds between checks for an index switched by another process
QUERIES_KEPT = 50  # 更多 state kept per chat
DOWNLOAD_TIMEOUT = 120.0  # seconds to read an uploaded bulletin (up to max_upload_mb)
ALLOWED_UPDATES = ["message", "callback_query"]

# Telegram's token shape: the bot's numeric id, a colon, then 30+ URL-safe characters.
TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")

STATE = "bulletin"  # key of the adapter state in application.bot_data

COMMANDS = [
    BotCommand("ask", "提问，例如 /ask 泗洪县理论宣讲做法"),
    BotCommand("issue", "某一期的目录，例如 /issue 455"),
    BotCommand("latest", "最新一期的目录"),
    BotCommand("stats", "索引状态"),
    BotCommand("help", "使用说明"),
]
ADMIN_COMMANDS = [*COMMANDS, BotCommand("reindex", "重建索引（管理员）")]


# ---------------------------------------------------------------- token hygiene


_SECRETS: set[str] = set()
_factory_installed = False


def redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "<token>")
    return text


class TokenRedactingFilter(logging.Filter):
    """Replaces the bot token in a record's message and traceback (httpx logs URLs with it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    if not _SECRETS:
        return
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's problem, not ours
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)


def protect_token(token: str) -> None:
    """Keep `token` out of every log record from now on, whatever logger or handler it goes to.

    A filter on one logger misses records of its children, so the redaction sits in the record
    factory; the filter is also put on the root handlers, and httpx is quietened to WARNING.
    """
    global _factory_installed
    if token:
        _SECRETS.add(token)
        _SECRETS.add(quote(token, safe=""))  # file download URLs carry it percent-encoded
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    if not _factory_installed:
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, TokenRedactingFilter) for f in handler.filters):
            handler.addFilter(TokenRedactingFilter())


def check_token(token: str) -> str:
    """The token, stripped, or a `BotConfigError` saying what is wrong (never echoing the token)."""
    token = (token or "").strip()
    if not token:
        raise BotConfigError(
            "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put it in the "
            "environment, .env or bulletin-bot.toml"
        )
    if not TOKEN_RE.match(token):
        raise BotConfigError(
            "TELEGRAM_BOT_TOKEN is malformed: expected the shape 123456789:ABC-def… "
            "(digits, a colon, then at least 30 letters, digits, '-' or '_')"
        )
    return token


# ---------------------------------------------------------------- adapter state


@dataclass
class BotState:
    service: BulletinService
    settings: Settings
    rate: RateLimit
    jobs: ReindexRunner
    refresh_task: asyncio.Task | None = None
    tasks: set[asyncio.Task] = field(default_factory=set)


def _state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data[STATE]


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
    for n, result in enumerate(answer.results, start=start):  # not `quote`: that is urllib's here
        if result.article_id in seen:
            continue
        seen.add(result.article_id)
        buttons.append(_article_button(f"全文{fmt.number(n)}", result.article_id, result.citation.issue))
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
    message: Message, context: ContextTypes.DEFAULT_TYPE, question: str, offset: int = 0
) -> None:
    state = _state(context)
    await message.chat.send_action(ChatAction.TYPING)
    # one extra result tells whether 更多 has anything to show
    answer = await asyncio.to_thread(state.service.ask, question, TOP_K + 1, offset)
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
    wait = _state(context).rate.wait_seconds(update.effective_user.id if update.effective_user else 0)
    if wait:
        await message.reply_text(fmt.rate_limited_text(wait))
        return
    await _ask_and_reply(message, context, question)


# ---------------------------------------------------------------- handlers


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet and say how to ask."""
    user = update.effective_user
    group = update.effective_chat.type != "private"
    await update.effective_message.reply_text(
        fmt.start_text(user.first_name if user else "", group, context.bot.username)
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """How to ask, the commands, and for admins the admin ones."""
    user = update.effective_user
    is_admin = bool(user and user.id in _state(context).settings.admins)
    await update.effective_message.reply_text(fmt.help_text(is_admin, context.bot.username))


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
    wait = _state(context).rate.wait_seconds(query.from_user.id)
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
    kind, article_id, issue, page = query.data.split(":")
    view = await asyncio.to_thread(_state(context).service.article, int(article_id))
    if view is None or view.citation.issue != int(issue):
        await query.answer(fmt.article_gone_text(), show_alert=True)
        return
    await query.answer()
    pages = fmt.article_pages(view)
    page_no = min(max(int(page), 0), len(pages) - 1)
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


async def issue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/issue N — contents of issue N; without N, the issues indexed."""
    service = _state(context).service
    message = update.effective_message
    arg = " ".join(context.args or [])
    digits = re.search(r"\d+", arg)
    if not digits:
        summaries = await asyncio.to_thread(service.issues)
        await message.reply_text(fmt.issue_list(summaries))
        return
    number = int(digits.group())
    views = await asyncio.to_thread(service.issue, number)
    if not views:
        await message.reply_text(fmt.issue_not_found_text(number))
        return
    await _send_contents(message, views)


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/latest — contents of the newest issue."""
    view = await asyncio.to_thread(_state(context).service.latest)
    if view is None:
        await update.effective_message.reply_text("索引里还没有简报。")
        return
    await _send_contents(update.effective_message, [view])


async def _send_contents(message: Message, views: Sequence) -> None:
    buttons = [
        _article_button(fmt.number(ref.index), ref.article_id, view.summary.number)
        for view in views
        for ref in view.articles
    ][:50]
    markup = InlineKeyboardMarkup(_rows(buttons)) if buttons else None
    await _send_all(message, fmt.issue_contents(views), markup)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats — what the served index holds."""
    state = _state(context)
    status = await asyncio.to_thread(state.service.stats)
    user = update.effective_user
    is_admin = bool(user and user.id in state.settings.admins)
    await update.effective_message.reply_text(fmt.stats_text(status, show_problems=is_admin))


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins) — rebuild the index in the background, progress in one edited message."""
    _start_reindex(context, update.effective_chat.id, update.effective_message)


async def admin_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex from anyone else: refused, nothing changes."""
    await update.effective_message.reply_text(fmt.admin_only_text())


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A bulletin file from an admin: check, save to the corpus, re-index so it is answerable."""
    state = _state(context)
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
        _start_reindex(context, message.chat_id, message, announce=False)


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


# ---------------------------------------------------------------- re-index in the background


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


def _start_reindex(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, message: Message | None, announce: bool = True
) -> None:
    """Start a round reported in this chat, or queue one more round after the running one."""
    state = _state(context)
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


async def _refresh_loop(state: BotState) -> None:
    """Pick up an index that `bulletin-bot index` switched on disk while the bot runs."""
    while True:
        await asyncio.sleep(REFRESH_EVERY)
        if state.jobs.running:
            continue
        try:
            if await asyncio.to_thread(state.service.refresh):
                logger.info("loaded the index switched on disk")
        except IndexMissing:
            logger.debug("still no index to refresh")
        except Exception:
            logger.exception("could not refresh the index")


# ---------------------------------------------------------------- wiring


async def _post_init(app: Application) -> None:
    """Register the command menus (admins also see /reindex) and start the index watcher."""
    state: BotState = app.bot_data[STATE]
    await app.bot.set_my_commands(COMMANDS, scope=BotCommandScopeDefault())
    for admin in sorted(state.settings.admins):
        try:
            await app.bot.set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(admin))
        except TelegramError as exc:  # the admin has not opened a chat with the bot yet
            logger.warning("could not set admin commands for %s: %s", admin, exc)
    state.refresh_task = asyncio.create_task(_refresh_loop(state))


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
        .concurrent_updates(8)
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
        ]
    )
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


async def serve_webhook(app: Application, settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Receive updates by POST on the path of `settings.webhook_url` (starlette + uvicorn).

    Telegram signs each POST with the secret given to setWebhook; others get 403. Runs until
    `stop` is set or, without one, until SIGINT/SIGTERM; then the bot shuts down cleanly.
    """
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    class Server(uvicorn.Server):
        # uvicorn re-raises a caught SIGTERM after its own shutdown, which would kill the
        # process before the bot stops; the signals are handled below instead.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    secret = secrets.token_urlsafe(32)
    path = urlsplit(settings.webhook_url).path or "/"

    async def receive(request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), secret):
            return Response(status_code=403)
        try:
            update = Update.de_json(await request.json(), app.bot)
        except ValueError:
            return Response(status_code=400)
        await app.update_queue.put(update)
        return Response()

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    web = Starlette(routes=[Route(path, receive, methods=["POST"]), Route("/healthz", health)])
    server = Server(uvicorn.Config(web, host=settings.webhook_listen, port=settings.webhook_port, log_level="warning"))
    loop = asyncio.get_running_loop()
    handled: list[int] = []
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                handled.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / Windows
                pass
    try:
        async with app:
            await app.post_init(app)
            await app.bot.set_webhook(settings.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
            await app.start()
            logger.info("webhook on %s:%s%s", settings.webhook_listen, settings.webhook_port, path)
            serving = asyncio.create_task(server.serve())
            stopping = asyncio.create_task(stop.wait())
            listen_failed = False
            try:
                await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                server.should_exit = True
                stopping.cancel()
                try:
                    await serving
                except SystemExit:  # uvicorn exits when it cannot bind; it logged why
                    listen_failed = True
                await app.stop()
                await app.post_stop(app)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    if listen_failed:
        raise BotConfigError(
            f"cannot listen on {settings.webhook_listen}:{settings.webhook_port} for the webhook: "
            "check BULLETIN_BOT_WEBHOOK_LISTEN / BULLETIN_BOT_WEBHOOK_PORT (the log above says why)"
        )
