"""The bot token's hygiene: its shape checked before start, and it kept out of every log record."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

from ..errors import BotConfigError

# Telegram's token shape: the bot's numeric id, a colon, then 30+ URL-safe characters.
TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")

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
