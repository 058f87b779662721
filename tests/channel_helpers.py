"""Shared by the WeCom, DingTalk and Feishu end-to-end tests: a server thread, waiting, a fake service.

The HTTP stand-ins of the platforms run on 127.0.0.1 (stdlib `ThreadingHTTPServer`); the
channel's own callback server is the real uvicorn, as `bulletin-bot serve` runs it.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bulletin_bot.models import AddResult, Answer, Citation, IndexReport, IndexStatus, Quote


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@contextmanager
def serve_app(app: Any):
    """The ASGI app under uvicorn on a free 127.0.0.1 port, in a thread; yields its base URL."""
    import uvicorn

    from bulletin_bot.channels.http import server_config

    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))  # as `bulletin-bot serve` runs it
    server.install_signal_handlers = lambda: None  # older uvicorn; newer ones skip it off the main thread
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="uvicorn")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


class Streamed:
    """A big file body sent in chunks (no Content-Length); `sent` counts what left before the
    client hung up, so a test can tell a client that reads it all from one that stops."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.size, self.chunk = size, chunk
        self.sent = 0
        self.done = False

    def chunks(self):
        for start in range(0, self.size, self.chunk):
            yield b"x" * min(self.chunk, self.size - start)


class JsonHTTP:
    """A tiny JSON-over-HTTP server: `routes[(method, path)](query, body, headers) -> (status, payload)`."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[[dict, bytes, dict], tuple[int, Any]]] = {}
        self.calls: list[tuple[str, str, dict, bytes]] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> "JsonHTTP":
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _do(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = dict(parse_qsl(parts.query))
                with outer.lock:
                    outer.calls.append((self.command, parts.path, query, body))
                route = outer.routes.get((self.command, parts.path))
                if route is None:
                    for (method, pattern), handler in outer.routes.items():
                        if method == self.command and pattern.endswith("*") and parts.path.startswith(pattern[:-1]):
                            route = handler
                            break
                status, payload = (404, {"error": "no such route"}) if route is None else route(
                    {**query, "_path": parts.path}, body, {k.lower(): v for k, v in self.headers.items()})
                if isinstance(payload, Streamed):
                    self._stream(status, payload)
                    return
                data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
                kind = "application/octet-stream" if isinstance(payload, bytes) else "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, status: int, payload: Streamed) -> None:
                """A body of unannounced length, to its end or until the client hangs up."""
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for chunk in payload.chunks():
                        self.wfile.write(chunk)
                        payload.sent += len(chunk)
                except OSError:  # the client stopped reading
                    pass
                payload.done = True

            do_GET = do_POST = _do  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def calls_to(self, path: str) -> list[tuple[str, str, dict, bytes]]:
        with self.lock:
            return [c for c in self.calls if c[1] == path]


def _citation(n: int) -> Citation:
    return Citation("工作简报", 455, "2023-12-10", "经验交流", f"第{n}篇文章", "455.txt", n)


class LongAnswerService:
    """Answers every question with passages longer than any platform's message limit."""

    SENTENCE = "泗洪县组建“向阳花”志愿服务宣讲队，开展基层微宣讲1000余场次<a href=\"x\">&。"

    def __init__(self, short: bool = False) -> None:
        self.quotes = [self.SENTENCE] if short else [self.SENTENCE * 30 for _ in range(4)] + [self.SENTENCE * 200]

    def ask(self, question: str, top_k: int = 5, offset: int = 0) -> Answer:
        results = tuple(Quote(_citation(i + 1), q, ((0, len(q)),), 1.0 - i / 100, i + 1)
                        for i, q in enumerate(self.quotes))[offset : offset + top_k]
        return Answer(question, bool(results), results)

    def converse(self, key, message: str, top_k: int = 5, shown=None) -> Answer:  # no context: as it stands
        return self.ask(message, top_k)

    def forget(self, key) -> None:
        pass

    def stats(self) -> IndexStatus:
        return IndexStatus("v1", "2023-12-10T00:00:00", "fake", 8, 1, 1, 1, "index")

    def reindex(self, progress=None) -> IndexReport:
        return IndexReport(False, "v1", 0, 0, 0, 1, 1, 1, 1, 0, 0, 0.1)

    def add_file(self, filename: str, data: bytes) -> AddResult:
        return AddResult(False, f"{filename}: not a bulletin")


def first_cited_title(text: str) -> str:
    """The title of the first result a channel's answer cites (its "—— 第N期 · date · 【section】 title" line)."""
    return re.search(r"第\d+期 · [\d-]+ · 【[^】]+】 (\S+)", text).group(1)


def check_dialogues(ask_as) -> None:
    """Two people talk to the bot at once: each follow-up is read in its own conversation.
    `ask_as(who, text)` sends `text` as person `who` (0 or 1) and returns the reply's texts."""
    ask_as(0, "2022年山东GDP有多少")
    ask_as(1, "昆山市垃圾分类有哪些做法")
    gdp = ask_as(0, "广东呢")[0]
    sorting = ask_as(1, "那徐州呢")[0]
    assert gdp.splitlines()[0] == "按“2022年广东GDP有多少”查找："
    assert first_cited_title(gdp) == "广东发布2022年经济运行情况"
    assert sorting.splitlines()[0] == "按“徐州垃圾分类有哪些做法”查找："
    assert first_cited_title(sorting) == "徐州市：垃圾分类督导员上岗"
    whole = ask_as(0, "第一条的全文")
    assert whole[0].splitlines()[0] == "按“第1条结果的全文：广东发布2022年经济运行情况”查找："
    assert "129119亿元" in "".join(whole)
    assert ask_as(1, "新问题")[0] == "好的，前面的问题不再算数，请提新问题。"
    assert not ask_as(1, "那徐州呢")[0].startswith("按“")


def post_chunked(url: str, total: int, chunk: int = 64 * 1024, headers: str = "") -> tuple[bytes, int]:
    """POST `total` zero bytes to `url` in chunks (no Content-Length), stopping when the server
    answers or hangs up; (the first bytes of the reply, how many body bytes left here)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    sent = 0
    reply = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{headers}\r\n".encode())
        sock.setblocking(False)
        piece = f"{chunk:x}\r\n".encode() + b"\0" * chunk + b"\r\n"
        try:
            while sent < total:
                try:
                    reply += sock.recv(4096)
                    break  # the server answered (or hung up) before the body was all sent
                except BlockingIOError:
                    pass
                sock.settimeout(5.0)
                sock.sendall(piece)
                sock.setblocking(False)
                sent += chunk
            else:
                sock.settimeout(30.0)
                sock.sendall(b"0\r\n\r\n")
                reply += sock.recv(4096)
        except OSError:  # reset or broken pipe: the server hung up
            pass
        if not reply:
            try:
                sock.settimeout(5.0)
                reply = sock.recv(4096)
            except OSError:
                pass
    return reply, sent


def slow_body_reply(url: str, length: int = 100, seconds: float = 15.0) -> bytes:
    """POST a body of `length` bytes to `url` one byte a second; the server's first reply bytes
    (b"" when it neither answered nor hung up within `seconds`)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
        sock.settimeout(1.0)
        while time.monotonic() - started < seconds:
            try:
                sock.sendall(b"a")
            except OSError:
                break
            try:
                reply = sock.recv(4096)
                return reply
            except socket.timeout:
                continue
            except OSError:
                break
    return b""


def declared_length_reply(url: str, length: int) -> bytes:
    """The server's first reply bytes to a POST that announces `length` bytes and sends none."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
        return sock.recv(4096)


class Gated:
    """A service whose questions wait at a gate (to hold a 素材汇编 compiling); the rest is the real one's."""

    def __init__(self, service: Any) -> None:
        self._service = service
        self.gate = threading.Event()
        self.asking = 0

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        self.asking += 1
        self.gate.wait(20)
        return self._service.ask(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)


def open_after_slow_headers(url: str, seconds: float) -> bool:
    """Whether a connection that sends a header line every 0.3 s, never ending its headers, is
    still open after `seconds`."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"POST {parts.path} HTTP/1.1\r\nHost: x\r\n".encode())
        sock.settimeout(0.3)
        n = 0
        while time.monotonic() - started < seconds:
            try:
                sock.sendall(f"X-Slow-{n}: y\r\n".encode())
                n += 1
                if sock.recv(4096) == b"":
                    return False
            except socket.timeout:
                continue
            except OSError:
                return False
    return True
