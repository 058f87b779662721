"""The `bulletin-bot` command as an admin and a user run it: index, ask, parse, status, eval."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SAMPLE

BIN = [sys.executable, "-m", "bulletin_bot.cli"]


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([*BIN, *args], input=stdin, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("cli")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / "455.txt")
    (corpus / "empty.txt").write_bytes(b"")
    index = base / "index"
    result = run("index", "--corpus", str(corpus), "--index", str(index), "--model", "hash", "--quiet")
    assert result.returncode == 0, result.stderr
    return corpus, index


def test_index_prints_a_summary_and_names_skipped_files(built):
    corpus, index = built
    result = run("index", "--corpus", str(corpus), "--index", str(index), "--model", "hash", "--quiet")
    assert result.returncode == 0
    assert "1 issues, 3 articles" in result.stdout
    # each file counted once: the bad one is skipped, not also unchanged
    assert "0 added, 0 changed, 0 removed, 1 unchanged, 1 skipped" in result.stdout
    assert "skipped empty.txt:" in result.stderr


def test_ask_answers_with_citation_and_quote(built):
    _, index = built
    result = run("ask", "--index", str(index), "泗洪县理论宣讲做法")
    assert result.returncode == 0, result.stderr
    assert "第455期 · 2023-12-10 · 【经验交流】 泗洪县：打造“洪轩理”理论品牌" in result.stdout
    assert "谁来讲、讲什么、如何讲" in result.stdout


def test_ask_json_reads_questions_from_stdin(built):
    _, index = built
    result = run("ask", "--index", str(index), "--json", "--top-k", "2", stdin="红书房建了多少个\n比特币今天的价格\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["query"] for x in lines] == ["红书房建了多少个", "比特币今天的价格"]
    first, second = lines
    assert first["found"] is True and 1 <= len(first["results"]) <= 2
    top = first["results"][0]
    assert {"issue", "date", "section", "title", "quote", "score", "file"} <= top.keys()
    assert top["issue"] == 455 and top["file"] == "455.txt" and "42个" in top["quote"]
    assert second == {**second, "found": False, "results": []}  # nothing comes close: a plain "not found"


def test_ask_without_index_fails_with_one_clear_line(tmp_path):
    result = run("ask", "--index", str(tmp_path / "nothing"), "问题")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("bulletin-bot: error: no index in")
    assert "bulletin-bot index" in result.stderr
    assert "Traceback" not in result.stderr


def test_index_status_lists_failed_files(built):
    _, index = built
    result = run("index", "--status", "--index", str(index))
    assert result.returncode == 0
    assert "1 issues, 3 articles" in result.stdout
    assert "empty.txt:" in result.stdout
    assert "hash" in result.stdout


def test_index_of_missing_corpus_is_an_error(tmp_path):
    result = run("index", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "i"), "--model", "hash")
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def test_parse_json_and_outline(tmp_path):
    result = run("parse", "--json", str(SAMPLE))
    assert result.returncode == 0, result.stderr
    issue = json.loads(result.stdout)
    assert issue["issue"] == 455 and issue["date"] == "2023-12-10"
    assert [a["section"] for a in issue["articles"]] == ["上情下达", "经验交流", "学习动态"]
    outline = run("parse", str(SAMPLE))
    assert "第455期" in outline.stdout
    bad = tmp_path / "junk.txt"
    bad.write_bytes(os.urandom(400))
    mixed = run("parse", str(SAMPLE), str(bad))
    assert mixed.returncode == 0
    assert "junk.txt" in mixed.stderr
    only_bad = run("parse", str(bad))
    assert only_bad.returncode == 1


def test_eval_reports_metrics(built, tmp_path):
    _, index = built
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"q": "红书房建了多少个", "issue": 455, "id": "seed-455-2", "answer": "42个", "kind": "question"},
                   ensure_ascii=False) + "\n"
        + json.dumps({"q": "比特币今天的价格", "issue": None, "id": None, "answer": None, "kind": "negative"},
                     ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    result = run("eval", "--index", str(index), "--questions", str(questions), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["all"]["hit@1"] == 1.0 and figures["all"]["quote@5"] == 1.0
    assert figures["all"]["abstained"] == 1.0


def test_help_names_every_command():
    result = run("--help")
    for command in ("index", "ask", "eval", "parse", "serve", "web", "model"):
        assert command in result.stdout


def test_reindex_without_model_keeps_the_index_model(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / "455.txt")
    index = tmp_path / "index"
    assert run("index", "--corpus", str(corpus), "--index", str(index), "--model", "hash", "-q").returncode == 0
    (corpus / "456.txt").write_text(SAMPLE.read_text(encoding="utf-8").replace("第 455 期", "第 456 期"),
                                    encoding="utf-8")
    again = run("index", "--corpus", str(corpus), "--index", str(index), "-q")  # no --model: the index's own
    assert again.returncode == 0, again.stderr
    status = run("index", "--status", "--index", str(index))
    assert "model:    hash (hash-char12-64)" in status.stdout
    assert run("ask", "--index", str(index), "红书房建了多少个").returncode == 0
