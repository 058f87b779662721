"""How a question is asked: a blank one is told so with how to ask (the CLI never sits waiting
on a terminal), and one with no Chinese is told that the bulletins are in Chinese, on every
front end."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from fastapi.testclient import TestClient

from bulletin_bot.bot import format as fmt
from bulletin_bot.channels.chat import not_found_text
from bulletin_bot.channels.feishu import MARKUP
from bulletin_bot.web import create_app

BIN = [sys.executable, "-m", "bulletin_bot.cli"]
ENGLISH = "What did the bulletin say about theory lectures in Sihong?"


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*BIN, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, **kwargs)


def test_an_empty_question_is_a_usage_error_that_says_how_to_ask():
    for blank in ("", "   "):
        result = run("ask", blank, stdin=subprocess.DEVNULL)
        assert result.returncode == 2, result
        assert "the question is empty" in result.stderr and "bulletin-bot ask 红书房建了多少个" in result.stderr
        assert result.stdout == ""


def test_no_question_on_a_terminal_does_not_wait_for_input():
    _, terminal = pty.openpty()
    try:
        result = subprocess.run([*BIN, "ask"], stdin=terminal, capture_output=True, text=True, timeout=60)
    finally:
        os.close(terminal)
    assert result.returncode == 2 and "no question given" in result.stderr


def test_questions_are_read_from_standard_input_when_piped_or_with_a_dash(sample_service):
    index = str(sample_service.settings.index)
    for args in (("ask", "--index", index), ("ask", "-", "--index", index)):
        result = run(*args, input="红书房建了多少个\n\n")
        assert result.returncode == 0, result.stderr
        assert "第455期" in result.stdout


def test_a_blank_question_to_the_service_says_how_to_ask(sample_service):
    answer = sample_service.ask("  ")
    assert (answer.found, answer.reason_code) == (False, "empty")
    assert answer.reason.startswith("问题是空的") and "红书房建了多少个" in answer.reason
    for text in (fmt.not_found_text(answer), not_found_text(answer, MARKUP)):
        assert text.startswith("问题是空的") and "可以试试" not in text
    assert fmt.empty_question_text().startswith("问题是空的")


def test_an_english_question_is_told_the_bulletins_are_in_chinese_everywhere(sample_service):
    answer = sample_service.ask(ENGLISH)
    assert (answer.found, answer.results, answer.reason_code) == (False, (), "not_chinese")
    assert "请用中文提问" in answer.reason and "please ask in Chinese" in answer.reason
    for text in (fmt.not_found_text(answer), not_found_text(answer, MARKUP)):
        assert "请用中文提问" in text and "可以试试" not in text

    result = run("ask", "--index", str(sample_service.settings.index), ENGLISH)
    assert result.returncode == 0 and "请用中文提问" in result.stdout and "试试换个说法" not in result.stdout

    with TestClient(create_app(sample_service, sample_service.settings)) as client:
        page = client.get("/", params={"q": ENGLISH}).text
        assert "请用中文提问" in page and "请换一种问法" in page and "可以换个说法" not in page
        data = client.get("/api/ask", params={"q": ENGLISH}).json()
        assert data["found"] is False and "请用中文提问" in data["reason"]


def test_chinese_with_latin_terms_is_searched_as_usual(sample_service):
    for question in ("红书房建了多少个", "5G", "学习强国APP的使用情况"):
        assert sample_service.ask(question).reason_code not in ("empty", "not_chinese"), question
