"""DingTalk (钉钉, also 浙政钉 and its kin): a robot in Stream mode, so no public IP is needed.

The bot asks `v1.0/gateway/connections/open` for a WebSocket endpoint and a ticket, subscribing
to the robot message topic, connects, and reads frames. Every frame is acknowledged (a
`SYSTEM` ping with its own data, a robot message at once, before it is answered); the answer
goes to the message's `sessionWebhook`. When the connection drops, or the gateway asks us to
`disconnect`, a new one is opened, waiting 1, 2, 4 … up to 60 seconds between failed attempts.

There is no per-message signature in Stream mode: the connection itself is authenticated (the
ticket is issued for our ClientID and ClientSecret), and a frame naming another robot
(`robotCode` other than our ClientID) is acknowledged and ignored. The gateway may deliver a
message again when an acknowledgement was lost, so messages are handled once per `msgId`.

A private chat's every text is a question; in a group DingTalk only delivers messages that
mention the robot. Replies are `text` messages (DingTalk reads no markup in them); they are
split below `MAX_TEXT_BYTES`. An admin's file (a private chat) is downloaded through
`v1.0/robot/messageFiles/download` with an access token from `v1.0/oauth2/accessToken`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
import signal
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx

from ..config import Settings
from ..errors import Blocked, ChannelApiError, ChannelConfigError
from . import follow
from .chat import ChatBot, Incoming, Markup, Seen, utf8_len
from .download import download_within

log = logging.getLogger(__name__)

TOPIC_ROBOT = "/v1.0/im/bot/messages/get"
# DingTalk publishes no size for a session-webhook text reply that we could find; this bound of
# ours keeps an answer to a few messages, each well inside what its robots take.
MAX_TEXT_BYTES = 5000
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
TOKEN_MARGIN = 300
USER_AGENT = "bulletin-bot (dingtalk stream)"

MARKUP = Markup("dingtalk", MAX_TEXT_BYTES, utf8_len)


def check_settings(settings: Settings) -> None:
    missing = [name for name, value in (
        ("BULLETIN_BOT_DINGTALK_CLIENT_ID", settings.dingtalk_client_id),
        ("BULLETIN_BOT_DINGTALK_CLIENT_SECRET", settings.dingtalk_client_secret)) if not value]
    if missing:
        raise ChannelConfigError(f"the DingTalk channel needs {', '.join(missing)} (see deploy/README.md)")


class DingTalkChannel:
    """Replies through session webhooks; writes first (deliveries) and downloads files with an app access token."""

    name = "dingtalk"
    markup = MARKUP

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.base = settings.dingtalk_api_base_url.rstrip("/")
        self._token = ""
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def send(self, message: Incoming, texts: Sequence[str]) -> None:
        webhook = message.extra["session_webhook"]
        if not webhook_allowed(webhook, self.settings.dingtalk_webhook_hosts):
            raise ChannelApiError(f"DingTalk session webhook on a host not in BULLETIN_BOT_DINGTALK_WEBHOOK_HOSTS: "
                                  f"{urlsplit(webhook).hostname!r}")
        for text in texts:
            r = await self.client.post(webhook, json={"msgtype": "text", "text": {"content": text}})
            data = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            if r.status_code != 200 or data.get("errcode"):
                raise ChannelApiError(f"DingTalk session webhook refused: HTTP {r.status_code} {data or r.text[:200]}")

    def address(self, message: Incoming) -> str:
        """Where a follower's deliveries go: the user (1:1) or the group, as DingTalk's APIs name them."""
        return f"user:{message.user}" if message.private else f"group:{message.chat}"

    async def push(self, chat: str, texts: Sequence[str]) -> None:
        """Write first (a follower's new articles): oToMessages/batchSend to a user, groupMessages/send
        to a group; `Blocked` when DingTalk lists the user as invalid (left, or outside the robot's range)."""
        kind, _, target = chat.partition(":")
        for text in texts:
            body = {"robotCode": self.settings.dingtalk_client_id, "msgKey": "sampleText",
                    "msgParam": json.dumps({"content": text}, ensure_ascii=False)}
            if kind == "user":
                path, body["userIds"] = "/v1.0/robot/oToMessages/batchSend", [target]
            else:
                path, body["openConversationId"] = "/v1.0/robot/groupMessages/send", target
            r = await self.client.post(f"{self.base}{path}", json=body,
                                       headers={"x-acs-dingtalk-access-token": await self.token()})
            data = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            if r.status_code != 200:
                raise ChannelApiError(f"DingTalk {path} refused: HTTP {r.status_code} {data or r.text[:200]}")
            if target in (data.get("invalidStaffIdList") or []):
                raise Blocked(f"DingTalk: user {target} is not reachable (invalidStaffIdList)")

    async def token(self) -> str:
        async with self._lock:
            if not self._token or time.monotonic() >= self._expires:
                r = await self.client.post(f"{self.base}/v1.0/oauth2/accessToken",
                                           json={"appKey": self.settings.dingtalk_client_id,
                                                 "appSecret": self.settings.dingtalk_client_secret})
                data = r.json()
                if r.status_code != 200 or "accessToken" not in data:
                    raise ChannelApiError(f"DingTalk accessToken refused: {data}")
                self._token = data["accessToken"]
                self._expires = time.monotonic() + max(60, int(data.get("expireIn", 7200)) - TOKEN_MARGIN)
            return self._token

    async def download(self, message: Incoming) -> bytes:
        r = await self.client.post(f"{self.base}/v1.0/robot/messageFiles/download",
                                   headers={"x-acs-dingtalk-access-token": await self.token()},
                                   json={"downloadCode": message.extra["download_code"],
                                         "robotCode": self.settings.dingtalk_client_id})
        url = r.json().get("downloadUrl") if r.status_code == 200 else None
        if not url:
            raise ChannelApiError(f"DingTalk file download refused: HTTP {r.status_code} {r.text[:200]}")
        return await download_within(self.client, "GET", url, self.settings.max_upload_bytes, "DingTalk file download")


def webhook_allowed(url: str, hosts: frozenset[str]) -> bool:
    """Whether a message's sessionWebhook points at one of DingTalk's own hosts, over HTTPS: the
    bot posts the answer there, so a forged frame must not make it post anywhere else, nor in
    clear text. Plain http only to a loopback address named in the hosts (the test stand-in)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if host not in hosts:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback(host))


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def incoming(data: dict, client_id: str) -> Incoming | None:
    """The message of a robot frame's data, or None when it is none of ours."""
    if data.get("robotCode") not in (None, "", client_id):
        log.warning("dingtalk: a message for robot %s, not ours", data.get("robotCode"))
        return None
    private = str(data.get("conversationType")) == "1"
    # admins are named by senderStaffId; senderId (which anyone's frame has) never makes one
    staff = str(data.get("senderStaffId") or "")
    common = dict(user=staff or str(data.get("senderId") or ""), chat=data.get("conversationId", ""),
                  private=private, mentioned=bool(data.get("isInAtList")), message_id=data.get("msgId", ""),
                  extra={"session_webhook": data.get("sessionWebhook", ""), "staff_id": staff})
    if not common["extra"]["session_webhook"]:
        return None
    kind = data.get("msgtype")
    if kind == "text":
        text = (data.get("text") or {}).get("content", "")
        if not private:  # the "@机器人" a group message may start with is not part of the question
            text = re.sub(r"^\s*(@\S+\s+)+", "", text)
        return Incoming(text=text, **common)
    if kind == "file" and private:
        content = data.get("content") or {}
        common["extra"]["download_code"] = content.get("downloadCode", "")
        return Incoming(text="", file_name=content.get("fileName") or "upload", **common)
    return None


def ack(frame: dict, data: Any, code: int = 200, message: str = "OK") -> str:
    headers = frame.get("headers") or {}
    return json.dumps({"code": code, "headers": {"contentType": "application/json", "messageId": headers.get("messageId", "")},
                       "message": message, "data": json.dumps(data)})


class DingTalkStream:
    """The Stream-mode client: connect, acknowledge and dispatch frames, reconnect with backoff."""

    def __init__(self, settings: Settings, service: Any, runner: Any = None, first_backoff: float = FIRST_BACKOFF) -> None:
        check_settings(settings)
        self.settings = settings
        self.service = service
        self.runner = runner
        self.first_backoff = first_backoff
        self.seen = Seen()
        self.connections = 0  # opened so far (the tests watch reconnects)
        self.bot: ChatBot | None = None

    async def _open(self, client: httpx.AsyncClient) -> str:
        r = await client.post(f"{self.settings.dingtalk_api_base_url.rstrip('/')}/v1.0/gateway/connections/open", json={
            "clientId": self.settings.dingtalk_client_id, "clientSecret": self.settings.dingtalk_client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": TOPIC_ROBOT}], "ua": USER_AGENT, "localIp": "",
        }, headers={"Accept": "application/json"})
        data = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code != 200 or not data.get("endpoint") or not data.get("ticket"):
            raise ChannelApiError(f"DingTalk connections/open refused: HTTP {r.status_code} {data or r.text[:200]}")
        return f"{data['endpoint']}?ticket={quote_plus(data['ticket'])}"

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until `stop` is set."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        async with httpx.AsyncClient(timeout=30.0) as client:
            self.bot = ChatBot(self.service, self.settings, DingTalkChannel(self.settings, client),
                               self.settings.dingtalk_admins, self.runner)
            admins = self.settings.dingtalk_admins
            self.bot.is_admin = lambda m: bool(m.extra.get("staff_id")) and m.extra["staff_id"] in admins
            backoff = self.first_backoff
            while not stop.is_set():
                try:
                    url = await self._open(client)
                    async with connect(url, open_timeout=20, ping_interval=30, max_size=4 * 1024 * 1024) as ws:
                        self.connections += 1
                        log.info("dingtalk: connected (%d)", self.connections)
                        backoff = self.first_backoff
                        await self._serve(ws, stop)
                except (OSError, httpx.HTTPError, WebSocketException, ChannelApiError, ValueError) as exc:
                    log.warning("dingtalk: connection failed or dropped: %s; again in %.0f s", exc, backoff)
                except Exception:  # whatever went wrong, the bot must come back rather than exit
                    log.exception("dingtalk: unexpected failure; reconnecting in %.0f s", backoff)
                if not stop.is_set():
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
            follow.stop_delivery(self.bot)
            await asyncio.gather(*self.bot.tasks, return_exceptions=True)

    async def _serve(self, ws: Any, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                receiving = asyncio.ensure_future(ws.recv())
                await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stopping.done():
                    receiving.cancel()
                    return
                raw = receiving.result()  # raises ConnectionClosed when the gateway hung up
                if not await self._frame(ws, raw):
                    return
        finally:
            stopping.cancel()

    async def _frame(self, ws: Any, raw: str | bytes) -> bool:
        """Acknowledge and dispatch one frame; False when the gateway asked us to reconnect."""
        try:
            frame = json.loads(raw)
            if not isinstance(frame, dict):  # `[1]`: no frame of the gateway's; ignored, the stream goes on
                raise TypeError("not a JSON object")
            data = json.loads(frame.get("data") or "{}")
        except (ValueError, TypeError):
            log.warning("dingtalk: a frame that is not a JSON object: %.200r", raw)
            return True
        kind, topic = frame.get("type"), (frame.get("headers") or {}).get("topic")
        if kind == "SYSTEM":
            await ws.send(ack(frame, data))
            if topic == "disconnect":
                log.info("dingtalk: the gateway asked us to reconnect")
                return False
            return True
        if kind == "CALLBACK" and topic == TOPIC_ROBOT:
            await ws.send(ack(frame, {"response": None}))  # first: the gateway redelivers what it does not hear of
            message = incoming(data, self.settings.dingtalk_client_id) if isinstance(data, dict) else None
            key = str(data.get("msgId") or (frame.get("headers") or {}).get("messageId")) if isinstance(data, dict) else ""
            if message is not None and self.seen.first_time(key):
                self.bot.spawn(message)
            return True
        await ws.send(ack(frame, {"response": None}, 404, "unknown topic"))
        return True


def run_dingtalk(settings: Settings, service: Any) -> None:
    """Stay connected until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        await DingTalkStream(settings, service).run(stop)

    asyncio.run(main())
