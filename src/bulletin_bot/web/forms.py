"""Request bodies read within a size and a time limit (`http_limits.read_body`), then parsed as forms."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import HTTPException

from ..errors import UploadTooLarge
from ..http_limits import read_body, too_slow

__all__ = ["MULTIPART_OVERHEAD", "form_from", "read_body", "small_form", "too_slow"]

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, headers and the CSRF field around the uploaded file


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
