"""WeCom (企业微信, also 政务微信): a self-built application with a callback URL.

WeCom checks the URL with a signed GET carrying an encrypted `echostr`, then POSTs each
message as encrypted XML signed with the Token (see `crypto.WeComCrypto`). We answer every
callback at once with an empty 200 and reply later through `cgi-bin/message/send`, with an
access token from `cgi-bin/gettoken` kept until it expires. WeCom retries a callback it thinks
went unanswered, so messages are handled once per MsgId.

A self-built application talks to each user alone (it is not a member of group chats), so every
message is a private one. WeCom does not deliver files to applications, so uploads go through
the web app or the corpus folder. Replies are `text` messages: WeCom cuts text past 2,048
bytes, so answers are split below that; the one markup WeCom reads in a text message is the
`<a href>` link, which is neutralised in user and corpus text.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from ..config import Settings
from ..errors import Blocked, CallbackRejected, ChannelApiError, ChannelConfigError
from .chat import ChatBot, Incoming, Markup, Seen, check_fresh, utf8_len
from .crypto import WeComCrypto
from .http import callback_body, serve_http

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wecom/callback"
MAX_TEXT_BYTES = 2048  # WeCom: "消息内容，最长不超过2048个字节，超过将截断"
MAX_BODY = 256 * 1024  # a callback is a few KB; anything bigger is not WeCom's
TOKEN_MARGIN = 300  # seconds before expiry when a new access token is fetched
TOKEN_ERRORS = {40014, 42001, 40001}  # invalid or expired access token: fetch a new one, retry once
# the user left the company or is outside the app's visible range: deliveries to them stop
GONE_ERRORS = {60111, 81013}

# "<a" or "</a" followed by a space, ">" or the end: the link tag WeCom renders in text messages
_LINK_TAG = re.compile(r"<(/?)([aA])(?=[\s>/]|$)")


def escape(text: str) -> str:
    """User and corpus text as it should read, never as a link: a zero-width space after "<"."""
    return _LINK_TAG.sub("<\u200b\\1\\2", text)


MARKUP = Markup("wecom", MAX_TEXT_BYTES, utf8_len, escape)


def check_settings(settings: Settings) -> WeComCrypto:
    missing = [name for name, value in (
        ("BULLETIN_BOT_WECOM_CORP_ID", settings.wecom_corp_id), ("BULLETIN_BOT_WECOM_AGENT_ID", settings.wecom_agent_id),
        ("BULLETIN_BOT_WECOM_SECRET", settings.wecom_secret), ("BULLETIN_BOT_WECOM_TOKEN", settings.wecom_token),
        ("BULLETIN_BOT_WECOM_AES_KEY", settings.wecom_aes_key)) if not value]
    if missing:
        raise ChannelConfigError(f"the WeCom channel needs {', '.join(missing)} (see deploy/README.md)")
    if not settings.wecom_agent_id.isdigit():
        raise ChannelConfigError("BULLETIN_BOT_WECOM_AGENT_ID must be the application's numeric AgentId")
    return WeComCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)


class WeComChannel:
    """Replies through the WeCom API: `message/send` with a cached access token."""

    name = "wecom"
    markup = MARKUP

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.base = settings.wecom_api_base_url.rstrip("/")
        self._token = ""
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def token(self, stale: str = "") -> str:
        """The access token; `stale`: the one WeCom just refused, renewed unless another reply
        renewed it meanwhile (two replies failing together fetch one new token, not two)."""
        async with self._lock:
            if (stale and stale == self._token) or not self._token or time.monotonic() >= self._expires:
                r = await self.client.get(f"{self.base}/cgi-bin/gettoken",
                                          params={"corpid": self.settings.wecom_corp_id,
                                                  "corpsecret": self.settings.wecom_secret})
                data = r.json()
                if data.get("errcode"):
                    raise ChannelApiError(f"WeCom gettoken refused: {data.get('errcode')} {data.get('errmsg')}")
                self._token = data["access_token"]
                self._expires = time.monotonic() + max(60, int(data.get("expires_in", 7200)) - TOKEN_MARGIN)
            return self._token

    async def send(self, message: Incoming, texts: Sequence[str]) -> None:
        for text in texts:
            body = {"touser": message.user, "msgtype": "text", "agentid": int(self.settings.wecom_agent_id),
                    "text": {"content": text}, "safe": 0, "enable_id_trans": 0, "enable_duplicate_check": 0}
            used, data = await self._post_message(body)
            if data.get("errcode") in TOKEN_ERRORS:
                _, data = await self._post_message(body, stale=used)
            if data.get("errcode"):
                raise ChannelApiError(f"WeCom message/send refused: {data.get('errcode')} {data.get('errmsg')}")

    async def push(self, chat: str, texts: Sequence[str]) -> None:
        """Write first to a user (a follower's new articles); `Blocked` when they can no longer get it."""
        try:
            await self.send(Incoming(user=chat, chat=chat, text="", private=True), texts)
        except ChannelApiError as exc:
            if any(f"refused: {code} " in str(exc) for code in GONE_ERRORS):
                raise Blocked(str(exc)) from exc
            raise

    async def _post_message(self, body: dict, stale: str = "") -> tuple[str, dict]:
        token = await self.token(stale)
        r = await self.client.post(f"{self.base}/cgi-bin/message/send", params={"access_token": token}, json=body)
        return token, r.json()

    async def download(self, message: Incoming) -> bytes:
        raise ChannelApiError("WeCom does not deliver files to applications")


def _xml(text: str) -> ET.Element:
    # The expat parser expands entities; no callback of WeCom has a DTD, so refuse one outright.
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise CallbackRejected("XML with a DTD")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise CallbackRejected(f"not XML: {exc}") from None


# A WeCom UserID: letters, digits and _ - . @, up to 64; never "@all" (which message/send reads
# as everyone) nor "a|b" (a list of users).
USER_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}")


def incoming(xml_text: str) -> tuple[str, Incoming | None]:
    """(de-duplication key, the message to answer or None) from a decrypted callback."""
    root = _xml(xml_text)
    senders = root.findall("FromUserName")
    if len(senders) != 1 or not USER_ID.fullmatch(senders[0].text or ""):
        # two of them, or a list or "@all": the last would win, and the admin check with it
        raise CallbackRejected(f"not one WeCom user in FromUserName: {[(e.text or '')[:70] for e in senders][:3]!r}")
    field = {child.tag: (child.text or "") for child in root}
    key = field.get("MsgId") or f"{field.get('FromUserName')}:{field.get('CreateTime')}:{field.get('Event', '')}"
    if field.get("MsgType") != "text":
        return key, None  # events, images, voice: nothing to answer
    return key, Incoming(user=field.get("FromUserName", ""), chat=field.get("FromUserName", ""),
                         text=field.get("Content", ""), private=True, message_id=field.get("MsgId", ""),
                         extra={"agent_id": field.get("AgentID", "")})


def create_app(settings: Settings, service: Any, runner: Any = None) -> FastAPI:
    """The callback server: GET verification and POSTed messages on `/wecom/callback`."""
    crypto = check_settings(settings)
    seen = Seen()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with httpx.AsyncClient(timeout=20.0) as client:
            channel = WeComChannel(settings, client)
            state["bot"] = ChatBot(service, settings, channel, settings.wecom_admins, runner,
                                   group_hint="本应用只在与你的单聊里回答。")
            app.state.bot = state["bot"]
            yield

    app = FastAPI(title="bulletin_bot WeCom", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    @app.get(CALLBACK_PATH)
    def verify(msg_signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = "") -> Response:
        try:
            return PlainTextResponse(crypto.verify_url(msg_signature, timestamp, nonce, echostr))
        except CallbackRejected as exc:
            log.warning("wecom: URL verification refused: %s", exc)
            return Response(status_code=403)

    @app.post(CALLBACK_PATH)
    async def callback(request: Request, msg_signature: str = "", timestamp: str = "", nonce: str = "") -> Response:
        body = await callback_body(request, MAX_BODY, "wecom")  # nothing is checked before: read within bounds
        if body is None:
            return Response(status_code=413)
        try:
            outer = _xml(body.decode("utf-8", "replace"))
            encrypted = outer.findtext("Encrypt") or ""
            key, message = incoming(crypto.open(msg_signature, timestamp, nonce, encrypted))
            check_fresh(timestamp)  # after the signature: the timestamp is the one WeCom signed
        except CallbackRejected as exc:
            log.warning("wecom: callback refused: %s", exc)
            return Response(status_code=403)
        if message is not None and message.extra.get("agent_id") not in ("", settings.wecom_agent_id):
            log.warning("wecom: a message for agent %s, not ours", message.extra.get("agent_id"))
            message = None
        if seen.first_time(key) and message is not None:
            state["bot"].spawn(message)
        return Response(status_code=200)  # empty: the answer goes through message/send

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def run_wecom(settings: Settings, service: Any) -> None:
    """Serve the callback URL until SIGINT or SIGTERM."""
    app = create_app(settings, service)
    log.info("wecom: listening on %s:%s%s", settings.listen, settings.port, CALLBACK_PATH)
    serve_http(app, settings)
