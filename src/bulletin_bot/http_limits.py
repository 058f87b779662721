"""What every HTTP server here (the web app, the WeCom and Feishu callbacks, the Telegram webhook)
does against big and slow requests: bodies read within a size limit (never buffered past it)
and a time limit.

A body must arrive at BODY_MIN_RATE bytes a second on average once BODY_GRACE seconds have
passed: a client sending a byte every few seconds (slowloris) would otherwise hold a connection,
and a worker reading it, for as long as it likes. A body past its limit is refused as soon as
the limit is passed (or at once, when Content-Length announces it), so an unauthenticated
callback of 400 MB costs the server its limit, not 400 MB of memory.
"""

from __future__ import annotations

import asyncio

from fastapi.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from .errors import UploadTooLarge

BODY_GRACE = 10.0
BODY_MIN_RATE = 1024


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
