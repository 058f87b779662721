"""Request bodies read within a size limit (never buffered past it) and a time limit, then
parsed as forms."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request
from fastapi.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from ..errors import UploadTooLarge

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, headers and the CSRF field around the uploaded file
# A body must arrive at BODY_MIN_RATE bytes a second on average once BODY_GRACE seconds have
# passed: a client sending a byte every few seconds (slowloris) would otherwise hold a
# connection, and a worker reading it, for as long as it likes.
BODY_GRACE = 10.0
BODY_MIN_RATE = 1024


def too_slow() -> HTTPException:
    return HTTPException(408, "请求发送得太慢，连接已断开。", headers={"Connection": "close"})


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes `limit` bytes (never buffered past it),
    or arrives too slowly (408)."""
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


async def form_from(request: Request, body: bytes, max_files: int, max_fields: int) -> Any:
    """Parse an already read (and size-checked) body as a form."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, receive).form(max_files=max_files, max_fields=max_fields)
    except Exception as exc:  # malformed multipart is the client's problem, not a 500
        raise HTTPException(400, f"表单无法解析：{exc}") from None


async def small_form(request: Request) -> Any:
    """A form of a few short fields (login, logout, re-index); 413 past 16 KiB."""
    try:
        body = await read_body(request, 16 * 1024)
    except UploadTooLarge:
        raise HTTPException(413, "表单太大。") from None
    return await form_from(request, body, max_files=0, max_fields=8)
