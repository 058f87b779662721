"""The web app's 关注与汇编 page through httpx: a reader's own list, kept by a cookie id, and the
素材汇编 download opened with python-docx. Real service over corpus/ (HashEmbedder).
"""

from __future__ import annotations

import html
import io
import re

import pytest
from docx import Document
from fastapi.testclient import TestClient

from bulletin_bot.web import create_app

from test_web import make_service


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings, service = make_service(tmp_path_factory.mktemp("web-follow"))
    return create_app(service, settings)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def topics_shown(page: str) -> list[str]:
    block = page.split('<ul class="follows">', 1)[1].split("</ul>", 1)[0] if '<ul class="follows">' in page else ""
    return [html.unescape(t) for t in re.findall(r'name="topic" value="([^"]*)"', block)]


def test_a_reader_follows_and_unfollows_on_their_own_list(app):
    alice, bob = TestClient(app), TestClient(app)
    page = alice.get("/follow").text
    assert "还没有关注任何主题" in page and "素材汇编" in page
    token = csrf_of(page)
    added = alice.post("/follow", data={"csrf": token, "topic": "理论宣讲"})
    assert added.status_code == 200 and "已关注「理论宣讲」" in added.text
    alice.post("/follow", data={"csrf": token, "topic": "全部"})
    assert topics_shown(alice.get("/follow").text) == ["理论宣讲", "全部"]
    assert topics_shown(bob.get("/follow").text) == []  # another browser, another list
    removed = alice.post("/follow", data={"csrf": token, "topic": "理论宣讲", "action": "remove"})
    assert "已取消关注「理论宣讲」" in removed.text
    assert topics_shown(removed.text) == ["全部"]


def test_a_form_without_the_reader_s_token_changes_nothing(app):
    alice = TestClient(app)
    token = csrf_of(alice.get("/follow").text)
    forged = alice.post("/follow", data={"csrf": "0" * 32, "topic": "理论宣讲"})
    assert forged.status_code == 403
    stranger = TestClient(app)  # no cookie: a cross-site form
    assert stranger.post("/follow", data={"csrf": token, "topic": "理论宣讲"}).status_code == 403
    assert topics_shown(alice.get("/follow").text) == []


def test_topics_are_escaped_and_the_limit_is_said(app):
    carol = TestClient(app, client=("192.0.2.61", 1))  # her own address: 20 new follows a day each
    token = csrf_of(carol.get("/follow").text)
    page = carol.post("/follow", data={"csrf": token, "topic": "<script>x</script>"}).text
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    for n in range(19):
        carol.post("/follow", data={"csrf": token, "topic": f"主题{n}"})
    refused = carol.post("/follow", data={"csrf": token, "topic": "再多一个"})
    assert refused.status_code == 400 and "每人最多关注 20 个主题" in refused.text


def test_the_dossier_downloads_as_docx_with_each_passage_verbatim(app):
    client = TestClient(app)
    r = client.get("/dossier", params={"topic": "理论宣讲", "from": "2023-01", "to": "2023-12", "passages": "true"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    doc = Document(io.BytesIO(r.content))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "素材汇编：理论宣讲" and "只收录回答主题的段落" in texts
    service = app.state.service
    articles = [service.article(ref.article_id).text for s in service.issues()
                for view in service.issue(s.number) for ref in view.articles]
    body = [p.text for p in doc.paragraphs if p.text and not p.style.name.startswith(("Heading", "Title", "List"))]
    assert len(body) > 4
    for paragraph in body[4:]:  # after the title page's four lines
        assert any(paragraph in text for text in articles), paragraph
    md = client.get("/dossier", params={"topic": "理论宣讲", "from": "2023-12", "to": "2023-12", "format": "md"})
    assert md.headers["content-type"].startswith("text/markdown") and "# 素材汇编：理论宣讲" in md.text
    bad = client.get("/dossier", params={"topic": "理论宣讲", "from": "2023-12", "to": "2023-01"})
    assert bad.status_code == 400 and "晚于结束日期" in bad.text
    assert client.get("/dossier", follow_redirects=False).headers["location"].endswith("/follow#dossier")
