"""The callback server of the WeCom and Feishu channels: uvicorn on BULLETIN_BOT_LISTEN:BULLETIN_BOT_PORT."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import Any

from ..config import Settings
from ..errors import ChannelConfigError


def serve_http(app: Any, settings: Settings) -> None:
    """Serve `app` until SIGINT or SIGTERM, then shut down cleanly and return (exit status 0)."""
    import uvicorn

    class Server(uvicorn.Server):
        # uvicorn re-raises a caught SIGTERM after its own shutdown, which would end the process
        # by that signal; the handlers below stop it instead.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = Server(uvicorn.Config(app, host=settings.listen, port=settings.port, log_level="warning",
                                   server_header=False))

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
