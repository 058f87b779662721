"""How `bulletin-bot web` runs the app under uvicorn: proxy headers, the access log, what is on.

uvicorn's own proxy handling is off (`proxy_headers=False`): by default it believes any
`X-Forwarded-For` from 127.0.0.1, so anyone on the machine (or an SSH tunnel, or a proxy that
passes the header on) could pick a client identity. The app reads the header itself, only from
BULLETIN_BOT_TRUSTED_PROXIES (`clients.py`). The access log shows paths without their query
strings, which hold the readers' questions, unless BULLETIN_BOT_WEB_LOG_QUESTIONS is on. Slow
headers, idle connections and connections at once are bounded by `http_limits.server_limits`.
"""

from __future__ import annotations

import logging
from typing import Any

from ..config import Settings
from ..http_limits import server_limits

log = logging.getLogger("bulletin_bot.web")

ACCESS_LOGGER = "uvicorn.access"


class WithoutQuery(logging.Filter):
    """Cut the query string off the path of each uvicorn access-log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def admin_surfaces(settings: Settings) -> str:
    """One line for the start-up log: which admin ways in are open, and to whom."""
    if not settings.web_admin_token:
        return "admin: off (BULLETIN_BOT_WEB_ADMIN_TOKEN is not set): no /admin page, no bearer API"
    proxies = ", ".join(settings.trusted_proxies) or "none"
    return ("admin: on: /admin login form and session cookie, and `Authorization: Bearer` on /admin/*; "
            f"wrong credentials throttled per client address; trusted proxies: {proxies}")


def server_config(app: Any, settings: Settings, host: str, port: int, **extra: Any) -> Any:
    """The uvicorn configuration `bulletin-bot web` uses (tests start the same one)."""
    import uvicorn

    access = logging.getLogger(ACCESS_LOGGER)
    if not settings.web_log_questions and not any(isinstance(f, WithoutQuery) for f in access.filters):
        access.addFilter(WithoutQuery())
    return uvicorn.Config(app, host=host, port=port, server_header=False, proxy_headers=False,
                          forwarded_allow_ips="", **{**server_limits(settings.trusted_proxies), **extra})


def run(app: Any, settings: Settings, host: str, port: int) -> None:
    """Serve until interrupted, after saying in the log what is on."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    log.info("web: %s", admin_surfaces(settings))
    log.info("web: questions: %d a minute and %d at once per client, %d at once in all; query strings %s",
             settings.web_questions_per_minute, settings.web_client_questions_at_once,
             settings.web_questions_at_once, "logged" if settings.web_log_questions else "not logged")
    uvicorn.Server(server_config(app, settings, host, port, log_level="info")).run()
