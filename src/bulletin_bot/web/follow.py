"""The web app's 关注 page (a reader's own topics) and the 素材汇编 download; the routes.

A reader is known by a random id in a cookie (`bb_reader`), made on their first visit; their
list is the subscriptions store's ("web", id). Forms carry a token derived from that id (an
HMAC under a key made at start), so another site cannot change someone's list; the cookie is
SameSite=Strict as well. The web cannot write first, so the web list is read by asking (each
topic links to its question); the Telegram and chat bots deliver, and the page says so.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tempfile
from pathlib import Path
from typing import Any, Callable, ContextManager
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import follow_text
from ..dossier import compile_dossier
from ..dossier_render import to_docx, to_markdown
from ..subscriptions import FollowRefused, SubscriptionStore, path_for
from .forms import small_form
from .limits import FOLLOWS_PER_CLIENT_A_DAY, DailyAllowance

READER_COOKIE = "bb_reader"
CHANNEL = "web"
COOKIE_SECONDS = 400 * 86400
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def register(app: FastAPI, service: Any, settings: Any, render: Callable[..., HTMLResponse],
             limit: Callable[[Request], None], compile_turn: Callable[[Request], ContextManager[None]],
             is_https: Callable[[Request], bool], client_of: Callable[[Request], str]) -> None:
    """Add /follow (GET list, POST add or remove) and /dossier (GET form or file) to `app`;
    `limit` counts a request against its client's questions a minute, and a dossier is built
    inside `compile_turn` (the server's bound on compiles at once); `is_https` says whether the
    reader's cookie gets `Secure`; `client_of` is the request's client key, whose new follows a
    day are capped over all its readers (a new reader is only a new cookie)."""
    store = SubscriptionStore(path_for(settings.index))
    follows_today = DailyAllowance(FOLLOWS_PER_CLIENT_A_DAY)
    key = secrets.token_bytes(32)

    def reader_of(request: Request) -> str | None:
        value = request.cookies.get(READER_COOKIE, "")
        return value if len(value) == 32 and value.isalnum() else None

    def token_for(reader: str) -> str:
        return hmac.new(key, reader.encode(), hashlib.sha256).hexdigest()[:32]

    def page(request: Request, reader: str, message: str = "", ok: bool = True, status_code: int = 200) -> HTMLResponse:
        subs = store.following(CHANNEL, reader)
        response = render(request, "follow.html", status_code, title="关注与汇编", subs=subs, limit=store.limit,
                          csrf=token_for(reader), message=message, ok=ok)
        response.set_cookie(READER_COOKIE, reader, max_age=COOKIE_SECONDS, httponly=True, samesite="strict",
                            secure=is_https(request))
        return response

    @app.get("/follow", response_class=HTMLResponse)
    def follow_page(request: Request) -> HTMLResponse:
        return page(request, reader_of(request) or secrets.token_hex(16))

    @app.post("/follow", response_class=HTMLResponse)
    async def follow_change(request: Request) -> Response:
        limit(request)  # each change counts as a question: no flood of follows from one address
        reader = reader_of(request)
        form = await small_form(request)
        csrf = form.get("csrf")
        if reader is None or not isinstance(csrf, str) or not hmac.compare_digest(csrf, token_for(reader)):
            raise HTTPException(403, "表单已过期或来源不明，请刷新「关注」页面后重试。")
        topic = form.get("topic")
        topic = topic if isinstance(topic, str) else ""
        if form.get("action") == "remove":
            removed = await run_in_threadpool(store.unfollow, CHANNEL, reader, topic)
            return page(request, reader, f"已取消关注「{topic}」。" if removed else f"没有关注「{topic}」。", removed)
        client = client_of(request)
        # a reader at its own limit hears about that limit (follow_reply), not the address's
        wait = follows_today.wait_seconds(client) if len(store.following(CHANNEL, reader)) < store.limit else 0
        if wait:
            response = page(request, reader, "这个网络今天添加的关注已经很多了，请明天再来。", False, 429)
            response.headers["Retry-After"] = str(wait)
            return response
        try:
            text = await run_in_threadpool(follow_text.follow_reply, store, service, CHANNEL, reader, topic)
        except FollowRefused as exc:  # follow_reply turns these into text; kept for safety
            return page(request, reader, str(exc), False, 400)
        refused = not text.startswith("✅")
        if not refused:
            follows_today.spend(client)
        return page(request, reader, text.removeprefix("✅ "), not refused, 400 if refused else 200)

    @app.get("/dossier", response_model=None)
    def dossier(request: Request, topic: str = Query("", max_length=40), date_from: str = Query("", alias="from", max_length=10),
                date_to: str = Query("", alias="to", max_length=10), group: str = "section",
                passages: bool = False, format: str = "docx") -> Response:
        if not topic.strip():
            return RedirectResponse(f"{request.scope.get('root_path', '')}/follow#dossier", status_code=303)
        limit(request)
        with compile_turn(request):  # one at a time in the server, within the client's share
            made = compile_dossier(service, topic, date_from or "1900-01", date_to or "2100-12", group, passages)
            name = f"素材汇编-{made.topic[:20]}"
            if format == "md":
                body = to_markdown(made).encode("utf-8")
                kind, name = "text/markdown; charset=utf-8", f"{name}.md"
            else:
                with tempfile.TemporaryDirectory() as folder:
                    body = to_docx(made, Path(folder) / "dossier.docx").read_bytes()
                kind, name = DOCX_TYPE, f"{name}.docx"
        disposition = f"attachment; filename=\"dossier{Path(name).suffix}\"; filename*=UTF-8''{quote(name)}"
        return Response(body, media_type=kind, headers={"Content-Disposition": disposition,
                                                         "X-Dossier-Articles": str(len(made.entries))})
