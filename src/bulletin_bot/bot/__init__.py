"""The Telegram bot (python-telegram-bot): `app` wires it, `handlers` answer updates, `format`
writes the HTML, `reindex` reports re-index rounds, `redact` keeps the token out of logs,
`webhook` receives updates by POST."""

from .app import build_application, run_bot
from .redact import check_token, protect_token, redact
from .webhook import serve_webhook

__all__ = ["build_application", "check_token", "protect_token", "redact", "run_bot", "serve_webhook"]
