"""A Feishu (飞书) stand-in on 127.0.0.1: the Open API the bot calls, and the event pushes it receives.

The API answers `auth/v3/tenant_access_token/internal`, `bot/v3/info`,
`im/v1/messages/{id}/reply` and `im/v1/messages/{id}/resources/{key}` as Feishu documents them:
a token that expires (code 99991663 after), a post message refused past 30 KB or when not
well-formed. Events are `schema 2.0` `im.message.receive_v1` pushes, encrypted with the Encrypt
Key (SHA-256 key, random IV, AES-256-CBC; written here with `cryptography`, not with the bot's
module) and signed with `X-Lark-Signature`, as Feishu sends them.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import time
import uuid

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from channel_helpers import JsonHTTP, wait_for

APP_ID = "cli_standin0123"
APP_SECRET = "standin-app-secret"
VERIFICATION_TOKEN = "v-token-standin"
ENCRYPT_KEY = "standin encrypt key"
BOT_OPEN_ID = "ou_bot0000000000"
MAX_POST_BYTES = 30 * 1024


def feishu_encrypt(plain: str, key: str = ENCRYPT_KEY) -> str:
    aes = hashlib.sha256(key.encode()).digest()
    iv = os.urandom(16)
    data = plain.encode()
    pad = 16 - len(data) % 16
    enc = Cipher(algorithms.AES(aes), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + enc.update(data + bytes([pad]) * pad) + enc.finalize()).decode()


class FeishuStandin(JsonHTTP):
    def __init__(self, encrypt_key: str = ENCRYPT_KEY) -> None:
        super().__init__()
        self.encrypt_key = encrypt_key
        self.tokens: dict[str, float] = {}
        self.replies: list[dict] = []  # {"to": message_id, "text": shown text, "body": raw}
        self.refused: list[tuple[int, str]] = []
        self.files: dict[str, bytes] = {}
        self.events_url = ""
        self._ids = itertools.count(1)
        self.routes[("POST", "/open-apis/auth/v3/tenant_access_token/internal")] = self._token
        self.routes[("GET", "/open-apis/bot/v3/info")] = self._bot_info
        self.routes[("POST", "/open-apis/im/v1/messages/*")] = self._reply
        self.routes[("POST", "/open-apis/im/v1/messages")] = self._create
        self.pushed: list[dict] = []  # messages the bot wrote first: {"to": chat_id, "text": shown text}
        self.gone: set[str] = set()  # chats the bot was removed from: message create refuses them
        self.routes[("GET", "/open-apis/im/v1/messages/*")] = self._resource

    # ------------------------------------------------------------ the API

    def _token(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        data = json.loads(body)
        if data.get("app_id") != APP_ID or data.get("app_secret") != APP_SECRET:
            return 200, {"code": 10014, "msg": "app secret invalid"}
        token = f"t-{next(self._ids)}"
        self.tokens[token] = time.monotonic() + 7200
        return 200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200}

    def _authorized(self, headers: dict) -> int:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return 99991661
        return 99991663 if time.monotonic() >= self.tokens[token] else 0

    def expire_tokens(self) -> None:
        self.tokens = {t: 0.0 for t in self.tokens}

    def _bot_info(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        if code := self._authorized(headers):
            return 400, {"code": code, "msg": "token invalid"}
        return 200, {"code": 0, "msg": "ok", "bot": {"open_id": BOT_OPEN_ID, "app_name": "简报助手"}}

    def _create(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        """im/v1/messages?receive_id_type=chat_id: a message the bot writes first."""
        if code := self._authorized(headers):
            return 400, {"code": code, "msg": "token invalid or expired"}
        if query.get("receive_id_type") != "chat_id":
            return self._refuse(230001, "receive_id_type must be chat_id here")
        chat = json.loads(body).get("receive_id", "")
        if chat in self.gone:
            return self._refuse(230002, "Bot is not in the chat")
        return self._post(body, lambda text, data: self.pushed.append({"to": chat, "text": text, "body": data}))

    def pushed_to(self, chat: str) -> list[str]:
        with self.lock:
            return [r["text"] for r in self.pushed if r["to"] == chat]

    def _reply(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        path = query["_path"]
        if not path.endswith("/reply"):
            return 404, {"code": 404, "msg": "not found"}
        if code := self._authorized(headers):
            return 400, {"code": code, "msg": "token invalid or expired"}
        return self._post(body, lambda text, data: self.replies.append({"to": path.split("/")[-2], "text": text,
                                                                          "body": data}))

    def _post(self, body: bytes, keep) -> tuple[int, dict]:
        """A post message's checks, as Feishu makes them for a reply and a new message alike."""
        if len(body) > MAX_POST_BYTES:
            return self._refuse(230025, f"request body {len(body)} bytes: message content too long")
        data = json.loads(body)
        if data.get("msg_type") != "post":
            return self._refuse(230001, "msg_type must be post here")
        try:
            post = json.loads(data["content"])["zh_cn"]
            lines = []
            for paragraph in post["content"]:
                if any(el.get("tag") != "text" or not isinstance(el.get("text"), str) for el in paragraph):
                    return self._refuse(230001, "only text elements expected")
                lines.append("".join(el["text"] for el in paragraph))
        except (KeyError, ValueError, TypeError):
            return self._refuse(230001, "invalid post content")
        text = "\n".join(lines)
        if not text.strip():
            return self._refuse(230001, "empty message")
        with self.lock:
            keep(text, data)
        return 200, {"code": 0, "msg": "success", "data": {"message_id": f"om_reply_{next(self._ids)}"}}

    def _refuse(self, code: int, message: str) -> tuple[int, dict]:
        with self.lock:
            self.refused.append((code, message))
        return 400, {"code": code, "msg": message}

    def _resource(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict | bytes]:
        if code := self._authorized(headers):
            return 400, {"code": code, "msg": "token invalid"}
        key = query["_path"].rsplit("/", 1)[-1]
        if query.get("type") != "file" or key not in self.files:
            return 400, {"code": 234003, "msg": "file not found"}
        return 200, self.files[key]

    def texts_to(self, message_id: str) -> list[str]:
        with self.lock:
            return [r["text"] for r in self.replies if r["to"] == message_id]

    def wait_texts(self, message_id: str, count: int = 1, timeout: float = 10.0) -> list[str]:
        return wait_for(lambda: (lambda t: t if len(t) >= count else None)(self.texts_to(message_id)),
                        timeout, f"{count} repl(ies) to {message_id}")

    # ------------------------------------------------------------ the events

    def message_event(self, text: str, user: str, chat_type: str = "p2p", mention: str | None = None,
                      message_type: str = "text", content: dict | None = None, event_id: str | None = None,
                      token: str = VERIFICATION_TOKEN) -> dict:
        message_id = f"om_{uuid.uuid4().hex[:16]}"
        mentions = []
        if mention is not None:
            text = f"@_user_1 {text}"
            mentions = [{"key": "@_user_1", "id": {"open_id": mention, "union_id": "on_x", "user_id": ""},
                         "name": "简报助手", "tenant_key": "tk"}]
        return {
            "schema": "2.0",
            "header": {"event_id": event_id or uuid.uuid4().hex, "token": token, "create_time": str(int(time.time() * 1000)),
                       "event_type": "im.message.receive_v1", "tenant_key": "tk", "app_id": APP_ID},
            "event": {
                "sender": {"sender_id": {"union_id": f"on_{user}", "user_id": f"u_{user}", "open_id": user},
                           "sender_type": "user", "tenant_key": "tk"},
                "message": {"message_id": message_id, "root_id": "", "parent_id": "", "create_time": str(int(time.time() * 1000)),
                            "chat_id": f"oc_{user}" if chat_type == "p2p" else "oc_group", "chat_type": chat_type,
                            "message_type": message_type,
                            "content": json.dumps(content if content is not None else {"text": text}, ensure_ascii=False),
                            "mentions": mentions},
            },
        }

    def push(self, payload: dict, encrypt_key: str | None = None, sign: bool = True,
             signature: str | None = None, timestamp: str | None = None) -> httpx.Response:
        """POST an event as Feishu does: encrypted and signed when the app has an Encrypt Key."""
        key = self.encrypt_key if encrypt_key is None else encrypt_key
        plain = json.dumps(payload, ensure_ascii=False)
        body = json.dumps({"encrypt": feishu_encrypt(plain, key)}).encode() if key else plain.encode()
        timestamp, nonce = timestamp or str(int(time.time())), uuid.uuid4().hex
        headers = {"Content-Type": "application/json"}
        if key and sign:
            headers.update({
                "X-Lark-Request-Timestamp": timestamp, "X-Lark-Request-Nonce": nonce,
                "X-Lark-Signature": signature or hashlib.sha256((timestamp + nonce + key).encode() + body).hexdigest(),
            })
        return httpx.post(self.events_url, content=body, headers=headers)

    def say(self, text: str, user: str, **kwargs) -> tuple[str, httpx.Response]:
        event = self.message_event(text, user, **kwargs)
        return event["event"]["message"]["message_id"], self.push(event)
