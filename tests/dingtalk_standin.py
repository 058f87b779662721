"""A DingTalk (钉钉) Stream-mode stand-in on 127.0.0.1: the gateway, the session webhooks, the file API.

`connections/open` hands out a WebSocket endpoint and a one-time ticket; the WebSocket gateway
refuses any other ticket, sends frames shaped as the Stream protocol documents them (`SYSTEM`
ping/disconnect, `CALLBACK` on `/v1.0/im/bot/messages/get` with the robot message JSON in
`data`) and records every acknowledgement. The session webhook records text replies and, like a
platform that will not take an oversized message, refuses one past `MAX_TEXT_BYTES` (our own
bound: see `bulletin_bot.channels.dingtalk`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channel_helpers import JsonHTTP, wait_for

CLIENT_ID = "dingstandin0123456"
CLIENT_SECRET = "standin-client-secret"
TOPIC = "/v1.0/im/bot/messages/get"
MAX_TEXT_BYTES = 5000


class DingTalkStandin(JsonHTTP):
    def __init__(self) -> None:
        super().__init__()
        self.tickets: set[str] = set()
        self.opened: list[dict] = []  # connections/open bodies
        self.acks: list[dict] = []
        self.replies: list[dict] = []  # {"session": …, "text": …}
        self.refused: list[tuple[int, str]] = []
        self.files: dict[str, bytes] = {}
        self.handshakes = 0
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._ws: Any = None
        self._ws_server: Any = None
        self.routes[("POST", "/v1.0/gateway/connections/open")] = self._open
        self.routes[("POST", "/robot/sendBySession")] = self._session
        self.routes[("POST", "/v1.0/oauth2/accessToken")] = self._token
        self.routes[("POST", "/v1.0/robot/messageFiles/download")] = self._download
        self.routes[("GET", "/files/*")] = self._file
        self.routes[("POST", "/v1.0/robot/oToMessages/batchSend")] = self._push
        self.routes[("POST", "/v1.0/robot/groupMessages/send")] = self._push
        self.pushed: list[dict] = []  # messages the robot wrote first: {"to": "user:…"/"group:…", "text": …}
        self.gone: set[str] = set()  # users who left: batchSend lists them in invalidStaffIdList

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "DingTalkStandin":
        super().start()
        from websockets.asyncio.server import serve

        async def boot() -> None:
            self._ws_server = await serve(self._connection, "127.0.0.1", 0, process_request=self._check_ticket)

        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(boot(), self._loop).result(10)
        return self

    def stop(self) -> None:
        async def down() -> None:
            self._ws_server.close()
            await self._ws_server.wait_closed()

        asyncio.run_coroutine_threadsafe(down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        super().stop()

    @property
    def ws_url(self) -> str:
        port = next(iter(self._ws_server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/connect"

    # ------------------------------------------------------------ the HTTP API

    def _open(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        data = json.loads(body)
        if data.get("clientId") != CLIENT_ID or data.get("clientSecret") != CLIENT_SECRET:
            return 401, {"code": "InvalidAuthentication", "message": "clientId or clientSecret invalid"}
        if {"type": "CALLBACK", "topic": TOPIC} not in data.get("subscriptions", []):
            return 400, {"code": "InvalidSubscription", "message": "no robot topic"}
        ticket = uuid.uuid4().hex
        with self.lock:
            self.opened.append(data)
            self.tickets.add(ticket)
        return 200, {"endpoint": self.ws_url, "ticket": ticket}

    def _session(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        data = json.loads(body)
        content = (data.get("text") or {}).get("content", "")
        if data.get("msgtype") != "text" or not content.strip():
            return self._refuse(400102, "msgtype or content invalid")
        if len(content.encode()) > MAX_TEXT_BYTES:
            return self._refuse(460101, "message too long")
        with self.lock:
            self.replies.append({"session": query.get("session", ""), "text": content})
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _push(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        data = json.loads(body)
        if headers.get("x-acs-dingtalk-access-token") != "at-standin" or data.get("robotCode") != CLIENT_ID:
            return 401, {"code": "InvalidAuthentication", "message": "bad token"}
        try:
            content = json.loads(data["msgParam"])["content"] if data.get("msgKey") == "sampleText" else ""
        except (KeyError, ValueError, TypeError):
            content = ""
        if not content.strip() or len(content.encode()) > MAX_TEXT_BYTES:
            return 400, {"code": "invalidParameter.msgParam", "message": "content empty or too long"}
        if "userIds" in data:
            invalid = [u for u in data["userIds"] if u in self.gone]
            with self.lock:
                self.pushed += [{"to": f"user:{u}", "text": content} for u in data["userIds"] if u not in self.gone]
            return 200, {"processQueryKey": f"q{next(self._ids)}", "invalidStaffIdList": invalid,
                         "flowControlledStaffIdList": []}
        with self.lock:
            self.pushed.append({"to": f"group:{data.get('openConversationId', '')}", "text": content})
        return 200, {"processQueryKey": f"q{next(self._ids)}"}

    def pushed_to(self, address: str) -> list[str]:
        with self.lock:
            return [r["text"] for r in self.pushed if r["to"] == address]

    def _refuse(self, code: int, message: str) -> tuple[int, dict]:
        with self.lock:
            self.refused.append((code, message))
        return 200, {"errcode": code, "errmsg": message}

    def _token(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        data = json.loads(body)
        if data.get("appKey") != CLIENT_ID or data.get("appSecret") != CLIENT_SECRET:
            return 400, {"code": "invalidClientIdOrSecret", "message": "bad app key"}
        return 200, {"accessToken": "at-standin", "expireIn": 7200}

    def _download(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        data = json.loads(body)
        if headers.get("x-acs-dingtalk-access-token") != "at-standin" or data.get("robotCode") != CLIENT_ID:
            return 401, {"code": "InvalidAuthentication", "message": "bad token"}
        if data.get("downloadCode") not in self.files:
            return 400, {"code": "invalidDownloadCode", "message": "unknown file"}
        return 200, {"downloadUrl": f"{self.base_url}/files/{data['downloadCode']}"}

    def _file(self, query: dict, body: bytes, headers: dict) -> tuple[int, bytes]:
        return 200, self.files.get(query["_path"].rsplit("/", 1)[-1], b"")

    # ------------------------------------------------------------ the WebSocket gateway

    def _check_ticket(self, connection: Any, request: Any) -> Any:
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        with self.lock:
            if ticket not in self.tickets:
                return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
            self.tickets.discard(ticket)  # one connection per ticket
        return None

    async def _connection(self, ws: Any) -> None:
        self._ws = ws
        self.handshakes += 1
        async for raw in ws:
            with self.lock:
                self.acks.append(json.loads(raw))

    @property
    def connected(self) -> bool:
        ws = self._ws
        return ws is not None and ws.state.name == "OPEN"

    def send_frame(self, frame: dict) -> None:
        wait_for(lambda: self.connected, what="the bot's stream connection")
        asyncio.run_coroutine_threadsafe(self._ws.send(json.dumps(frame, ensure_ascii=False)), self._loop).result(10)

    def drop(self) -> None:
        """The gateway goes away (network drop): the socket closes without a disconnect frame."""
        asyncio.run_coroutine_threadsafe(self._ws.close(code=1011, reason="gateway restart"), self._loop).result(10)

    def frame(self, kind: str, topic: str, data: dict, message_id: str | None = None) -> dict:
        return {"specVersion": "1.0", "type": kind,
                "headers": {"appId": "standin-app", "connectionId": "c1", "contentType": "application/json",
                            "messageId": message_id or uuid.uuid4().hex, "time": str(int(time.time() * 1000)),
                            "topic": topic},
                "data": json.dumps(data, ensure_ascii=False)}

    def robot_message(self, text: str, user: str, group: bool = False, at: bool = False, msg_id: str | None = None,
                      robot_code: str = CLIENT_ID, msgtype: str = "text", content: dict | None = None) -> dict:
        session = uuid.uuid4().hex
        data = {
            "conversationId": "cidGroup==" if group else f"cid{user}==", "conversationType": "2" if group else "1",
            "chatbotCorpId": "dingcorp", "chatbotUserId": "$:LWCP_v1:$bot", "msgId": msg_id or f"msg{uuid.uuid4().hex}",
            "senderNick": user, "isAdmin": False, "senderStaffId": user, "senderId": f"$:LWCP_v1:${user}",
            "sessionWebhookExpiredTime": int(time.time() * 1000) + 5400_000, "createAt": int(time.time() * 1000),
            "senderCorpId": "dingcorp", "isInAtList": at, "robotCode": robot_code, "msgtype": msgtype,
            "sessionWebhook": f"{self.base_url}/robot/sendBySession?session={session}",
        }
        if msgtype == "text":
            data["text"] = {"content": text}
        else:
            data["content"] = content or {}
        if group:
            data["conversationTitle"] = "学习群"
        return data

    def say(self, text: str, user: str, **kwargs) -> tuple[str, str]:
        """A user's message goes out as a CALLBACK frame; (its session, the frame's messageId)."""
        data = self.robot_message(text, user, **kwargs)
        frame = self.frame("CALLBACK", TOPIC, data)
        self.send_frame(frame)
        return parse_qs(urlsplit(data["sessionWebhook"]).query)["session"][0], frame["headers"]["messageId"]

    def texts_to(self, session: str) -> list[str]:
        with self.lock:
            return [r["text"] for r in self.replies if r["session"] == session]

    def wait_texts(self, session: str, count: int = 1, timeout: float = 10.0) -> list[str]:
        return wait_for(lambda: (lambda t: t if len(t) >= count else None)(self.texts_to(session)),
                        timeout, f"{count} repl(ies) on session {session}")

    def ack_of(self, message_id: str, timeout: float = 10.0) -> dict:
        def find() -> dict | None:
            with self.lock:
                return next((a for a in self.acks if a.get("headers", {}).get("messageId") == message_id), None)

        return wait_for(find, timeout, f"the ack of {message_id}")
