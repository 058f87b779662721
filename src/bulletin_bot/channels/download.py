"""A file fetched from a chat platform, streamed and given up as soon as it passes the upload
limit: a 300 MB "bulletin" must not be read into memory before its size is checked."""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import ChannelApiError, UploadTooLarge


async def download_within(client: httpx.AsyncClient, method: str, url: str, limit: int, what: str,
                          **kwargs: Any) -> bytes:
    """The body of `url`, or UploadTooLarge once it (or its announced length) passes `limit` bytes."""
    async with client.stream(method, url, **kwargs) as r:
        if r.status_code != 200 or r.headers.get("content-type", "").startswith("application/json"):
            text = (await r.aread())[:200].decode("utf-8", "replace")
            raise ChannelApiError(f"{what} refused: HTTP {r.status_code} {text}")
        declared = r.headers.get("content-length", "")
        if declared.isdecimal() and (len(declared) > 15 or int(declared) > limit):
            raise UploadTooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in r.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise UploadTooLarge
            chunks.append(chunk)
    return b"".join(chunks)
