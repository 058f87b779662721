"""The callback server of the WeCom and Feishu channels: uvicorn on BULLETIN_BOT_LISTEN:BULLETIN_BOT_PORT,
and how a callback's body is read (within a size and a time limit, before anything is checked)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Any

from ..config import Settings
from ..errors import ChannelConfigError, UploadTooLarge
from ..http_limits import read_body, server_limits

log = logging.getLogger(__name__)


async def callback_body(request: Any, limit: int, channel: str) -> bytes | None:
    """A callback's body, streamed and given up past `limit` bytes (None: answer 413) or when it
    comes too slowly (408). Callbacks are unauthenticated until their body is read."""
    try:
        return await read_body(request, limit)
    except UploadTooLarge:
        log.warning("%s: callback refused: body over %d bytes", channel, limit)
        return None


def server_config(app: Any, host: str, port: int, trusted_proxies: tuple[str, ...] = (), **extra: Any) -> Any:
    """The uvicorn configuration of a callback server (tests start the same one); a proxy in
    `trusted_proxies` is not held to the connections-per-address cap."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, server_header=False, **{"log_level": "warning",
                                                                             **server_limits(trusted_proxies), **extra})


def serve_http(app: Any, settings: Settings) -> None:
    """Serve `app` until SIGINT or SIGTERM, then shut down cleanly and return (exit status 0)."""
    import uvicorn

    class Server(uvicorn.Server):
        # uvicorn re-raises a caught SIGTERM after its own shutdown, which would end the process
        # by that signal; the handlers below stop it instead.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = Server(server_config(app, settings.listen, settings.port, settings.trusted_proxies))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        try:
            await server.serve()
        except SystemExit:  # uvicorn exits when it cannot bind; it logged why
            raise ChannelConfigError(
                f"cannot listen on {settings.listen}:{settings.port}: check BULLETIN_BOT_LISTEN / BULLETIN_BOT_PORT"
            ) from None

    asyncio.run(main())
