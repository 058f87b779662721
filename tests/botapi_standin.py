"""A Telegram Bot API stand-in on 127.0.0.1 for end-to-end bot tests (stdlib only).

Point the bot at it with `base_url(standin.base_url)` / `base_file_url(standin.file_url)`.
The test plays the users: `say()`, `press()` and `send_document()` queue updates that the bot
fetches with getUpdates (long polling). Everything the bot calls is recorded in `calls`, and
the bot's messages are kept as the user would see them now (edits applied) in `messages`.

Like Telegram, it refuses HTML that does not parse (unknown or unbalanced tags, bad entities),
texts longer than 4096 characters after parsing, and callback_data over 64 bytes, so a test
passing here means Telegram would have accepted the same calls.
"""

from __future__ import annotations

import email.parser
import email.policy
import html.parser
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _TelegramHTML(html.parser.HTMLParser):
    """Telegram's HTML rules, strictly: only its tags, balanced, and only its named entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in ALLOWED_TAGS:
            self.errors.append(f"unsupported start tag \"{tag}\"")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.errors.append(f"unsupported self-closing tag \"{tag}\"")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unmatched end tag \"{tag}\"")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.errors.append("unescaped \"<\"")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            self.errors.append(f"unsupported entity \"&{name};\"")
        self.text.append(NAMED_ENTITIES.get(name, "?"))

    def handle_charref(self, name: str) -> None:
        self.text.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))

    def unknown_decl(self, data: str) -> None:
        self.errors.append("unsupported declaration")


def parse_html(text: str) -> str:
    """The plain text Telegram would show, or ApiError like Telegram's "can't parse entities"."""
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if re.search(r"&(?![A-Za-z]+;|#\d+;|#[xX][0-9A-Fa-f]+;)", text):
        parser.errors.append("unescaped \"&\"")
    if parser.stack:
        parser.errors.append(f"unclosed tag \"{parser.stack[-1]}\"")
    if parser.errors:
        raise ApiError(400, f"Bad Request: can't parse entities: {parser.errors[0]}")
    return "".join(parser.text)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class User:
    id: int
    first_name: str
    username: str = ""

    def to_api(self) -> dict:
        data = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class Chat:
    id: int
    type: str = "private"  # "private", "group", "supergroup"
    title: str = ""

    def to_api(self) -> dict:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            data["title"] = self.title
        else:
            data["first_name"] = "user"
        return data


class BotAPIStandin:
    """The server, its recorded calls, and the users' side of the conversation."""

    def __init__(self, token: str, username: str = "bulletin_test_bot") -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.username = username
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict] = {}  # the bot's messages as now shown
        self.files: dict[str, bytes] = {}
        self.documents: dict[int, list[tuple[str, bytes, str]]] = {}  # chat -> (file name, bytes, caption)
        self.blocked: set[int] = set()  # chats whose user blocked the bot: sending there is Forbidden
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._closed = False
        self._max_delivered = 0  # highest update_id handed to the bot
        self._delivered_at = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "BotAPIStandin":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                standin._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                standin._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="botapi-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "BotAPIStandin":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------ the users' side

    def _push(self, kind: str, payload: dict) -> dict:
        with self._cond:
            update = {"update_id": next(self._update_ids), kind: payload}
            self._updates.append(update)
            self._cond.notify_all()
        return update

    def _message(self, user: User, chat: Chat, **fields: Any) -> dict:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat.to_api(),
            "from": user.to_api(),
            **fields,
        }

    def say(self, text: str, user: User, chat: Chat | None = None) -> dict:
        """A user sends `text`; commands and @mentions get their entities, as Telegram adds them."""
        chat = chat or Chat(user.id)
        entities = []
        command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group())})
        for m in re.finditer(r"(?<![A-Za-z0-9_])@[A-Za-z0-9_]{5,}", text):
            if command and m.start() < command.end():
                continue
            entities.append(
                {"type": "mention", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
            )
        fields: dict[str, Any] = {"text": text}
        if entities:
            fields["entities"] = entities
        message = self._message(user, chat, **fields)
        self._push("message", message)
        return message

    def send_document(self, name: str, data: bytes, user: User, chat: Chat | None = None, size: int | None = None) -> dict:
        """A user sends a file; `size` overrides the size Telegram announces."""
        file_id = f"file{next(self._ids)}"
        self.files[file_id] = data
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "file_size": len(data) if size is None else size,
        }
        message = self._message(user, chat or Chat(user.id), document=document)
        self._push("message", message)
        return message

    def press(self, message: dict, data: str, user: User) -> str:
        """A user presses the inline button with `data` under one of the bot's messages."""
        buttons = [
            b["callback_data"]
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
            if "callback_data" in b
        ]
        assert data in buttons, f"no button {data!r} under message {message['message_id']}: {buttons}"
        query_id = str(next(self._ids))
        self._push(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_api(),
                "chat_instance": "ci",
                "data": data,
                "message": _public(message),
            },
        )
        return query_id

    # ------------------------------------------------------------ what the users see

    def calls_of(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def bot_messages(self, chat_id: int | None = None) -> list[dict]:
        with self._cond:
            return [m for (c, _), m in sorted(self.messages.items(), key=lambda kv: kv[0][1]) if chat_id in (None, c)]

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "condition") -> Any:
        """Poll `predicate()` until truthy; its value, or AssertionError naming `what`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; calls: {[c.method for c in self.calls]}")

    def wait_messages(self, chat_id: int, count: int, after: int = 0, timeout: float = 10.0) -> list[dict]:
        """Wait until the bot has sent `count` messages in `chat_id` beyond the first `after`."""
        return self.wait_for(
            lambda: (lambda ms: ms[after:] if len(ms) >= after + count else None)(self.bot_messages(chat_id)),
            timeout,
            f"{count} bot message(s) in chat {chat_id}",
        )

    def answered(self, query_id: str, timeout: float = 10.0) -> Call:
        """Wait for the bot's answerCallbackQuery to the button press `query_id`."""
        return self.wait_for(
            lambda: next((c for c in self.calls_of("answerCallbackQuery") if c.params.get("callback_query_id") == query_id), None),
            timeout,
            f"answerCallbackQuery({query_id})",
        )

    def idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until every update was fetched and the bot made no call for `quiet` seconds since."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                last = max((c.at for c in self.calls if c.method != "getUpdates"), default=0.0)
                last = max(last, self._delivered_at)
                pending = any(u["update_id"] > self._max_delivered for u in self._updates)
            if not pending and time.monotonic() - last >= quiet:
                return
            time.sleep(0.05)
        raise AssertionError("bot did not go idle")

    # ------------------------------------------------------------ HTTP

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = unquote(urlsplit(request.path).path)  # PTB percent-encodes the token's ":" in file URLs
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        file_prefix = f"/file/bot{self.token}/"
        if path.startswith("/file/bot"):
            if not path.startswith(file_prefix):
                return self._reply(request, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            data = self.files.get(path[len(file_prefix) :].rsplit("/", 1)[-1].split(".")[0])
            if data is None:
                return self._reply(request, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return self._send(request, 200, data, "application/octet-stream")
        m = re.fullmatch(r"/bot([^/]+)/(\w+)", path)
        if not m or m.group(1) != self.token:
            return self._reply(request, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = m.group(2)
        params = _parse_params(request.headers.get("Content-Type", ""), body, urlsplit(request.path).query)
        with self._cond:
            self.calls.append(Call(method, params))
        try:
            result = self._call(method, params)
        except ApiError as exc:
            return self._reply(request, exc.code, {"ok": False, "error_code": exc.code, "description": exc.description})
        self._reply(request, 200, {"ok": True, "result": result})

    def _reply(self, request: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        self._send(request, status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, kind: str) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", kind)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the bot hung up (shutdown mid long-poll)
            pass

    # ------------------------------------------------------------ methods

    def _me(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "简报助手",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _call(self, method: str, p: dict) -> Any:
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        return handler(p)

    def _api_getMe(self, p: dict) -> dict:  # noqa: N802
        return self._me()

    def _api_deleteWebhook(self, p: dict) -> bool:  # noqa: N802
        return True

    def _api_setWebhook(self, p: dict) -> bool:  # noqa: N802
        return True

    def _api_setMyCommands(self, p: dict) -> bool:  # noqa: N802
        for c in p.get("commands", []):
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c["command"]) or not 1 <= len(c["description"]) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        return True

    def _api_sendChatAction(self, p: dict) -> bool:  # noqa: N802
        return True

    def _api_answerCallbackQuery(self, p: dict) -> bool:  # noqa: N802
        if len(p.get("text", "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _api_close(self, p: dict) -> bool:
        return True

    def _api_getUpdates(self, p: dict) -> list:  # noqa: N802
        offset = int(p.get("offset") or 0)
        timeout = min(float(p.get("timeout") or 0), 1.0)  # short, so tests shut down fast
        deadline = time.monotonic() + timeout
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch = list(self._updates[: int(p.get("limit") or 100)])
            if batch:
                self._max_delivered = max(self._max_delivered, batch[-1]["update_id"])
                self._delivered_at = time.monotonic()
            return batch

    def _api_getFile(self, p: dict) -> dict:  # noqa: N802
        file_id = p["file_id"]
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}.bin",
        }

    def _check_text(self, p: dict) -> str:
        text = p.get("text", "")
        shown = parse_html(text) if p.get("parse_mode", "").upper() == "HTML" else text
        if not shown.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(shown) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return shown

    @staticmethod
    def _check_markup(p: dict) -> dict | None:
        markup = p.get("reply_markup")
        if not markup:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _refuse_blocked(self, p: dict) -> None:
        if int(p["chat_id"]) in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _api_sendDocument(self, p: dict) -> dict:  # noqa: N802
        self._refuse_blocked(p)
        data = p.get("document")
        if not isinstance(data, bytes):
            raise ApiError(400, "Bad Request: there is no document in the request")
        chat_id = int(p["chat_id"])
        file_id = f"file{next(self._ids)}"
        self.files[file_id] = data
        caption = parse_html(p.get("caption", "")) if p.get("parse_mode", "").upper() == "HTML" else p.get("caption", "")
        with self._cond:
            self.documents.setdefault(chat_id, []).append((p.get("_filename", ""), data, caption))
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": Chat(chat_id).to_api(), "from": self._me(), "caption": caption,
                "document": {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": p.get("_filename", ""),
                             "file_size": len(data)}}

    def _api_sendMessage(self, p: dict) -> dict:  # noqa: N802
        self._refuse_blocked(p)
        shown = self._check_text(p)
        markup = self._check_markup(p)
        chat_id = int(p["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": Chat(chat_id, "private" if chat_id > 0 else "group", "" if chat_id > 0 else "group").to_api(),
            "from": self._me(),
            "text": shown,
            "html": p.get("text", ""),
            "edits": 0,
        }
        if markup:
            message["reply_markup"] = markup
        with self._cond:
            self.messages[(chat_id, message["message_id"])] = message
        return _public(message)

    def _stored(self, p: dict) -> dict:
        key = (int(p["chat_id"]), int(p["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    def _api_editMessageText(self, p: dict) -> dict:  # noqa: N802
        shown = self._check_text(p)
        markup = self._check_markup(p)
        with self._cond:
            message = self._stored(p)
            if message["html"] == p.get("text", "") and message.get("reply_markup") == markup:
                raise ApiError(400, "Bad Request: message is not modified")
            message.update(text=shown, html=p.get("text", ""), edits=message["edits"] + 1)
            message.pop("reply_markup", None)
            if markup:
                message["reply_markup"] = markup
            return _public(message)

    def _api_editMessageReplyMarkup(self, p: dict) -> dict:  # noqa: N802
        markup = self._check_markup(p)
        with self._cond:
            message = self._stored(p)
            if message.get("reply_markup") == markup:
                raise ApiError(400, "Bad Request: message is not modified")
            message.pop("reply_markup", None)
            if markup:
                message["reply_markup"] = markup
            return _public(message)


def _public(message: dict) -> dict:
    return {k: v for k, v in message.items() if k not in ("html", "edits")}


def _value(raw: str) -> Any:
    """Form fields carry JSON for structured values (reply_markup, commands) and plain strings."""
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _parse_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """Bot API parameters from a query string, a form, multipart or JSON, as Telegram accepts."""
    params: dict[str, Any] = {k: _value(v) for k, v in parse_qsl(query)}
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return params
    if kind == "application/json":
        params.update(json.loads(body))
    elif kind == "multipart/form-data":
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            params[name] = payload if part.get_filename() else _value(payload.decode("utf-8"))
            if part.get_filename():
                params["_filename"] = part.get_filename()
    else:
        params.update({k: _value(v) for k, v in parse_qsl(body.decode("utf-8"), keep_blank_values=True)})
    return params
