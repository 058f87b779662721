"""Degrade, never collapse: a contents entry the body does not print alike costs its own article
only, and an issue read wrong is said to be (`parse`, `index` and `index --status` name it and
the reason)."""

from __future__ import annotations

import json
import shutil

from bulletin_bot.parsing import parse_text
from conftest import SAMPLE
from test_cli import run

TITLES = ["宿迁市：红石榴宣讲团走进渔村", "泗洪县：理论宣讲进田间", "沭阳县：花木之乡学党史", "泗阳县：运河岸边话发展",
          "宿城区：社区书记讲故事"]


def swallowed_issue() -> str:
    """An issue whose contents lists five articles, but whose body prints only the first title:
    the others were lost (as a layout the reader does not know can lose them), so their
    paragraphs all run into the first article."""
    head = "工作简报\n\n第 457 期\n\n协调小组办公室\n\n2023 年 12 月 30 日\n\n【经验交流】\n\n"
    contents = "".join(f"- {title}\n\n" for title in TITLES)
    body = f"【经验交流】\n\n{TITLES[0]}\n\n" + "".join(
        f"{title[:3]}组建宣讲队伍，开展宣讲{k + 10}场，覆盖群众{k + 2}千人次。\n\n" for k, title in enumerate(TITLES))
    return head + contents + body + "送：省协调小组成员单位\n\n协调小组办公室\n"


def test_an_issue_read_as_fewer_articles_than_its_contents_is_suspect():
    issue = parse_text(swallowed_issue(), "457.txt")
    assert len(issue.articles) == 1
    assert any("read as 1 articles, but its contents lists 5" in reason for reason in issue.warnings)
    assert any("holds 100% of the text" in reason for reason in issue.warnings)


def test_a_contents_entry_the_body_does_not_print_does_not_merge_the_articles_after_it():
    head = "工作简报\n\n第 458 期\n\n协调小组办公室\n\n2023 年 12 月 31 日\n\n【经验交流】\n\n"
    contents = "".join(f"- {title}\n\n" for title in TITLES)
    printed = list(TITLES)
    printed[1] = "把党的声音送到群众身边"  # the body's title is not the contents' one
    # no paragraph ends with a full stop: the shape of the text alone
    # does not show where the next article starts
    body = "【经验交流】\n\n" + "".join(
        f"{title}\n\n{title[:3]}组建宣讲队伍，开展宣讲{k + 10}场，座谈会{k + 3}场等\n\n" for k, title in enumerate(printed))
    issue = parse_text(head + contents + body + "送：省协调小组成员单位\n", "458.txt")
    titles = [article.title for article in issue.articles]
    assert titles == [TITLES[0], TITLES[2], TITLES[3], TITLES[4]]  # the unmatched one stays in the first
    assert "把党的声音送到群众身边" in issue.articles[0].text
    assert issue.articles[1].text.startswith("沭阳县组建宣讲队伍")


def test_the_seed_is_not_suspect():
    assert parse_text(SAMPLE.read_text(encoding="utf-8"), "455.txt").warnings == ()


def test_parse_index_and_status_name_the_suspect_issue(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / "455.txt")
    (corpus / "457.txt").write_text(swallowed_issue(), encoding="utf-8")

    parsed = run("parse", "--json", str(corpus / "457.txt"))
    assert parsed.returncode == 0
    assert "457.txt: suspect: read as 1 articles, but its contents lists 5" in parsed.stderr
    assert json.loads(parsed.stdout)["warnings"]

    index = tmp_path / "index"
    built = run("index", "--corpus", str(corpus), "--index", str(index), "--model", "hash", "--quiet")
    assert built.returncode == 0, built.stderr
    assert "suspect 457.txt: read as 1 articles" in built.stderr
    assert "suspect 455.txt" not in built.stderr

    status = run("index", "--status", "--index", str(index))
    assert "issues indexed whose articles look wrongly read (1):" in status.stdout
    assert "457.txt: read as 1 articles, but its contents lists 5" in status.stdout

    again = run("index", "--corpus", str(corpus), "--index", str(index), "--model", "hash", "--quiet")
    assert "suspect 457.txt" in again.stderr  # still said when nothing changed


def test_a_title_run_into_the_paragraph_above_it_is_cut_out():
    """A PDF layout cannot tell a paragraph whose last line fills the column from a wrapped one:
    the first half of a title broken over two lines is run into it."""
    head = "工作简报\n\n第 459 期\n\n协调小组办公室\n\n2024 年 1 月 5 日\n\n【经验交流】\n\n"
    contents = "".join(f"- {title}\n\n" for title in TITLES[:3])
    body = (f"【经验交流】\n\n{TITLES[0]}\n\n宿迁市组建宣讲队伍，开展宣讲10场。泗洪县：理论宣讲\n\n进田间\n\n"
            f"泗洪县组建宣讲队伍，开展宣讲11场。\n\n{TITLES[2]}\n\n沭阳县组建宣讲队伍，开展宣讲12场。\n\n")
    issue = parse_text(head + contents + body + "送：省协调小组成员单位\n", "459.txt")
    assert [article.title for article in issue.articles] == TITLES[:3]
    assert issue.articles[0].text == "宿迁市组建宣讲队伍，开展宣讲10场。"
    assert issue.articles[1].text == "泗洪县组建宣讲队伍，开展宣讲11场。"
