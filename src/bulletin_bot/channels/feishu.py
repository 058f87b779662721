"""Feishu (飞书): event subscription over HTTP, replies through the IM API.

Feishu POSTs each event to `/feishu/events` as JSON, encrypted (`{"encrypt": …}`, see
`crypto.FeishuCrypto`) and signed with `X-Lark-Signature` when an Encrypt Key is set, and
carrying the Verification Token either way. The URL is first checked with a `url_verification`
challenge, which is answered only when its token is ours. Events are answered at once with an
empty 200 and handled once per event id (Feishu delivers again what it thinks went unanswered);
the bot replies with `im/v1/messages/{message_id}/reply`, with a `tenant_access_token` kept
until it expires.

In a private chat every text is a question; in a group, a message that mentions the bot (the
bot's own open_id, from `bot/v3/info`). Replies are `post` (rich text) messages whose text
elements Feishu shows literally, so no user or corpus text is read as markup (not even an
`<at>` tag, which a `text` message would turn into a mention); a post request may be at most
30 KB, so answers are split below that. An admin's file message is downloaded through
`im/v1/messages/{message_id}/resources/{file_key}` and added to the corpus.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ..config import Settings
from ..errors import Blocked, CallbackRejected, ChannelApiError, ChannelConfigError
from .chat import ChatBot, Incoming, Markup, Seen, check_fresh
from .download import download_within
from .crypto import FeishuCrypto
from .http import callback_body, serve_http

log = logging.getLogger(__name__)

EVENT_PATH = "/feishu/events"
MAX_POST_BYTES = 30 * 1024  # Feishu: rich-text (post) message request bodies up to 30 KB
MAX_BODY = 1024 * 1024
TOKEN_MARGIN = 300
TOKEN_CODES = {99991661, 99991663, 99991664, 99991668}  # missing, invalid or expired access token
# Feishu's ids: open_id "ou_…", message_id "om_…", a file's "file_…" key. An id of another form
# (say "om_1/../../other") is refused before it goes into a request path, where it is quoted too.
OPEN_ID = re.compile(r"ou_[A-Za-z0-9_-]{1,64}")
MESSAGE_ID = re.compile(r"om_[A-Za-z0-9_-]{1,64}")
FILE_KEY = re.compile(r"file_[A-Za-z0-9_-]{1,128}")


def segment(value: str) -> str:
    """A value as one path segment: nothing in it can make the request go elsewhere."""
    return quote(value, safe="")


def post_content(text: str) -> dict[str, Any]:
    """A post message of plain text: one paragraph a line, each a literal text element."""
    return {"zh_cn": {"title": "", "content": [[{"tag": "text", "text": line}] for line in text.split("\n")]}}


def reply_body(text: str) -> bytes:
    return json.dumps({"msg_type": "post", "content": json.dumps(post_content(text), ensure_ascii=False)},
                      ensure_ascii=False).encode("utf-8")


# the bot left (or was removed from) the chat, or the user cannot be reached by it any more
GONE_CODES = {230002, 230013}
MARKUP = Markup("feishu", MAX_POST_BYTES, lambda text: len(reply_body(text)))


def check_settings(settings: Settings) -> None:
    missing = [name for name, value in (
        ("BULLETIN_BOT_FEISHU_APP_ID", settings.feishu_app_id), ("BULLETIN_BOT_FEISHU_APP_SECRET", settings.feishu_app_secret),
        ("BULLETIN_BOT_FEISHU_VERIFICATION_TOKEN", settings.feishu_verification_token)) if not value]
    if missing:
        raise ChannelConfigError(f"the Feishu channel needs {', '.join(missing)} (see deploy/README.md)")
    if not settings.feishu_encrypt_key and not settings.feishu_allow_plain:
        # without it an event is trusted on the static Verification Token alone: no signature,
        # no timestamp, and anyone who learns the token can speak as any user, admins included
        raise ChannelConfigError(
            "the Feishu channel needs BULLETIN_BOT_FEISHU_ENCRYPT_KEY (set an Encrypt Key in the developer "
            "console, 事件与回调 > 加密策略): without it events are not signed and anyone with the Verification "
            "Token can act as any user; BULLETIN_BOT_FEISHU_ALLOW_PLAIN=1 runs without one anyway (unsafe)")
    if not settings.feishu_encrypt_key:
        log.warning("feishu: UNSAFE: no Encrypt Key (BULLETIN_BOT_FEISHU_ALLOW_PLAIN is on): events are not signed, "
                    "and anyone with the Verification Token can act as any user, admins included")


class FeishuChannel:
    """Replies and downloads through the Feishu API with a cached tenant_access_token."""

    name = "feishu"
    markup = MARKUP

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.base = settings.feishu_api_base_url.rstrip("/")
        self._token = ""
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self._open_id: str | None = None

    async def token(self, fresh: bool = False) -> str:
        async with self._lock:
            if fresh or not self._token or time.monotonic() >= self._expires:
                r = await self.client.post(f"{self.base}/open-apis/auth/v3/tenant_access_token/internal",
                                           json={"app_id": self.settings.feishu_app_id,
                                                 "app_secret": self.settings.feishu_app_secret})
                data = r.json()
                if data.get("code"):
                    raise ChannelApiError(f"Feishu tenant_access_token refused: {data.get('code')} {data.get('msg')}")
                self._token = data["tenant_access_token"]
                self._expires = time.monotonic() + max(60, int(data.get("expire", 7200)) - TOKEN_MARGIN)
            return self._token

    async def _call(self, method: str, path: str, json_body: bytes | None = None, **kwargs: Any) -> httpx.Response:
        """An API call with the token; once more with a new token when Feishu says it expired."""
        for fresh in (False, True):
            headers = {"Authorization": f"Bearer {await self.token(fresh)}"}
            if json_body is not None:
                headers["Content-Type"] = "application/json; charset=utf-8"
                kwargs["content"] = json_body
            r = await self.client.request(method, f"{self.base}{path}", headers=headers, **kwargs)
            if r.headers.get("content-type", "").startswith("application/json"):
                code = r.json().get("code")
                if code in TOKEN_CODES and not fresh:
                    continue
            return r
        return r

    async def bot_open_id(self) -> str:
        """The bot's own open_id, to tell a mention of it from mentions of others ("" if unknown)."""
        if self._open_id is None:
            try:
                data = (await self._call("GET", "/open-apis/bot/v3/info")).json()
                self._open_id = (data.get("bot") or {}).get("open_id", "") if data.get("code") == 0 else ""
            except (httpx.HTTPError, ValueError, ChannelApiError) as exc:
                log.warning("feishu: could not read the bot's own id: %s", exc)
                return ""
        return self._open_id

    async def send(self, message: Incoming, texts: Sequence[str]) -> None:
        for text in texts:
            r = await self._call("POST", f"/open-apis/im/v1/messages/{segment(message.message_id)}/reply",
                                 json_body=reply_body(text))
            data = r.json()
            if data.get("code"):
                raise ChannelApiError(f"Feishu reply refused: {data.get('code')} {data.get('msg')}")

    async def push(self, chat: str, texts: Sequence[str]) -> None:
        """Write first to a chat (a follower's new articles); `Blocked` when the bot can no longer."""
        for text in texts:
            body = {"receive_id": chat, **json.loads(reply_body(text))}
            r = await self._call("POST", "/open-apis/im/v1/messages", params={"receive_id_type": "chat_id"},
                                 json_body=json.dumps(body, ensure_ascii=False).encode("utf-8"))
            data = r.json()
            if data.get("code") in GONE_CODES:
                raise Blocked(f"Feishu: {data.get('code')} {data.get('msg')}")
            if data.get("code"):
                raise ChannelApiError(f"Feishu message create refused: {data.get('code')} {data.get('msg')}")

    async def download(self, message: Incoming) -> bytes:
        path = (f"/open-apis/im/v1/messages/{segment(message.message_id)}/resources/"
                f"{segment(message.extra['file_key'])}")
        headers = {"Authorization": f"Bearer {await self.token()}"}
        return await download_within(self.client, "GET", f"{self.base}{path}", self.settings.max_upload_bytes,
                                     "Feishu file download", headers=headers, params={"type": "file"})


def _text_of(message: dict) -> str:
    try:
        text = json.loads(message.get("content") or "{}").get("text", "")
    except (ValueError, AttributeError):
        return ""
    for mention in message.get("mentions") or []:  # "@_user_1" stands where the mention was
        text = text.replace(mention.get("key", "\0"), " ")
    return text


async def incoming(event: dict, channel: FeishuChannel) -> Incoming | None:
    """The message of an `im.message.receive_v1` event, or None when it is none of ours."""
    message = event.get("message") or {}
    sender = (event.get("sender") or {}).get("sender_id") or {}
    if (event.get("sender") or {}).get("sender_type") not in (None, "user"):
        return None  # other bots and apps
    private = message.get("chat_type") == "p2p"
    mentions = message.get("mentions") or []
    mentioned = False
    if not private and mentions:
        own = await channel.bot_open_id()
        mentioned = any((m.get("id") or {}).get("open_id") == own for m in mentions) if own else True
    user = sender.get("open_id", "")
    if not OPEN_ID.fullmatch(str(user)) or not MESSAGE_ID.fullmatch(str(message.get("message_id", ""))):
        log.warning("feishu: an event whose sender or message id is not of Feishu's form: %.80r %.80r",
                    user, message.get("message_id"))
        return None
    common = dict(user=user, chat=message.get("chat_id", ""), private=private, mentioned=mentioned,
                  message_id=message.get("message_id", ""), extra={})
    kind = message.get("message_type")
    if kind == "text":
        return Incoming(text=_text_of(message), **common)
    if kind == "file" and private:
        try:
            content = json.loads(message.get("content") or "{}")
        except ValueError:
            return None
        if not FILE_KEY.fullmatch(str(content.get("file_key", ""))):
            return None
        common["extra"]["file_key"] = content.get("file_key", "")
        return Incoming(text="", file_name=content.get("file_name") or "upload", **common)
    return None


def create_app(settings: Settings, service: Any, runner: Any = None) -> FastAPI:
    """The event server on `/feishu/events`."""
    check_settings(settings)
    crypto = FeishuCrypto(settings.feishu_encrypt_key) if settings.feishu_encrypt_key else None
    token = settings.feishu_verification_token
    seen = Seen()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with httpx.AsyncClient(timeout=30.0) as client:
            channel = FeishuChannel(settings, client)
            # admins by open_id only: a user_id is unique within one tenant, and another tenant's
            # user may carry the same one
            bot = ChatBot(service, settings, channel, settings.feishu_admins, runner)
            state["bot"], state["channel"] = bot, channel
            app.state.bot = bot
            yield

    app = FastAPI(title="bulletin_bot Feishu", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    def open_body(body: bytes) -> dict:
        try:
            data = json.loads(body)
            if crypto is not None:
                if not isinstance(data, dict) or "encrypt" not in data:
                    raise CallbackRejected("an Encrypt Key is set but the event is not encrypted")
                data = json.loads(crypto.decrypt(data["encrypt"]))
        except ValueError as exc:
            raise CallbackRejected(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise CallbackRejected("not a JSON object")
        return data

    @app.post(EVENT_PATH)
    async def events(request: Request) -> Response:
        body = await callback_body(request, MAX_BODY, "feishu")  # nothing is checked before: read within bounds
        if body is None:
            return Response(status_code=413)
        try:
            data = open_body(body)
            if data.get("type") == "url_verification":
                if data.get("token") != token:
                    raise CallbackRejected("url_verification with another Verification Token")
                return JSONResponse({"challenge": data.get("challenge", "")})
            if crypto is not None:  # events are signed when an Encrypt Key is set
                h = request.headers
                crypto.check(h.get("x-lark-signature", ""), h.get("x-lark-request-timestamp", ""),
                             h.get("x-lark-request-nonce", ""), body)
                check_fresh(h.get("x-lark-request-timestamp", ""))
            header = data.get("header") or {}
            if header.get("token") != token:
                raise CallbackRejected("event with another Verification Token")
            # an app installed in several tenants: open_ids are the app's, but only our own
            # tenant's users are ours (an admin's open_id is never matched across tenants)
            if settings.feishu_tenant_key and header.get("tenant_key") != settings.feishu_tenant_key:
                raise CallbackRejected(f"event from another tenant: {str(header.get('tenant_key'))[:40]!r}")
        except CallbackRejected as exc:
            log.warning("feishu: event refused: %s", exc)
            return Response(status_code=401)
        if header.get("event_type") == "im.message.receive_v1" and seen.first_time(str(header.get("event_id"))):
            task = asyncio.create_task(_dispatch(data.get("event") or {}))
            state["bot"].tasks.add(task)
            task.add_done_callback(state["bot"].tasks.discard)
        return JSONResponse({})

    async def _dispatch(event: dict) -> None:
        try:
            message = await incoming(event, state["channel"])
        except Exception:  # a malformed event is logged, and the server goes on
            log.exception("feishu: could not read an event")
            return
        if message is not None:
            await state["bot"].handle(message)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def run_feishu(settings: Settings, service: Any) -> None:
    """Serve the event URL until SIGINT or SIGTERM."""
    app = create_app(settings, service)
    log.info("feishu: listening on %s:%s%s; admins: %s; tenant: %s", settings.listen, settings.port, EVENT_PATH,
             len(settings.feishu_admins) or "none",
             settings.feishu_tenant_key or "any (set BULLETIN_BOT_FEISHU_TENANT_KEY to accept your own only)")
    serve_http(app, settings)
