"""A WeCom (企业微信) stand-in on 127.0.0.1: the API the bot calls, and the server that calls back.

The API side answers `cgi-bin/gettoken` and `cgi-bin/message/send` as WeCom documents them:
a token that expires, errcode 42001 for an expired one, and, since WeCom cuts text messages past
2,048 bytes, errcode 45002 for a longer one, so a test passing here never relied on a cut.
The callback side encrypts and signs messages exactly as WeCom's WXBizMsgCrypt does (written
here again with `cryptography`, not with the bot's own module) and POSTs them to the bot.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import struct
import time

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from channel_helpers import JsonHTTP, wait_for

CORP_ID = "wwstandin0123456789"
AGENT_ID = "1000002"
SECRET = "standin-secret"
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
MAX_TEXT_BYTES = 2048


def wecom_encrypt(plain: str, aes_key: str = AES_KEY, receive_id: str = CORP_ID) -> str:
    key = base64.b64decode(aes_key + "=")
    body = plain.encode()
    data = os.urandom(16) + struct.pack(">I", len(body)) + body + receive_id.encode()
    pad = 32 - len(data) % 32
    data += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def wecom_sign(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


class WeComStandin(JsonHTTP):
    def __init__(self, token_seconds: int = 7200) -> None:
        super().__init__()
        self.token_seconds = token_seconds
        self.tokens: dict[str, float] = {}  # access token -> expiry
        self.sent: list[dict] = []  # accepted message/send bodies
        self.refused: list[tuple[int, dict]] = []
        self.gone: set[str] = set()  # users who left (or are outside the app's range): message/send refuses them
        self.callback_url = ""
        self._ids = itertools.count(1)
        self.routes[("GET", "/cgi-bin/gettoken")] = self._gettoken
        self.routes[("POST", "/cgi-bin/message/send")] = self._send

    # ------------------------------------------------------------ the API

    def _gettoken(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        if query.get("corpid") != CORP_ID or query.get("corpsecret") != SECRET:
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        token = f"token-{next(self._ids)}"
        self.tokens[token] = time.monotonic() + self.token_seconds
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_seconds}

    def expire_tokens(self) -> None:
        self.tokens = {t: 0.0 for t in self.tokens}

    def _send(self, query: dict, body: bytes, headers: dict) -> tuple[int, dict]:
        data = json.loads(body)
        expiry = self.tokens.get(query.get("access_token", ""))
        if expiry is None:
            return self._refuse(40014, "invalid access_token", data)
        if time.monotonic() >= expiry:
            return self._refuse(42001, "access_token expired", data)
        if str(data.get("agentid")) != AGENT_ID or data.get("msgtype") != "text":
            return self._refuse(40056, "invalid agentid or msgtype", data)
        content = data.get("text", {}).get("content", "")
        if not content.strip():
            return self._refuse(44004, "empty content", data)
        if len(content.encode()) > MAX_TEXT_BYTES:
            return self._refuse(45002, "content size out of limit", data)
        if data.get("touser") in self.gone:
            return self._refuse(81013, "user & party & tag all invalid", data)
        with self.lock:
            self.sent.append(data)
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": f"m{next(self._ids)}"}

    def _refuse(self, code: int, message: str, data: dict) -> tuple[int, dict]:
        with self.lock:
            self.refused.append((code, data))
        return 200, {"errcode": code, "errmsg": message}

    def texts_to(self, user: str) -> list[str]:
        with self.lock:
            return [m["text"]["content"] for m in self.sent if m["touser"] == user]

    def wait_texts(self, user: str, count: int, after: int = 0, timeout: float = 10.0) -> list[str]:
        return wait_for(lambda: (lambda t: t[after:] if len(t) >= after + count else None)(self.texts_to(user)),
                        timeout, f"{count} message(s) to {user}")

    # ------------------------------------------------------------ the callbacks

    def message_xml(self, text: str, user: str, msg_id: str | None = None, msg_type: str = "text") -> str:
        msg_id = msg_id or str(4561255354251345929 + next(self._ids))
        return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
                f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>")

    def post(self, plain_xml: str, token: str = TOKEN, aes_key: str = AES_KEY, signature: str | None = None,
             tamper: bool = False, timestamp: str | None = None) -> httpx.Response:
        """POST one callback as WeCom does: `<xml><ToUserName/><Encrypt/><AgentID/></xml>`, signed in the query."""
        encrypted = wecom_encrypt(plain_xml, aes_key)
        if tamper:  # one byte of the ciphertext changed after signing
            raw = bytearray(base64.b64decode(encrypted))
            raw[-20] ^= 0x01
            signed = encrypted
            encrypted = base64.b64encode(bytes(raw)).decode()
        else:
            signed = encrypted
        timestamp, nonce = timestamp or str(int(time.time())), str(next(self._ids) + 1372623149)
        sig = signature or wecom_sign(token, timestamp, nonce, signed)
        body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
                f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>")
        return httpx.post(self.callback_url, params={"msg_signature": sig, "timestamp": timestamp, "nonce": nonce},
                          content=body.encode(), headers={"Content-Type": "text/xml"})

    def say(self, text: str, user: str, msg_id: str | None = None) -> httpx.Response:
        return self.post(self.message_xml(text, user, msg_id))

    def verify(self, echo: str = "1616140317555161061", token: str = TOKEN) -> httpx.Response:
        encrypted = wecom_encrypt(echo)
        timestamp, nonce = str(int(time.time())), "263014780"
        return httpx.get(self.callback_url, params={"msg_signature": wecom_sign(token, timestamp, nonce, encrypted),
                                                    "timestamp": timestamp, "nonce": nonce, "echostr": encrypted})
