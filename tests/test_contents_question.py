"""Questions about the bulletins themselves get their contents (number, date, sections, titles,
each article openable and citable) instead of three passages, on every front end."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from datetime import date

import pytest
from fastapi.testclient import TestClient

from bulletin_bot.channels.chat import ChatBot, Incoming, Markup, utf8_len
from bulletin_bot.config import Settings
from bulletin_bot.contents_question import contents_answer
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.service import BulletinService
from bulletin_bot.web import create_app

from conftest import NEW_ISSUE, SAMPLE

TITLE_455 = "泗洪县：打造“洪轩理”理论品牌 筑牢基层理论武装根基"
TITLE_456 = "宿迁市：“红石榴”宣讲团走进骆马湖渔村"
TODAY = date(2024, 1, 10)  # "上个月" is December 2023, when 455 (12-10) and 456 (12-20) came out


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> BulletinService:
    base = tmp_path_factory.mktemp("contents")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / "455.txt")
    (corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    svc = BulletinService(Settings(corpus=corpus, index=base / "index", cache=base / "cache", model="hash"),
                          embedder=HashEmbedder())
    svc.reindex()
    return svc


def listed(answer) -> list[tuple[int, list[str]]]:
    return [(v.summary.number, [f"【{a.section}】{a.title}" for a in v.articles]) for v in answer.contents]


@pytest.mark.parametrize("question, issues", [
    ("最近一期有什么内容", [456]),
    ("第455期有哪些文章", [455]),
    ("上个月的简报讲了什么", [456, 455]),
    ("【经验交流】栏目最近有什么", [456, 455]),
    ("2023年12月的简报有哪些", [456, 455]),
])
def test_questions_about_the_bulletins_get_their_contents(service, question, issues):
    answer = contents_answer(question, service._current(), today=TODAY)
    assert answer is not None and answer.found and answer.results == ()
    assert [n for n, _ in listed(answer)] == issues
    titles = dict(listed(answer))
    if 455 in titles:
        assert f"【经验交流】{TITLE_455}" in titles[455]
    if "经验交流" in question:  # a section named: only its articles
        assert all(t.startswith("【经验交流】") for ts in titles.values() for t in ts)
    else:
        assert any(t.startswith("【上情下达】") for t in titles.get(455, ["【上情下达】"]))


@pytest.mark.parametrize("question", ["第455期讲了泗洪县什么", "红书房建了多少个", "2023年12月省委常委会传达了什么",
                                      "泗洪县理论宣讲做法"])
def test_a_question_about_content_is_searched_as_before(service, question):
    assert contents_answer(question, service._current(), today=TODAY) is None
    assert service.ask(question).contents == ()


def test_a_period_without_bulletins_says_so_and_names_the_latest(service):
    answer = contents_answer("上个月的简报讲了什么", service._current(), today=date(2026, 12, 7))
    assert not answer.found and answer.contents == ()
    assert "没有" in answer.reason and "第456期" in answer.reason


def test_every_front_end_shows_the_contents_and_opens_the_articles(service):
    question = "第455期有哪些文章"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cli = [sys.executable, "-m", "bulletin_bot.cli", "ask", "--index", str(service.settings.index)]
    shown = subprocess.run([*cli, question], capture_output=True, text=True, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "第455期 · 2023-12-10" in shown.stdout and "【经验交流】" in shown.stdout and TITLE_455 in shown.stdout
    data = json.loads(subprocess.run([*cli, "--json", question], capture_output=True, text=True, env=env,
                                     timeout=120).stdout)
    article = next(a for a in data["contents"][0]["articles"] if a["section"] == "经验交流")
    assert article["citation"] == f"第455期 · 2023-12-10 · 【经验交流】 {TITLE_455}"
    assert service.article(article["article_id"]).citation.title == TITLE_455

    class Recorded:
        name = "test"
        markup = Markup("test", 2000, utf8_len)
        sent: list[str] = []

        async def send(self, message, texts) -> None:
            self.sent.extend(texts)

    channel = Recorded()
    bot = ChatBot(service, Settings(), channel, frozenset())
    asyncio.run(bot.handle(Incoming(user="u", chat="c", text=question, private=True)))
    text = "\n".join(channel.sent)
    assert "第455期 · 2023-12-10" in text and "【经验交流】" in text and TITLE_455 in text and "「" not in text

    with TestClient(create_app(service, service.settings)) as client:
        page = client.get("/", params={"q": question}).text
        assert "简报目录" in page and f'href="/articles/{article["article_id"]}"' in page
        assert TITLE_455.replace("“", "&#34;") in page or TITLE_455 in page
        api = client.get("/api/ask", params={"q": question}).json()
        assert api["found"] and api["contents"][0]["issue"] == 455
