"""The web app: ask page, article and issue pages, a JSON API and an admin page; the routes.

A thin adapter over `BulletinService`: every answer, article and issue comes from the service;
this module turns requests into service calls and results into HTML (Jinja2, autoescaped) or
JSON. Nothing here reads the corpus or the index, and no request path is used as a file path
(static files go through Starlette's `StaticFiles`, uploads through `service.add_file`).
Highlighting is in `highlight`, admin sessions in `auth`, size-limited bodies in `forms`.
"""

from __future__ import annotations

import asyncio

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import Settings
from ..conversation import is_reset, turn_to_json, understood_line
from ..errors import BulletinError, IndexInvalid, IndexMissing, UploadTooLarge
from ..jobs import ReindexRunner
from ..models import CLOSEST_HEADING, MAX_QUESTION_CHARS, IssueSummary, IssueView, Quote
from ..question_check import is_question_problem
from ..numbers import parse_number
from ..rate_limit import RateLimit
from ..readers import SUPPORTED_LABEL, SUPPORTED_SUFFIXES
from ..service import BulletinService
from . import follow
from .auth import SESSION_COOKIE, SESSION_SECONDS, AdminAuth, LoginThrottle, bearer_token
from .clients import ClientAddresses, parse_networks
from .limits import (DOSSIER_REST_SECONDS, DOSSIER_RETRY_SECONDS, DOSSIER_WAIT_SECONDS, DOSSIERS_AT_ONCE, DOSSIERS_WAITING, MAX_OFFSET, MAX_TOP_K, WEB_MAX_QUESTION_CHARS, Busy,
                     RunningQuestions)
from .forms import MULTIPART_OVERHEAD, form_from, read_body, small_form
from .highlight import article_paragraphs, hl_param, parse_spans, passage, trim_spans
from .validation import validation_message

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

NOT_FOUND_HINT = "可以换个说法、用更具体的关键词，或在问题里写明期数（如“第455期”）、栏目（如“经验交流”）或日期。"


# --- JSON shapes -------------------------------------------------------------------------------


def _summary_json(summary: IssueSummary) -> dict[str, Any]:
    data = asdict(summary)
    data["sections"] = list(summary.sections)
    data["file"] = Path(summary.file).name  # the server's folders are nobody's business
    return data


def _issue_json(view: IssueView) -> dict[str, Any]:
    data = _summary_json(view.summary)
    data["articles"] = [asdict(ref) for ref in view.articles]
    return data


# --- the app -----------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every corpus and user string is escaped unless a template says otherwise
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["max_question"] = min(MAX_QUESTION_CHARS, WEB_MAX_QUESTION_CHARS)
    return env


BUSY_CLIENT = "你已有问题正在回答，请等它答完再问。"
TOO_MANY_OPEN = "同一地址同时打开的请求太多，请稍后再试。"


class FrontDoor:
    """A question from a client that already has its share in the server is refused here, before
    FastAPI reads the request (pure ASGI, the outermost layer): a flood of such requests then costs
    the server a dictionary lookup each instead of a route's work, which the other clients'
    questions would otherwise wait for (the GIL and the two cores are shared). The refusal is sent
    after the second its Retry-After asks for: a client that ignores it and asks again at once is
    held that second anyway, at the cost of a sleeping coroutine, so a flood of refusals cannot
    run faster than one a second per connection (without it, a flood from one address spent
    most of a core on being refused: load_fair.py).

    It also caps the requests one client has open at once (BULLETIN_BOT_WEB_CLIENT_CONNECTIONS):
    past the cap, any request is refused at once with 429 and the connection closed, so slow
    bodies or slow readers from one address cannot fill uvicorn's connection places. A connection
    still sending its headers is not a request yet (uvicorn's 10-second header timeout bounds it):
    the proxy in front must cap connections per address too (deploy/README.md)."""

    REFUSAL_DELAY = 1.0

    def __init__(self, app: Any, running: RunningQuestions, clients: ClientAddresses, env: Any,
                 connections: int = 20) -> None:
        self.app, self.running, self.clients, self.env = app, running, clients, env
        # requests open at once per client key: slow bodies or slow readers from one address
        # cannot take all of uvicorn's connection places (past them it answers 503 to everyone)
        self.connections = connections
        self._open: dict[str, int] = {}

    def _asks(self, scope: dict[str, Any]) -> bool:
        path = scope.get("path", "")
        return path == "/api/ask" or (path == "/" and b"q=" in scope.get("query_string", b""))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = self.clients.key(scope)
        if self.connections > 0 and self._open.get(client, 0) >= self.connections:
            response = PlainTextResponse(TOO_MANY_OPEN, status_code=429,
                                         headers={**SECURITY_HEADERS, "Retry-After": "1", "Connection": "close"})
            await response(scope, receive, send)  # at once: the client has requests enough in the server
            return
        self._open[client] = self._open.get(client, 0) + 1
        try:
            await self._serve(scope, receive, send, client)
        finally:
            left = self._open[client] - 1
            if left:
                self._open[client] = left
            else:
                del self._open[client]

    async def _serve(self, scope: dict[str, Any], receive: Any, send: Any, client: str) -> None:
        if not self._asks(scope) or not self.running.at_share(client):
            await self.app(scope, receive, send)
            return
        headers = {**SECURITY_HEADERS, "Retry-After": "1"}
        if scope["path"] == "/api/ask":
            response: Response = JSONResponse({"error": BUSY_CLIENT}, status_code=429, headers=headers)
        else:
            html = self.env.get_template("error.html").render(base=scope.get("root_path", ""), title="出错了",
                                                              message=BUSY_CLIENT)
            response = HTMLResponse(html, status_code=429, headers=headers)
        await asyncio.sleep(self.REFUSAL_DELAY)
        await response(scope, receive, send)


def create_app(service: BulletinService, settings: Settings) -> FastAPI:
    """The web app over one service; `settings.web_admin_token` enables /admin."""
    app = FastAPI(title="bulletin_bot", docs_url=None, redoc_url=None, openapi_url=None)
    env = _environment()
    auth = AdminAuth(settings.web_admin_token)  # ConfigError for a token that can be guessed
    throttle = LoginThrottle()  # every wrong credential: form, cookie or bearer
    questions = RateLimit(settings.web_questions_per_minute)
    running = RunningQuestions(settings.web_client_questions_at_once, settings.web_questions_at_once)
    dossiers = RunningQuestions(per_client=1, overall=DOSSIERS_AT_ONCE, waiting=DOSSIERS_WAITING,
                                max_wait=DOSSIER_WAIT_SECONDS, rest=DOSSIER_REST_SECONDS)
    clients = ClientAddresses(parse_networks(settings.trusted_proxies))
    job = ReindexRunner(service)
    app.state.service = service
    app.state.reindex = job
    app.state.questions = running
    app.state.dossiers = dossiers
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("title", "")
        html = env.get_template(name).render(base=request.scope.get("root_path", ""), **context)
        return HTMLResponse(html, status_code=status_code)

    def is_api(request: Request) -> bool:
        path = request.url.path
        return path.startswith("/api/") or path in ("/healthz", "/admin/status") or bearer_token(request) is not None

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        try:
            response = await call_next(request)
        except Exception as exc:  # one line per failure, not a traceback an attacker can repeat
            log.error("web: %s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__,
                      str(exc)[:200])
            response = server_error(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if request.url.path.startswith("/admin"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def server_error(request: Request) -> Response:
        message = "服务器出错了，已记录。请稍后再试。"
        if is_api(request):
            return JSONResponse({"error": message}, status_code=500)
        return render(request, "error.html", 500, title="出错了", message=message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "请求有误"
        message = {"Not Found": "没有这个页面。", "Method Not Allowed": "不支持这种请求方式。"}.get(message, message)
        if is_api(request):
            return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)
        response = render(request, "error.html", exc.status_code, title="出错了", message=message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        if is_api(request):
            return JSONResponse({"error": validation_message(exc.errors())}, status_code=422)
        return render(request, "error.html", 400, title="参数有误", message="链接里的参数有误，请检查后再试。")

    @app.exception_handler(IndexMissing)
    @app.exception_handler(IndexInvalid)
    async def index_missing(request: Request, exc: BulletinError) -> Response:
        log.warning("web: %s", exc)  # names the server's folders: for the log, not for readers
        message = "还没有可用的索引，请管理员先建立索引（bulletin-bot index，或管理页的“重建索引”）。"
        if is_api(request):
            return JSONResponse({"error": message}, status_code=503)
        return render(request, "error.html", 503, title="索引未就绪", message=message)

    @app.exception_handler(BulletinError)
    async def service_error(request: Request, exc: BulletinError) -> Response:
        if is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=400)
        return render(request, "error.html", 400, title="出错了", message=str(exc))

    # --- reading ---------------------------------------------------------------------------

    def client_of(request: Request) -> str:
        """The key every per-client table counts this request under (an IPv6 /64 is one client)."""
        return clients.key(request.scope)

    def limit_questions(request: Request) -> None:
        """Count a question against its client address; 429 with Retry-After past the limit."""
        wait = questions.wait_seconds(client_of(request))
        if wait:
            raise HTTPException(429, f"提问太频繁了，请 {wait} 秒后再试。", headers={"Retry-After": str(wait)})

    def ask(request: Request, question: str, top_k: int, offset: int, session: str = "",
            shown: int | None = None) -> Any:
        """The service's answer, within this client's and the server's share of questions at once:
        the question as it stands (更多: offset), or as the next turn of a tab's conversation
        (None when `/new` forgot it)."""
        session = session.strip()
        if session and not offset and is_reset(question):
            service.forget(("web", session))
            return None
        try:
            with running.slot(client_of(request)):
                if session and not offset:
                    return service.converse(("web", session), question, top_k=top_k, shown=shown)
                return service.ask(question, top_k=top_k, offset=offset)
        except Busy as busy:
            message = (BUSY_CLIENT if busy.status == 429
                       else "服务器正忙，请稍后再问。")
            raise HTTPException(busy.status, message, headers={"Retry-After": str(busy.retry_after)}) from None

    @contextmanager
    def compile_turn(request: Request) -> Iterator[None]:
        """Run one 素材汇编 inside: one in the whole server at a time, a few waiting their turn, and
        within the client's share of questions at once; 429/503 with Retry-After otherwise."""
        client = client_of(request)
        with ExitStack() as held:
            try:
                held.enter_context(dossiers.slot(client))
            except Busy as busy:
                if busy.yielding:  # its compile just ended and another reader is waiting for one
                    message = f"你刚生成过一份素材汇编，另一位读者正在等，请 {busy.retry_after} 秒后再试。"
                    retry = busy.retry_after
                else:
                    message = ("你已有一份素材汇编正在生成，请等它完成。" if busy.status == 429
                               else "服务器正在生成另一份素材汇编，请稍后再试。")
                    retry = DOSSIER_RETRY_SECONDS
                raise HTTPException(busy.status, message, headers={"Retry-After": str(retry)}) from None
            try:
                held.enter_context(running.slot(client))
            except Busy as busy:
                message = BUSY_CLIENT if busy.status == 429 else "服务器正忙，请稍后再试。"
                raise HTTPException(busy.status, message, headers={"Retry-After": str(busy.retry_after)}) from None
            yield

    def result_view(quote: Quote) -> dict[str, Any]:
        """A result as the ask page shows it: the quote in its context, spans highlighted."""
        view = service.article(quote.article_id)
        spans = []
        if view is not None:
            spans = trim_spans(view.text, ((a, b) for a, b in quote.spans if 0 <= a < b <= len(view.text)))
        if view is not None and spans:
            windows = passage(view.text, spans)
        else:
            windows = [{"segments": [(quote.quote, True)], "cut_before": False, "cut_after": False}]
        return {
            "citation": quote.citation,
            "label": quote.citation.label(),
            "quote": quote.quote,
            "windows": windows,
            "href": f"/articles/{quote.article_id}" + (f"?hl={hl_param(spans)}#hl" if spans else ""),
            "score": quote.score,
        }

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def ask_page(request: Request, q: str = "", offset: int = Query(0, ge=0, le=MAX_OFFSET),
                 top_k: int = Query(5, ge=1, le=MAX_TOP_K), session: str = Query("", max_length=64)) -> HTMLResponse:
        """The question box, and with ?q= the answer rendered on the server; with ?session= (one per
        browser tab, kept by ask.js) the question is the next turn of that tab's conversation."""
        question = q.strip()[:WEB_MAX_QUESTION_CHARS]
        if question:
            limit_questions(request)
        # one extra result tells whether 更多结果 has anything to show
        answer = ask(request, question, top_k + 1, offset, session, shown=top_k) if question else None
        more = None
        if answer is not None and len(answer.results) > top_k:
            answer = replace(answer, results=answer.results[:top_k])
            more = {"q": answer.query, "offset": offset + top_k, "top_k": top_k}
        results = [result_view(quote) for quote in answer.results] if answer else []
        return render(
            request, "ask.html", title=question or "提问",
            question=question, answer=answer, results=results, offset=offset, more=more,
            hint=NOT_FOUND_HINT, closest_heading=CLOSEST_HEADING, page_data={"query": question},
            asked_wrong=answer is not None and is_question_problem(answer),
            understood=understood_line(answer.understood) if answer is not None and answer.understood else "",
        )

    @app.get("/articles/{article_id}", response_class=HTMLResponse)
    def article_page(request: Request, article_id: str, hl: str = "") -> HTMLResponse:
        """One article with its issue masthead; ?hl=start-end,… marks the quoted passage."""
        number = parse_number(article_id)
        view = service.article(number) if number is not None else None
        if view is None:
            raise HTTPException(404, "没有这篇文章。")
        spans = trim_spans(view.text, parse_spans(hl, len(view.text)))
        return render(
            request, "article.html", title=view.citation.title, view=view,
            paragraphs=article_paragraphs(view, spans), highlighted=bool(spans),
        )

    @app.get("/issues", response_class=HTMLResponse)
    def issues_page(request: Request) -> HTMLResponse:
        return render(request, "issues.html", title="全部期刊", issues=service.issues())

    @app.get("/issues/{typed}", response_class=HTMLResponse)
    def issue_page(request: Request, typed: str) -> HTMLResponse:
        number = parse_number(typed)
        views = service.issue(number) if number is not None else []
        if not views or number is None:
            raise HTTPException(404, "没有这一期。")
        return render(request, "issue.html", title=f"第{number}期", number=number, views=views)

    # --- JSON API --------------------------------------------------------------------------

    @app.get("/api/ask")
    def api_ask(request: Request, q: str = Query(..., min_length=1, max_length=WEB_MAX_QUESTION_CHARS),
                top_k: int = Query(5, ge=1, le=MAX_TOP_K),
                offset: int = Query(0, ge=0, le=MAX_OFFSET), session: str = Query("", max_length=64)) -> dict[str, Any]:
        """The same object as `bulletin-bot ask --json`, with `understood`; with `session`, the
        question is the next turn of that conversation (`q=/new` forgets it: {"reset": true})."""
        question = q.strip()
        if not question:
            raise HTTPException(422, "问题不能为空")
        limit_questions(request)
        answer = ask(request, question, top_k, offset, session)
        return turn_to_json(answer) if answer is not None else {"reset": True}

    @app.get("/api/issues")
    def api_issues() -> list[dict[str, Any]]:
        return [_summary_json(s) for s in service.issues()]

    @app.get("/api/issues/{typed}")
    def api_issue(typed: str) -> list[dict[str, Any]]:
        number = parse_number(typed)
        views = service.issue(number) if number is not None else []
        if not views:
            raise HTTPException(404, "没有这一期。")
        return [_issue_json(v) for v in views]

    @app.api_route("/healthz", methods=["GET", "HEAD"])
    def healthz() -> Response:
        try:
            stats = service.stats()
        except (IndexMissing, IndexInvalid) as exc:
            log.warning("healthz: %s", exc)
            return JSONResponse({"ok": False, "error": "no index"}, status_code=503)
        return JSONResponse({
            "ok": True, "version": stats.version, "built_at": stats.built_at, "model": stats.model,
            "issues": stats.issues, "articles": stats.articles, "chunks": stats.chunks,
            "problems": len(stats.problems), "reindexing": job.snapshot()["running"],
        })

    follow.register(app, service, settings, render, limit_questions, compile_turn,
                    lambda request: clients.is_https(request.scope), client_of)  # /follow and /dossier

    # --- admin -----------------------------------------------------------------------------

    def not_throttled(request: Request) -> None:
        """429 while this client (or everyone together) has had too many wrong credentials."""
        wait = throttle.wait_seconds(client_of(request))
        if wait:
            raise HTTPException(429, f"尝试次数过多，请 {wait} 秒后再试。", headers={"Retry-After": str(wait)})

    def credentials(request: Request) -> tuple[str, str | None] | None:
        """("bearer", None) or ("cookie", session) for a good credential, None for none at all;
        a wrong one counts against the client and raises 401 (429 while throttled)."""
        bearer = bearer_token(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        if bearer is None and not cookie:
            return None
        not_throttled(request)  # checked before the credential, so guessing learns nothing
        if bearer is not None:
            if auth.check_token(bearer):
                return "bearer", None
            throttle.failed(client_of(request))
            raise HTTPException(401, "令牌不正确。", headers={"WWW-Authenticate": "Bearer"})
        session = auth.session_value(cookie)
        if session is None:
            throttle.failed(client_of(request))
            raise HTTPException(401, "登录已失效，请重新登录管理页面。", headers={"WWW-Authenticate": "Bearer"})
        return "cookie", session

    def require_admin(request: Request) -> tuple[str, str | None]:
        """("bearer", None) or ("cookie", session); raises 403 when disabled, 401 otherwise."""
        if not auth.enabled:
            raise HTTPException(403, "管理功能未启用：未设置 BULLETIN_BOT_WEB_ADMIN_TOKEN。")
        found = credentials(request)
        if found is None:
            raise HTTPException(401, "请先登录管理页面。", headers={"WWW-Authenticate": "Bearer"})
        return found

    def require_csrf(mode: str, session: str | None, form_value: Any) -> None:
        if mode == "cookie" and not auth.check_csrf(session or "", form_value if isinstance(form_value, str) else None):
            raise HTTPException(403, "表单已过期或来源不明（CSRF 校验失败），请刷新管理页面后重试。")

    def stats_or_none() -> Any:
        try:
            return service.stats()
        except (IndexMissing, IndexInvalid):
            return None

    def admin_panel(request: Request, session: str | None, status_code: int = 200,
                    message: str = "", ok: bool = True) -> HTMLResponse:
        stats = stats_or_none()
        return render(
            request, "admin.html", status_code, title="管理", state="panel", stats=stats,
            csrf=auth.csrf_for(session) if session else "", message=message, ok=ok,
            job=job.snapshot(), max_upload_mb=settings.max_upload_mb,
            upload_suffixes=SUPPORTED_SUFFIXES, upload_label=SUPPORTED_LABEL,
            page_data={"status_url": request.scope.get("root_path", "") + "/admin/status",
                       "running": job.snapshot()["running"]},
        )

    @app.get("/admin", response_class=HTMLResponse)
    def admin_page(request: Request) -> HTMLResponse:
        if not auth.enabled:
            return render(request, "admin.html", 403, title="管理", state="disabled")
        try:
            found = credentials(request)
        except HTTPException as exc:
            if is_api(request):
                raise
            error = exc.detail if exc.status_code == 429 else ""
            response = render(request, "admin.html", exc.status_code, title="管理登录", state="login", error=error)
            if exc.status_code == 429:  # throttled: the cookie was not even looked at; keep it
                response.headers["Retry-After"] = (exc.headers or {}).get("Retry-After", "1")
            else:
                response.delete_cookie(SESSION_COOKIE, path="/admin", httponly=True, samesite="strict")
            return response
        if found is None:
            return render(request, "admin.html", 401, title="管理登录", state="login", error="")
        return admin_panel(request, found[1])

    @app.post("/admin/login", response_class=HTMLResponse)
    async def admin_login(request: Request) -> Response:
        if not auth.enabled:
            return render(request, "admin.html", 403, title="管理", state="disabled")
        client = client_of(request)
        wait = throttle.wait_seconds(client)
        if wait:
            response = render(request, "admin.html", 429, title="管理登录", state="login",
                              error=f"尝试次数过多，请 {wait} 秒后再试。")
            response.headers["Retry-After"] = str(wait)
            return response
        form = await small_form(request)
        token = form.get("token")
        if not isinstance(token, str) or not auth.check_token(token):
            throttle.failed(client)
            return render(request, "admin.html", 401, title="管理登录", state="login", error="令牌不正确。")
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(
            SESSION_COOKIE, auth.new_session(), max_age=SESSION_SECONDS, path="/admin",
            httponly=True, samesite="strict", secure=clients.is_https(request.scope),
        )
        return response

    @app.post("/admin/logout")
    async def admin_logout(request: Request) -> Response:
        mode, session = require_admin(request)
        form = await small_form(request)
        require_csrf(mode, session, form.get("csrf"))
        if session is not None:
            auth.revoke(session)  # the cookie and its CSRF value end here, not in 12 hours
        response = RedirectResponse("/admin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/admin", httponly=True, samesite="strict")
        return response

    @app.post("/admin/upload")
    async def admin_upload(request: Request) -> Response:
        """Check and save one issue (any format `readers` accepts) into the corpus (re-index separately)."""
        mode, session = require_admin(request)  # before reading a byte of the body
        limit = settings.max_upload_bytes
        too_big = f"文件超过上传上限 {settings.max_upload_mb:g} MB。"
        try:
            body = await read_body(request, limit + MULTIPART_OVERHEAD)
        except UploadTooLarge:
            raise HTTPException(413, too_big) from None
        form = await form_from(request, body, max_files=1, max_fields=4)
        require_csrf(mode, session, form.get("csrf"))
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise HTTPException(400, f"请选择要上传的文件（{SUPPORTED_LABEL}）。")
        data = await upload.read()
        if len(data) > limit:
            raise HTTPException(413, too_big)
        if not data:
            raise HTTPException(400, f"{upload.filename}：文件是空的。")
        if not upload.filename.lower().endswith(SUPPORTED_SUFFIXES):
            raise HTTPException(400, f"{upload.filename}：只接受 {SUPPORTED_LABEL} 文件。")
        result = await run_in_threadpool(service.add_file, upload.filename, data)
        if result.ok:  # the new issue becomes answerable without another click
            job.request()
        if mode == "bearer":
            return JSONResponse({
                "ok": result.ok, "message": result.message, "file": Path(result.path).name if result.path else "",
                "issue": _summary_json(result.issue) if result.issue else None, "status": job.snapshot(),
            }, status_code=200 if result.ok else 422)
        message = result.message + ("（文件已保存，正在重建索引，完成后即可检索。）" if result.ok else "")
        return admin_panel(request, session, 200 if result.ok else 422, message=message, ok=result.ok)

    @app.post("/admin/reindex")
    async def admin_reindex(request: Request) -> Response:
        mode, session = require_admin(request)
        form = await small_form(request)
        require_csrf(mode, session, form.get("csrf"))
        started = job.request()
        if mode == "bearer":
            return JSONResponse({"started": started, "queued": not started, "status": job.snapshot()}, status_code=202)
        message = "已开始重建索引。" if started else "正在重建索引，这一轮结束后会再重建一次。"
        return admin_panel(request, session, 202, message=message, ok=True)

    @app.get("/admin/status")
    def admin_status(request: Request) -> dict[str, Any]:
        require_admin(request)
        stats = stats_or_none()
        return {"job": job.snapshot(), "stats": _stats_json(stats) if stats else None}

    # added last, so outermost: before the security-headers middleware and everything else
    app.add_middleware(FrontDoor, running=running, clients=clients, env=env,
                       connections=settings.web_client_connections)
    return app


def _stats_json(stats: Any) -> dict[str, Any]:
    data = asdict(stats)
    data["problems"] = [asdict(p) for p in stats.problems]
    data["kept"] = [asdict(p) for p in stats.kept]
    data.pop("path", None)
    return data


def run_web(settings: Settings, service: BulletinService, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the web app with uvicorn until interrupted (see `serve` for how)."""
    from . import serve

    serve.run(create_app(service, settings), settings, host, port)
