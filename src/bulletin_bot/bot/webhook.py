"""Updates by webhook instead of long polling: a small starlette server that checks Telegram's
secret on each POST and hands the update to the Application."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import signal
from collections.abc import Iterator
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application

from ..config import Settings
from ..errors import BotConfigError, UploadTooLarge
from ..http_limits import read_body, server_limits
from .base import ALLOWED_UPDATES

logger = logging.getLogger(__name__)

MAX_UPDATE_BYTES = 1024 * 1024  # an update is a few KB (a file comes as an id, not its bytes)


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
            body = await read_body(request, MAX_UPDATE_BYTES)
        except UploadTooLarge:
            return Response(status_code=413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):  # `[]` or `1` is no update: refused, not a 500
                return Response(status_code=400)
            update = Update.de_json(data, app.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return Response(status_code=400)
        await app.update_queue.put(update)
        return Response()

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    web = Starlette(routes=[Route(path, receive, methods=["POST"]), Route("/healthz", health)])
    server = Server(uvicorn.Config(web, host=settings.webhook_listen, port=settings.webhook_port, log_level="warning",
                                   **server_limits(settings.trusted_proxies)))
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
