"""Answers at archive scale: dates as evidence, restrictions the user asked for, "not found".

A small archive made here: the shipped seed (第455期) plus bulletins written for the test,
among them the same yearly event in two years (春节假期 2023 and 2024, worded alike), a
year's figures published in the next year, and a target year. Asked with the real default
model (static-zh, built by `make install`), as users would.
"""

from __future__ import annotations

import shutil

import pytest

from bulletin_bot.config import Settings
from bulletin_bot.models import CLOSEST_HEADING
from bulletin_bot.service import BulletinService
from conftest import SAMPLE


def bulletin(number: int, day: str, articles: list[tuple[str, str, str]]) -> str:
    """A bulletin laid out like the seed: masthead, contents by section, articles, footer."""
    y, m, d = (int(x) for x in day.split("-"))
    lines = ["测试工作简报", f"第 {number} 期", "测试办公室", f"{y} 年 {m} 月 {d} 日"]
    for section, title, _ in articles:
        lines += [f"【{section}】", f"- {title}"]
    for section, title, body in articles:
        lines += [f"【{section}】", title, *body.split("\n")]
    lines += ["送：各有关单位"]
    return "\n\n".join(lines) + "\n"


SPRING = "今年春节假期，全国国内旅游出游{n}亿人次，同比增长{g}%。各地推出冰雪游、民俗游等活动，文旅消费持续升温。"
ARCHIVE = {
    "10.txt": bulletin(10, "2023-01-28", [
        ("综合报道", "春节假期国内旅游市场回暖", SPRING.format(n="3.08", g="23.1")),
        ("综合报道", "各地开展冬季安全生产检查", "应急管理部门部署冬季安全生产检查，重点排查燃气、消防隐患。"),
    ]),
    "20.txt": bulletin(20, "2023-05-16", [
        ("综合报道", "江苏部署现代化建设目标", "会议提出，到2035年，江苏要基本建成具有世界影响力的产业科技创新中心，"
                                         "率先基本实现社会主义现代化。"),
    ]),
    "60.txt": bulletin(60, "2024-02-18", [
        ("综合报道", "春节假期国内旅游市场火热", SPRING.format(n="4.74", g="34.3")),
    ]),
    "62.txt": bulletin(62, "2024-02-26", [
        ("综合报道", "国铁集团发布去年运输成绩", "国铁集团介绍，2023年全国铁路完成旅客发送量36.8亿人次，"
                                           "创历史新高，货物发送量稳中有增。"),
    ]),
    "70.txt": bulletin(70, "2024-05-10", [
        ("综合报道", "铁路五一假期运输平稳有序", "五一假期，全国铁路旅客发送量持续高位运行，各地加开旅客列车。"),
    ]),
}


def archive_of(base, static_cache, files: dict[str, str]) -> BulletinService:
    """The seed plus `files`, indexed in `base` with the real default model."""
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / SAMPLE.name)
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    service = BulletinService(Settings(corpus=corpus, index=base / "index", cache=static_cache, model="static-zh"))
    report = service.reindex()
    assert report.issues == 1 + len(files) and not report.problems
    return service


@pytest.fixture(scope="module")
def archive(tmp_path_factory, static_cache) -> BulletinService:
    return archive_of(tmp_path_factory.mktemp("archive"), static_cache, ARCHIVE)


def top_issue(answer) -> int:
    assert answer.results, answer
    return answer.results[0].citation.issue


@pytest.mark.parametrize("year, issue", [("2023", 10), ("2024", 60)])
def test_a_year_in_the_question_picks_that_years_event(archive, year, issue):
    """The same yearly event, worded alike: the date decides, as evidence."""
    answer = archive.ask(f"{year}年春节假期国内旅游出游人次")
    assert answer.found and top_issue(answer) == issue
    assert not answer.filters.any()  # evidence, not a wall: no restriction is said
    if issue == 60:  # an earlier year's event does not answer: it is not shown beside the right one
        assert 10 not in {q.citation.issue for q in answer.results}


def test_a_years_figures_published_the_next_year_are_found(archive):
    answer = archive.ask("2023年全国铁路旅客发送量是多少")
    assert answer.found and top_issue(answer) == 62
    assert "36.8亿人次" in answer.results[0].quote


@pytest.mark.parametrize("question", ["到2035年江苏要建成什么", "江苏2035年的目标是什么"])
def test_a_target_year_is_content_not_a_date(archive, question):
    answer = archive.ask(question)
    assert answer.found and top_issue(answer) == 20
    assert "具有世界影响力的产业科技创新中心" in answer.results[0].quote


def test_a_restriction_to_bulletins_is_kept_when_something_in_it_answers(archive):
    answer = archive.ask("第60期 春节假期国内旅游出游人次")
    assert answer.found and {q.citation.issue for q in answer.results} == {60}
    assert answer.filters.issue == 60 and not answer.note
    answer = archive.ask("2023年1月的简报 春节假期旅游")
    assert {q.citation.issue for q in answer.results} == {10}


def test_a_restriction_with_nothing_that_answers_is_dropped_and_said(archive):
    answer = archive.ask("第10期 2023年全国铁路旅客发送量")
    assert answer.note == "第10期的简报中没有找到相关内容，以下是其他简报中的结果"
    assert top_issue(answer) == 62
    answer = archive.ask("第999期 全国铁路旅客发送量")
    assert answer.note == "索引中没有第999期的简报，以下是其他简报中的结果"
    assert 999 not in {q.citation.issue for q in answer.results}


@pytest.mark.parametrize("question, title", [
    ("泗洪县的经验做法", "泗洪县：打造“洪轩理”理论品牌"),
    ("简报里介绍的泗洪县经验做法", "泗洪县：打造“洪轩理”理论品牌"),
    ("2023年12月的简报里泗洪县有什么经验", "泗洪县：打造“洪轩理”理论品牌"),
    ("第455期 泗洪县的做法", "泗洪县：打造“洪轩理”理论品牌"),
    ("省委常委会扩大会议传达了什么", "省委常委会召开扩大会议"),
    ("简报里提到的省委常委会扩大会议传达了什么", "省委常委会召开扩大会议"),
    ("第455期省委常委会扩大会议", "省委常委会召开扩大会议"),
    ("无锡市委理论学习中心组学了什么", "无锡、徐州、连云港市委理论学习中心组"),
    ("2023年12月简报中无锡市委中心组的报道", "无锡、徐州、连云港市委理论学习中心组"),
])
def test_the_seeds_articles_are_answered_with_or_without_words_about_bulletins(archive, question, title):
    answer = archive.ask(question)
    assert answer.found, question
    assert answer.results[0].citation.issue == 455 and answer.results[0].citation.title.startswith(title)


@pytest.mark.parametrize("question", ["2021年春节假期国内旅游出游人次", "红烧肉怎么做才好吃"])
def test_questions_the_archive_cannot_answer_are_not_found(archive, question):
    """A real topic in a year the archive does not cover, and one it never covered."""
    answer = archive.ask(question)
    assert not answer.found


def test_a_weak_answer_shows_the_closest_passages_under_a_warning(sample_service):
    """A wrong "not found" must never hide the answer: the closest passages come with it."""
    from dataclasses import replace

    from bulletin_bot.answers import answer_to_json, build_answer
    from bulletin_bot.cli import format_answer
    from bulletin_bot.ranking import retrieve

    service = sample_service
    index = service._current()
    embedder = service.embedder(index.manifest)
    question = "泗洪县红书房的管理员都是谁"
    result = retrieve(index, embedder, question)
    weak = replace(result, found=False)  # as if the evidence were weak
    answer = build_answer(question, index, weak, embedder=embedder)
    assert not answer.found and answer.results and answer.closest_only
    data = answer_to_json(answer)
    assert data["found"] is False and data["results"][0]["title"].startswith("泗洪县")
    text = format_answer(answer)
    assert text.startswith(f"未找到：{CLOSEST_HEADING}") and answer.results[0].citation.label() in text
