"""The web app through httpx: a reader asks and follows citations; an admin uploads and re-indexes.

Every test runs over a temp copy of corpus/ and a temp index built with the tiny `HashEmbedder`,
so nothing here reads /work/shared, loads a model or reaches the network.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bulletin_bot.conversation import turn_to_json
from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.service import BulletinService
from bulletin_bot.web import create_app, parse_spans, passage

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
TOKEN = "correct-horse-battery-staple"
QUESTION = "泗洪县理论宣讲做法"

from conftest import NEW_FACT, NEW_ISSUE, NEW_QUESTION  # noqa: E402  (a second issue, uploaded by tests)
from conversation_corpus import conversation_service  # noqa: E402

# Corpus text that is also markup: it must reach the page as text.
HOSTILE_ISSUE = (
    NEW_ISSUE.replace("456", "457")
    .replace("宿迁市：“红石榴”宣讲团走进骆马湖渔村", "<script>alert('title')</script>宣讲团")
    .replace("136场", "<img src=x onerror=alert(1)>场")
)

# Another series that also has a 第455期.
OTHER_SERIES_455 = (
    NEW_ISSUE.replace("建设学习型党组织、学习型领导班子 工作简报", "理论学习中心组 工作简报")
    .replace("第 456 期", "第 455 期")
)


def make_service(root: Path, token: str = TOKEN, **overrides) -> tuple[Settings, BulletinService]:
    """A service over a temp copy of corpus/, indexed with the hash embedder."""
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(corpus=corpus, index=root / "index", cache=root / "cache", model="hash",
                        web_admin_token=token, **overrides)
    service = BulletinService(settings, embedder=HashEmbedder())
    service.reindex()
    return settings, service


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """A client for reading only: the shipped corpus plus an issue whose text is markup."""
    root = tmp_path_factory.mktemp("web-reader")
    settings, service = make_service(root / "svc")
    (settings.corpus / "457.txt").write_text(HOSTILE_ISSUE, encoding="utf-8")
    (settings.corpus / "other-455.txt").write_text(OTHER_SERIES_455, encoding="utf-8")
    service.reindex()
    with TestClient(create_app(service, settings)) as client:
        client.service = service
        yield client


@pytest.fixture
def admin_app(tmp_path):
    """A fresh service per test, since admin tests change the corpus and the index."""
    settings, service = make_service(tmp_path, max_upload_mb=0.05)
    app = create_app(service, settings)
    with TestClient(app) as client:
        client.settings, client.service, client.app_ = settings, service, app
        yield client


def marks(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<mark[^>]*>(.*?)</mark>", page, flags=re.S)]


def corpus_files(settings: Settings) -> set[str]:
    return {p.name for p in settings.corpus.iterdir()}


def login(client: TestClient) -> str:
    """Log in through the form; returns the page's CSRF value."""
    r = client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/admin")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def wait_for_job(client: TestClient, headers: dict | None = None) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = client.get("/admin/status", headers=headers or {}).json()
        if not status["job"]["running"]:
            return status
        time.sleep(0.05)
    raise AssertionError("re-index did not finish in 30 s")


# --- reading -----------------------------------------------------------------------------------


def test_ask_page_quotes_issue_455_with_a_citation_to_the_article(reader):
    page = reader.get("/", params={"q": QUESTION})
    assert page.status_code == 200
    assert "第455期" in page.text
    assert "【经验交流】" in page.text
    link = re.search(r'<p class="citation">出处：<a href="(/articles/(\d+)\?hl=[\d,-]+#hl)">', page.text)
    assert link, "the first result links to its article with the spans to highlight"
    article = reader.service.article(int(link.group(2)))
    assert article.citation.issue == 455
    first = page.text.split('<li class="result">')[1]
    quoted = marks(first)
    assert quoted and all(q in article.text for q in quoted), "highlighted text is verbatim article text"
    assert any("宣讲" in q for q in quoted)

    target = reader.get(html.unescape(link.group(1)).split("#")[0])
    assert target.status_code == 200
    assert 'id="hl"' in target.text
    assert "协调小组办公室" in target.text and "2023-12-10" in target.text  # the masthead
    spanned = [article.text[a:b] for a, b in _spans(link.group(1))]
    assert marks(target.text) and all(any(m in s for s in spanned) for m in marks(target.text))


def _spans(href: str) -> list[tuple[int, int]]:
    raw = re.search(r"hl=([\d,-]+)", href).group(1)
    return parse_spans(raw, 10**9)


def test_api_ask_is_the_same_object_as_ask_json(reader):
    r = reader.get("/api/ask", params={"q": QUESTION, "top_k": 3})
    assert r.status_code == 200
    data = r.json()
    assert data == turn_to_json(reader.service.ask(QUESTION, top_k=3))
    assert data["found"] and data["query"] == QUESTION
    first = data["results"][0]
    assert set(first) >= {"issue", "date", "section", "title", "quote", "score", "file", "article_id", "series", "spans"}
    assert first["issue"] == 455 and first["date"] == "2023-12-10"
    assert 1 <= len(data["results"]) <= 3


def test_api_ask_refuses_bad_parameters(reader):
    assert reader.get("/api/ask").status_code == 422
    assert reader.get("/api/ask", params={"q": QUESTION, "top_k": 0}).status_code == 422
    assert reader.get("/api/ask", params={"q": QUESTION, "top_k": 1000}).status_code == 422
    assert reader.get("/api/ask", params={"q": "   "}).status_code == 422


def test_a_bad_request_is_told_in_chinese_without_internals(reader):
    cases = (({}, "缺少问题 q"), ({"q": ""}, "问题 q 不能为空"), ({"q": QUESTION, "top_k": "x"}, "top_k 应是整数"),
             ({"q": QUESTION, "top_k": 1000}, "top_k 不能大于 10"), ({"q": QUESTION, "offset": -1}, "offset 不能小于 0"))
    for params, said in cases:
        r = reader.get("/api/ask", params=params)
        body = r.json()
        assert r.status_code == 422 and list(body) == ["error"], body
        assert body["error"].startswith("参数有误：") and said in body["error"], body
        # no pydantic words ("string_too_short", "Input should be"): only the parameter's own name
        assert not re.search(r"[A-Za-z]{4,}", re.sub(r"top_k|offset", "", body["error"])), body


def test_not_found_is_said_plainly_with_a_hint(reader):
    answer = reader.service.ask("红烧肉怎么做才好吃")
    assert not answer.found and answer.results == ()
    page = reader.get("/", params={"q": "红烧肉怎么做才好吃"})
    assert page.status_code == 200
    assert "没有找到" in page.text and "换个说法" in page.text
    assert "<mark" not in page.text
    assert reader.get("/api/ask", params={"q": "红烧肉怎么做才好吃"}).json()["found"] is False


def test_not_found_says_why_on_the_page_and_in_json(reader):
    page = reader.get("/", params={"q": "“蓝丝带”宣讲团怎么开展理论宣讲"})
    assert page.status_code == 200
    assert '<p class="reason">简报中没有提到“蓝丝带”。</p>' in page.text and page.text.index("简报中没有提到“蓝丝带”。") < page.text.index("没有找到直接回答，")
    data = reader.get("/api/ask", params={"q": "“蓝丝带”宣讲团怎么开展理论宣讲"}).json()
    assert data["found"] is False and data["reason_code"] == "missing_name" and data["reason"] == "简报中没有提到“蓝丝带”。"


def test_a_restriction_with_nothing_in_it_is_dropped_and_the_page_says_so(reader):
    data = reader.get("/api/ask", params={"q": "第999期 理论宣讲"}).json()
    assert data["note"] == "索引中没有第999期的简报，以下是其他简报中的结果"
    assert data["results"] and 999 not in {r["issue"] for r in data["results"]}
    page = reader.get("/", params={"q": "第999期 理论宣讲"})
    assert "索引中没有第999期的简报，以下是其他简报中的结果" in page.text and "<mark" in page.text


def test_ask_page_without_a_question_is_a_question_box(reader):
    page = reader.get("/")
    assert page.status_code == 200
    assert '<label for="q">' in page.text and 'id="q" name="q"' in page.text
    assert "autofocus" in page.text
    assert '<script src="/static/ask.js" defer></script>' in page.text


def test_user_and_corpus_text_is_escaped(reader):
    evil = "<script>alert(1)</script>\"'</script>"
    page = reader.get("/", params={"q": evil}).text
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # in the input and the heading
    data = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in data  # JSON for JS has no raw markup

    (view,) = reader.service.issue(457)
    article_page = reader.get(f"/articles/{view.articles[0].article_id}").text
    assert "<script>alert('title')" not in article_page and "<img src=x" not in article_page
    assert "&lt;script&gt;alert(" in article_page and "&lt;img src=x onerror=alert(1)&gt;" in article_page
    issue_page = reader.get("/issues/457").text
    assert "<script>alert('title')" not in issue_page and "&lt;script&gt;" in issue_page


def test_article_page_highlight_parameter_is_checked(reader):
    (view,) = [v for v in reader.service.issue(455) if Path(v.summary.file).name == "455.txt"]
    ref = view.articles[1]
    article = reader.service.article(ref.article_id)
    page = reader.get(f"/articles/{ref.article_id}", params={"hl": "0-6,junk,5-10,999999-1000000,7-3"})
    assert page.status_code == 200
    assert marks(page.text) == [article.text[0:10]]
    assert reader.get(f"/articles/{ref.article_id}").text.count("<mark") == 0
    assert reader.get("/articles/999999").status_code == 404
    assert reader.get("/articles/abc").status_code == 404
    assert reader.get("/articles/-1").status_code == 404


def test_issue_pages_and_api(reader):
    listing = reader.get("/issues").text
    assert listing.index("第457期") < listing.index("第455期"), "newest first"
    page = reader.get("/issues/455")
    assert page.status_code == 200
    assert "泗洪县：打造“洪轩理”理论品牌 筑牢基层理论武装根基" in page.text
    assert "【经验交流】" in page.text and "建设学习型党组织、学习型领导班子 工作简报" in page.text
    assert reader.get("/issues/999").status_code == 404

    issues = reader.get("/api/issues").json()
    assert [i["number"] for i in issues][:2] == [457, 455]
    both = reader.get("/api/issues/455").json()
    assert {i["series"] for i in both} == {"建设学习型党组织、学习型领导班子 工作简报", "理论学习中心组 工作简报"}
    assert page.text.count('class="masthead"') == 2 and "理论学习中心组 工作简报" in page.text
    (issue,) = [i for i in both if i["series"].startswith("建设")]
    assert issue["date"] == "2023-12-10" and issue["file"] == "455.txt"
    assert [a["section"] for a in issue["articles"]] == ["上情下达", "经验交流", "学习动态"]
    assert reader.get("/api/issues/999").status_code == 404


def test_healthz_reports_the_index(reader):
    data = reader.get("/healthz").json()
    stats = reader.service.stats()
    assert data["ok"] is True
    assert (data["version"], data["issues"], data["articles"], data["chunks"]) == (
        stats.version, stats.issues, stats.articles, stats.chunks)
    assert "path" not in data


def test_static_files_cannot_leave_their_folder(reader):
    assert reader.get("/static/style.css").status_code == 200
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/%2e%2e/%2e%2e/config.py"):
        r = reader.get(path)
        assert r.status_code == 404, path
        assert "import" not in r.text


def test_pages_send_a_strict_content_security_policy(reader):
    r = reader.get("/", params={"q": QUESTION})
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert not re.search(r"<script>(?!\s*</script>)", r.text), "no inline script"


def test_passage_keeps_spans_verbatim_and_cuts_context():
    text = "第一句很长很长。第二句是答案。第三句。\n另一段里的答案。"
    windows = passage(text, [(8, 15), (20, 28)], context=3)
    assert [seg for w in windows for seg, marked in w["segments"] if marked] == ["第二句是答案。", "另一段里的答案。"]
    assert windows[0]["cut_before"] and not windows[-1]["cut_after"]
    assert parse_spans("5-2,1-3,2-4,a-b,3", 100) == [(1, 4)]
    assert parse_spans("90-200", 100) == [(90, 100)]


# --- admin -------------------------------------------------------------------------------------


def test_admin_is_disabled_without_a_token(tmp_path):
    settings, service = make_service(tmp_path, token="")
    before = corpus_files(settings)
    with TestClient(create_app(service, settings)) as client:
        page = client.get("/admin")
        assert page.status_code == 403 and "管理功能未启用" in page.text
        assert 'type="password"' not in page.text
        assert client.post("/admin/login", data={"token": ""}).status_code == 403
        files = {"file": ("456.txt", NEW_ISSUE.encode(), "text/plain")}
        assert client.post("/admin/upload", files=files, headers={"Authorization": "Bearer "}).status_code == 403
        assert client.post("/admin/upload", files=files, headers={"Authorization": "Bearer x"}).status_code == 403
        assert client.post("/admin/reindex").status_code == 403
        assert client.get("/admin/status").status_code == 403
    assert corpus_files(settings) == before


def test_without_the_token_nothing_changes_and_nothing_private_shows(admin_app):
    client = admin_app
    before = corpus_files(client.settings)
    files = {"file": ("456.txt", NEW_ISSUE.encode(), "text/plain")}
    page = client.get("/admin")
    assert page.status_code == 401 and 'type="password"' in page.text
    assert "索引状态" not in page.text and "csrf" not in page.text
    assert client.post("/admin/upload", files=files).status_code == 401
    assert client.post("/admin/upload", files=files, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/admin/reindex", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 401
    assert client.get("/admin/status").status_code == 401
    wrong = client.post("/admin/login", data={"token": "wrong"}, follow_redirects=False)
    assert wrong.status_code == 401 and "令牌不正确" in wrong.text and "set-cookie" not in wrong.headers
    client.cookies.set("bulletin_bot_admin", "1.forged.00", path="/admin")
    assert client.get("/admin").status_code == 401
    assert corpus_files(client.settings) == before
    assert client.app_.state.reindex.snapshot()["started_at"] == ""


def test_login_cookie_is_httponly_strict_and_posts_need_csrf(admin_app):
    client = admin_app
    r = client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    assert TOKEN not in cookie
    panel = client.get("/admin")
    assert panel.status_code == 200 and "索引状态" in panel.text and "第455期" not in panel.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', panel.text).group(1)

    files = {"file": ("456.txt", NEW_ISSUE.encode(), "text/plain")}
    before = corpus_files(client.settings)
    assert client.post("/admin/upload", files=files).status_code == 403
    forged = csrf[:-1] + ("1" if csrf[-1] == "0" else "0")  # one character off, never the real value
    assert client.post("/admin/upload", files=files, data={"csrf": forged}).status_code == 403
    assert client.post("/admin/reindex", data={}).status_code == 403
    assert corpus_files(client.settings) == before

    r = client.post("/admin/upload", files=files, data={"csrf": csrf})
    assert r.status_code == 200, r.text
    assert "456" in r.text
    assert corpus_files(client.settings) - before, "the upload was saved"

    out = client.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/admin").status_code == 401


def test_uploaded_issue_becomes_answerable_after_reindex(admin_app):
    client = admin_app
    assert NEW_FACT not in str(client.get("/api/ask", params={"q": NEW_QUESTION}).json())
    csrf = login(client)
    files = {"file": ("简报456.txt", NEW_ISSUE.encode(), "text/plain")}
    assert client.post("/admin/upload", files=files, data={"csrf": csrf}).status_code == 200
    r = client.post("/admin/reindex", data={"csrf": csrf})  # the upload started one already: this one queues
    assert r.status_code == 202 and ("已开始重建索引" in r.text or "再重建一次" in r.text)
    status = wait_for_job(client)
    assert status["job"]["error"] == "" and status["job"]["report"]["issues"] == 2
    assert status["stats"]["issues"] == 2 and "path" not in status["stats"]

    data = client.get("/api/ask", params={"q": NEW_QUESTION}).json()
    assert data["found"] and data["results"][0]["issue"] == 456
    assert NEW_FACT in data["results"][0]["quote"]
    page = client.get("/", params={"q": NEW_QUESTION}).text
    first = page.split('<li class="result">')[1]
    assert "第456期" in first and any(NEW_FACT in m for m in marks(first))


def test_bearer_clients_get_json_and_need_no_csrf(admin_app):
    client = admin_app
    auth = {"Authorization": f"Bearer {TOKEN}"}
    files = {"file": ("456.txt", NEW_ISSUE.encode(), "text/plain")}
    r = client.post("/admin/upload", files=files, headers=auth)
    assert r.status_code == 200 and r.json()["ok"] and r.json()["issue"]["number"] == 456
    again = client.post("/admin/upload", files=files, headers=auth)
    assert again.status_code == 422 and not again.json()["ok"]
    assert again.json()["message"], "the service says why it refused"
    assert len([p for p in corpus_files(client.settings) if p.endswith(".txt")]) == 2, "nothing overwritten"

    r = client.post("/admin/reindex", headers=auth)  # started, or queued behind the upload's own round
    assert r.status_code == 202 and (r.json()["started"] or r.json()["queued"])
    assert wait_for_job(client, auth)["job"]["report"]["issues"] == 2
    assert client.get("/api/ask", params={"q": NEW_QUESTION}).json()["results"][0]["issue"] == 456


def test_upload_limits_are_enforced(admin_app):
    client = admin_app
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = corpus_files(client.settings)
    limit = client.settings.max_upload_bytes
    big = NEW_ISSUE.encode() + b"\n" * (limit + 1)
    r = client.post("/admin/upload", files={"file": ("456.txt", big, "text/plain")}, headers=auth)
    assert r.status_code == 413 and "上限" in r.json()["error"]
    huge = b"x" * (limit + 200_000)  # past the multipart allowance: refused while reading
    r = client.post("/admin/upload", files={"file": ("456.txt", huge, "text/plain")}, headers=auth)
    assert r.status_code == 413
    r = client.post("/admin/upload", files={"file": ("456.exe", NEW_ISSUE.encode(), "text/plain")}, headers=auth)
    assert r.status_code == 400
    r = client.post("/admin/upload", files={"file": ("456.txt", b"", "text/plain")}, headers=auth)
    assert r.status_code == 400
    r = client.post("/admin/upload", files={"file": ("notes.txt", "随便写的几句话。".encode(), "text/plain")}, headers=auth)
    assert r.status_code == 422 and not r.json()["ok"]
    r = client.post("/admin/upload", files={"file": ("../../etc/456.txt", NEW_ISSUE.encode(), "text/plain")}, headers=auth)
    assert r.status_code in (200, 422)
    assert not (client.settings.corpus.parent.parent / "etc" / "456.txt").exists()
    assert all((client.settings.corpus / name).parent == client.settings.corpus for name in corpus_files(client.settings))
    assert before <= corpus_files(client.settings)


class GatedService:
    """The real service, except that `reindex` waits for the test to let it go."""

    def __init__(self, service: BulletinService) -> None:
        self._service = service
        self.gate = threading.Event()

    def reindex(self, progress=None):
        self.gate.wait(10)
        return self._service.reindex(progress)

    def __getattr__(self, name):
        return getattr(self._service, name)


def test_one_reindex_at_a_time_and_a_request_meanwhile_queues_one_more_round(tmp_path):
    settings, service = make_service(tmp_path)
    gated = GatedService(service)
    app = create_app(gated, settings)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(app) as client:
        assert client.post("/admin/reindex", headers=auth).status_code == 202
        second = client.post("/admin/reindex", headers=auth)
        assert second.status_code == 202 and second.json()["started"] is False and second.json()["queued"] is True
        third = client.post("/admin/reindex", headers=auth)  # still one more round, not two
        assert third.status_code == 202 and third.json()["queued"] is True
        status = client.get("/admin/status", headers=auth).json()
        assert status["job"]["running"] is True and status["job"]["queued"] is True
        assert client.get("/healthz").json()["reindexing"] is True
        assert client.get("/api/ask", params={"q": QUESTION}).json()["found"], "still answering meanwhile"
        gated.gate.set()
        done = wait_for_job(client, auth)["job"]
        assert done["report"] is not None and done["queued"] is False
        assert app.state.reindex.rounds == 2
        assert client.post("/admin/reindex", headers=auth).status_code == 202
        wait_for_job(client, auth)
        assert app.state.reindex.rounds == 3


def test_an_upload_reindexes_by_itself(admin_app):
    client = admin_app
    auth = {"Authorization": f"Bearer {TOKEN}"}
    files = {"file": ("456.txt", NEW_ISSUE.encode(), "text/plain")}
    assert client.post("/admin/upload", files=files, headers=auth).status_code == 200
    job = wait_for_job(client, auth)["job"]
    assert job["error"] == "" and job["report"]["added"] == 1 and job["report"]["built"] is True
    assert "新增 1 个文件" in job["report"]["summary"]
    data = client.get("/api/ask", params={"q": NEW_QUESTION}).json()
    assert data["found"] and data["results"][0]["issue"] == 456 and NEW_FACT in data["results"][0]["quote"]


def test_a_reindex_that_changed_nothing_says_so(admin_app):
    client = admin_app
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/admin/reindex", headers=auth).status_code == 202
    job = wait_for_job(client, auth)["job"]
    assert job["report"]["built"] is False and "语料没有变化" in job["report"]["summary"]
    csrf = login(client)
    page = client.get("/admin").text
    assert "语料没有变化" in page and csrf


def test_wrong_logins_are_throttled(admin_app):
    client = admin_app
    codes = [client.post("/admin/login", data={"token": f"guess{i}"}).status_code for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[-1] == 429
    assert client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False).status_code == 429


def test_questions_are_limited_per_client_address(tmp_path):
    settings, service = make_service(tmp_path, web_questions_per_minute=2)
    app = create_app(service, settings)
    with TestClient(app, client=("10.0.0.1", 50000)) as one, TestClient(app, client=("10.0.0.2", 50000)) as two:
        assert one.get("/", params={"q": "泗洪县理论宣讲做法"}).status_code == 200
        assert one.get("/api/ask", params={"q": "红书房"}).status_code == 200
        refused = one.get("/", params={"q": "泗洪县理论宣讲做法"})
        assert refused.status_code == 429 and "提问太频繁" in refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        api = one.get("/api/ask", params={"q": "红书房"})
        assert api.status_code == 429 and "提问太频繁" in api.json()["error"]
        assert one.get("/").status_code == 200  # the empty question box and reading pages are not counted
        assert one.get("/issues").status_code == 200
        assert "第455期" in two.get("/", params={"q": "泗洪县理论宣讲做法"}).text  # another address is not held up


def test_before_the_first_index_pages_say_what_to_do(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(corpus=corpus, index=tmp_path / "index", cache=tmp_path / "cache", web_admin_token=TOKEN)
    service = BulletinService(settings, embedder=HashEmbedder())
    with TestClient(create_app(service, settings)) as client:
        assert client.get("/healthz").status_code == 503
        page = client.get("/", params={"q": QUESTION})
        assert page.status_code == 503 and "索引" in page.text
        assert str(tmp_path) not in page.text and str(tmp_path) not in client.get("/healthz").text
        assert client.get("/api/ask", params={"q": QUESTION}).status_code == 503
        login(client)
        assert "还没有索引" in client.get("/admin").text
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert client.post("/admin/reindex", headers=auth).status_code == 202
        assert wait_for_job(client, auth)["stats"]["issues"] == 1
        assert client.get("/healthz").json()["issues"] == 1


def test_more_results_page_on(reader):
    page = reader.get("/", params={"q": "理论学习", "top_k": 1}).text
    more = re.search(r'<p class="more"><a href="([^"]+)">更多结果</a>', page)
    assert more, "one result shown, more offered"
    second = reader.get(html.unescape(more.group(1)))
    assert second.status_code == 200
    assert '<ol class="results" start="2">' in second.text
    first_quote = marks(page.split('<li class="result">')[1])
    assert marks(second.text.split('<li class="result">')[1]) != first_quote
    only = reader.get("/", params={"q": QUESTION, "top_k": 5}).text
    assert "更多结果" not in only, "no 更多结果 link when nothing more is worth showing"


def test_admin_uploads_a_docx_issue(admin_app):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    for line in NEW_ISSUE.splitlines():
        if line.strip():
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    files = {"file": ("第456期.docx", buffer.getvalue(),
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document")}
    r = admin_app.post("/admin/upload", files=files, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["issue"]["number"] == 456 and r.json()["file"].endswith(".docx")


@pytest.mark.parametrize("name", ["第455期.doc", "第455期.wps", "第455期.ofd"])
def test_admin_upload_reads_doc_wps_and_ofd(admin_app, name):
    """The page offers every format, and the upload reads it (455 is already in the corpus, so
    the answer names the issue it found in the file and keeps the corpus as it was)."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    data_dir = Path(__file__).resolve().parent / "data"
    data = (data_dir / ("455.ofd" if name.endswith(".ofd") else "455.doc")).read_bytes()
    r = admin_app.post("/admin/upload", files={"file": (name, data, "application/octet-stream")}, headers=auth)
    assert r.status_code == 422, r.text
    assert "是同一期（第455期）" in r.json()["message"]
    page = admin_app.get("/admin", headers=auth).text
    assert 'accept=".txt,.docx,.pdf,.doc,.wps,.ofd"' in page


@pytest.fixture(scope="module")
def talker(tmp_path_factory):
    """A client of the small archive where each follow-up's right answer is known."""
    service = conversation_service(tmp_path_factory.mktemp("conversation"))
    with TestClient(create_app(service, service.settings)) as client:
        yield client


def test_api_follow_ups_are_read_per_session_and_never_mix(talker):
    def ask(q: str, session: str = "") -> dict:
        r = talker.get("/api/ask", params={"q": q, **({"session": session} if session else {})})
        assert r.status_code == 200, r.text
        return r.json()

    assert ask("2022年山东GDP有多少", "tab-a")["understood"] == ""
    assert ask("昆山市垃圾分类有哪些做法", "tab-b")["results"][0]["title"] == "昆山市：垃圾分类进小区"
    gdp = ask("广东呢", "tab-a")
    assert gdp["understood"] == "2022年广东GDP有多少" and gdp["results"][0]["title"] == "广东发布2022年经济运行情况"
    sorting = ask("那徐州呢", "tab-b")
    assert sorting["understood"] == "徐州垃圾分类有哪些做法"
    assert sorting["results"][0]["title"] == "徐州市：垃圾分类督导员上岗"
    assert ask("广东呢")["understood"] == ""  # no session: every question stands alone
    assert ask("/new", "tab-a") == {"reset": True}
    assert ask("广东呢", "tab-a")["understood"] == ""


def test_ask_page_says_how_a_follow_up_was_understood(talker):
    talker.get("/", params={"q": "2022年山东GDP有多少", "session": "page-1"})
    page = talker.get("/", params={"q": "广东呢", "session": "page-1"}).text
    assert '<p class="understood" id="understood">按“2022年广东GDP有多少”查找：</p>' in page
    results = page[page.index('class="results"'):]
    assert re.search(r"第\d+期 · [\d-]+ · 【[^】]+】 (\S+?)</a>", results).group(1) == "广东发布2022年经济运行情况"
    assert 'name="session"' in page
    assert 'id="understood"' not in talker.get("/", params={"q": "广东呢"}).text
