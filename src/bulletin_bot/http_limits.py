"""What every HTTP server here (the web app, the WeCom and Feishu callbacks, the Telegram webhook)
does against big and slow requests: bodies read within a size limit (never buffered past it)
and a time limit.

A body must arrive at BODY_MIN_RATE bytes a second on average once BODY_GRACE seconds have
passed: a client sending a byte every few seconds (slowloris) would otherwise hold a connection,
and a worker reading it, for as long as it likes. A body past its limit is refused as soon as
the limit is passed (or at once, when Content-Length announces it), so an unauthenticated
callback of 400 MB costs the server its limit, not 400 MB of memory.

uvicorn itself has no timeout on a request's headers (its keep-alive timeout only runs between
requests), so `server_limits` gives every server here an h11 protocol that closes a connection
whose request line and headers have not all arrived HEADER_SECONDS after its first byte (or
after the connection opened), caps the headers' size, and bounds the connections served at once.
"""

from __future__ import annotations

import asyncio

from fastapi.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from .errors import UploadTooLarge

BODY_GRACE = 10.0
BODY_MIN_RATE = 1024
HEADER_SECONDS = 10.0  # a request line and its headers, from the first byte (or the connection)
MAX_HEADER_BYTES = 16 * 1024  # h11's incomplete-event cap: the request line and headers
KEEP_ALIVE_SECONDS = 5  # an idle connection between requests
CONNECTIONS_AT_ONCE = 1000  # past this, uvicorn answers 503 (each slow one ends within the timeouts)


def too_slow() -> HTTPException:
    return HTTPException(408, "请求发送得太慢，连接已断开。", headers={"Connection": "close"})


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (UploadTooLarge) as soon as it passes `limit` bytes, or when it
    arrives too slowly (408, an HTTPException)."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and (len(declared) > 15 or int(declared) > limit):
        raise UploadTooLarge
    loop = asyncio.get_running_loop()
    start = loop.time()
    chunks: list[bytes] = []
    size = 0
    stream = request.stream().__aiter__()
    while True:
        # the next chunk is due when the average since `start` would fall below the rate
        due = start + max(BODY_GRACE, (size + 1) / BODY_MIN_RATE)
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), max(0.0, due - loop.time()))
        except StopAsyncIteration:
            break
        except (asyncio.TimeoutError, ClientDisconnect):
            raise too_slow() from None
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def header_timeout_protocol() -> type:
    """uvicorn's h11 protocol, closing a connection whose headers are late (see the docstring)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(HEADER_SECONDS, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:  # a new request begins (after a keep-alive pause)
                self._arm()
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # its request line and headers are in
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutH11


def server_limits() -> dict[str, object]:
    """uvicorn.Config keyword arguments every server here runs with (see the docstring)."""
    return {"http": header_timeout_protocol(), "timeout_keep_alive": KEEP_ALIVE_SECONDS,
            "h11_max_incomplete_event_size": MAX_HEADER_BYTES, "limit_concurrency": CONNECTIONS_AT_ONCE}
