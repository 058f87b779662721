"""The PDF reader on layouts it was not written for (tests/pdf_layouts.py): the seed issue (and a
few shared issues, when ../shared is there) printed in seeded random layouts, read on this
machine's fonts and by a pdfium that sees no font at all, must come back as the same articles.

A larger run, by layout feature, is scripts/fuzz_pdf_layouts.py (docs/FORMATS.md).
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

import office_files as of
import pdf_layouts as pl
from bulletin_bot.parsing import issue_to_json, read_issue

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "455.txt"
XWLB = ROOT.parent / "shared" / "corpus" / "xwlb"
# Seeds the reader was tuned on (the fresh ones are measured by the script, once); shared issues
# with the seeds of layouts that once read them wrong: the tuning sample (≡ 1 mod 13), and two
# of the held-out sample (≡ 7) whose misses were read after it was measured.
SEEDS = (3, 4, 11, 18, 21, 26)
SHARED = {105: (4, 21), 391: (11, 26), 742: (3, 18), 508: (66,), 690: (21,), 384: (1028,), 215: (1047,)}
# Issues that must read as many titles and exact texts as the issue's .txt (found on tuning
# seeds 100-419, issues ≡ 1-6 mod 13). Without a contents list, titles in the body's type: a
# title after a paragraph whose last line fills the column (97, 824, indented paragraphs), a
# title that fills its own line exactly (158, 639, no indents). A wrapped numbered contents
# entry that ends its first line with a colon (601, not a sentence's end); a display title
# broken across a page end (799); a dotted contents entry wrapped over five lines (486).
LIKE_TEXT = {97: (136,), 158: (140,), 639: (210,), 824: (386,), 601: (392,), 799: (271,), 486: (278,)}
SHARED.update(LIKE_TEXT)
SHARED_ISSUES = tuple(SHARED)


def _records(issue_json: dict) -> list[dict]:
    return [{"issue": issue_json["issue"], "date": issue_json["date"], "title": a["title"], "text": a["text"]}
            for a in issue_json["articles"]]


def _cases() -> list[tuple[str, of.Bulletin, list[dict], collections.Counter | None]]:
    """(name, bulletin, truth records, the score of the issue's own .txt where it is a floor)."""
    seed = read_issue(SEED)
    cases = [("seed", of.from_issue(seed, SEED.read_text(encoding="utf-8")), _records(issue_to_json(seed)), None)]
    if XWLB.is_dir():
        truth: dict[int, list[dict]] = collections.defaultdict(list)
        for line in (XWLB / "truth.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["issue"] in SHARED_ISSUES:
                truth[record["issue"]].append(record)
        from bulletin_bot.readers import decode_text

        for n in SHARED_ISSUES:
            records = truth[n]
            raw = (XWLB / "issues" / records[0]["file"]).read_bytes()
            text, _ = decode_text(raw, records[0]["file"])
            articles = [(r["section"], r["title"], r["text"].split("\n")) for r in records]
            floor = pl.score(pl.parse_json(raw, records[0]["file"]), records) if n in LIKE_TEXT else None
            cases.append((str(n), of.from_text_and_articles(text, articles, n), records, floor))
    return cases


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """{file name: (records, PDF, floor)}: each case printed in the seeds' layouts."""
    files = {}
    for name, bulletin, records, floor in _cases():
        for seed in (SEEDS if name == "seed" else SHARED[int(name)]):
            files[f"{name}-s{seed}.pdf"] = (records, pl.render(bulletin, pl.draw_layout(seed)), floor)
    return files


def _check(parsed: dict[str, dict | None], printed, titles: float = 0.99, texts: float = 0.97) -> None:
    total: collections.Counter = collections.Counter()
    for name, (records, _, floor) in printed.items():
        c = pl.score(parsed[name], records)
        # what a user would see first: every article of the issue is there, none swallowed
        assert c["found"] >= 0.9 * c["articles"], f"{name}: {c['found']} articles read of {c['articles']}"
        assert c["number_date"], f"{name}: issue number or date wrong"
        if floor is not None:  # the layout costs nothing against the issue's own text
            assert c["title"] >= floor["title"] and c["text"] >= floor["text"], \
                f"{name}: titles {c['title']}, texts {c['text']}; its .txt {floor['title']}, {floor['text']}"
        total += c
    assert total["title"] / total["articles"] >= titles, total
    assert total["text"] / total["articles"] >= texts, total


def test_random_layouts_read_as_the_same_articles(printed):
    _check({name: pl.parse_json(data, name) for name, (_, data, _) in printed.items()}, printed)


def test_random_layouts_read_alike_on_a_server_without_fonts(printed, tmp_path):
    parsed = pl.parse_without_fonts({name: data for name, (_, data, _) in printed.items()}, tmp_path)
    # pdfium drops a text object of one glyph that no font on the machine can draw (a title's last
    # character alone on its line): the reader gives pdfium a fallback font (readers/fallback_font.py)
    _check(parsed, printed)


@pytest.mark.skipif(not XWLB.is_dir(), reason=f"needs the shared corpus at {XWLB} (absent in a bare clone)")
def test_docx_with_a_bulleted_contents_reads_as_its_text_export():
    """Word draws a list's bullets itself, so its contents entries carry no "- " in their text."""
    import io

    import docx

    from bulletin_bot.readers import decode_text

    records = [json.loads(line) for line in (XWLB / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    records = [r for r in records if r["issue"] == 300]  # its bare list read as one with six extra articles
    raw = (XWLB / "issues" / records[0]["file"]).read_bytes()
    text, _ = decode_text(raw, records[0]["file"])
    document = docx.Document()
    for line in text.splitlines():
        if line.strip().startswith("- "):
            document.add_paragraph(line.strip()[2:], style="List Bullet")
        elif line.strip():
            document.add_paragraph(line.strip())
    buf = io.BytesIO()
    document.save(buf)
    assert pl.score(pl.parse_json(buf.getvalue(), "300.docx"), records) == pl.score(pl.parse_json(raw, "300.txt"), records)


# ------------------------------------------------------------------ the rules on a page built by hand


def _page(lines: list[tuple[str, float]], size: float = 16.0, left: float = 40.0, pitch: float = 24.0):
    """A page of body-size lines (text, x0), one glyph run each, one em per character."""
    from bulletin_bot.readers.layout import Page, Piece

    pieces = tuple(Piece(text, x0, x0 + size * len(text), 60.0 + k * pitch, size) for k, (text, x0) in enumerate(lines))
    return Page(400.0, 800.0, pieces)


FULL = 20  # characters of a full line: the column is 320 pt wide, 16 pt type


def test_a_title_at_the_margin_after_a_full_last_line_is_its_own_paragraph():
    """Paragraphs indented; a paragraph's last line that fills the column, a title at the body's
    size at the margin under it: the title is not the paragraph's last line."""
    from bulletin_bot.readers.layout import layout_text

    body = ["吉林长春各大商超围绕元旦春节等重要的", "时间节点陆续推出上百场促销活动发放两千万", "元消费券确保节日消费市场商品充足而齐全。"]
    lead = ["为了应对新冠病毒感染，各地普遍采取了", "医疗专家下沉、加强农村药品配备等项措施，", "提升基层医疗救治能力。"]
    assert [len(line) for line in body] == [len(lead[0]), FULL, FULL] == [18, len(lead[1]), FULL]
    lines = [(text, 72.0 if k == 0 else 40.0) for _ in range(2) for k, text in enumerate(body)]
    lines += [("各地采取措施提升基层医疗救治能力", 40.0)] + [(text, 72.0 if k == 0 else 40.0) for k, text in enumerate(lead)]
    paragraphs = layout_text([_page(lines)]).split("\n\n")
    assert paragraphs[-2:] == ["各地采取措施提升基层医疗救治能力", "".join(lead)]


def test_a_title_that_fills_its_line_is_not_run_into_its_lead():
    """Nothing indented, titles in the body's type: a title exactly as wide as the column is
    followed by its lead, whose first sentence restates it; a paragraph's first line that fills
    the column without punctuation runs on into the rest of its sentence."""
    from bulletin_bot.readers.layout import layout_text

    title = "李希主持召开中央纪委常委会议传达全会精神"
    lead = "本台消息，中共中央政治局常委李希今天主持召开中央纪委常委会议，传达全会精神。"
    words = "会议推举十三届全国政协主席汪洋在全国政协会议上作工作报告，邵鸿作提案工作情况报告。"
    lines = [("【要闻】", 40.0), ("一篇报道的最后一段只有一行。", 40.0), (title, 40.0), (lead[:FULL], 40.0), (lead[FULL:], 40.0),
             (words[:FULL], 40.0), (words[FULL : 2 * FULL], 40.0), (words[2 * FULL :], 40.0)]
    paragraphs = layout_text([_page(lines)]).split("\n\n")
    assert len(title) == FULL and title in paragraphs and lead in paragraphs
    assert words in paragraphs  # its first line is no title: the rest of the sentence does not restate it


def test_a_headline_in_the_body_type_is_no_title_where_titles_are_set_larger():
    """Titles set larger than the body; inside an article, a headline-shaped line in the body's
    type between two paragraphs (a digest's next item) heads prose of that article: the reader
    gets one article, not two, while a title in display type still opens the next."""
    from bulletin_bot.parsing import parse_text
    from bulletin_bot.readers.layout import Page, Piece, layout_text

    size, title_size, left, pitch = 16.0, 22.0, 40.0, 24.0
    rows = [("新闻联播文字稿摘编（第148期）", title_size), ("资料整理组 2023年2月19日", size), ("【综合报道】", size),
            ("赫什：美政府不会承认策划破坏管道", title_size),
            ("此前爆料美国策划炸毁管道的美国资深调查", size), ("记者近日表示，美国政府永远不会承认。", size),
            ("德国政界人士呼吁对美国展开调查", size),
            ("德国政界人士指出，必须就赫什的报道对美", size), ("国展开调查。", size),
            ("非盟峰会聚焦非洲大陆自贸区建设", title_size),
            ("非洲联盟第三十六届首脑会议在埃塞俄比", size), ("亚首都开幕，会议聚焦自贸区建设等议题。", size),
            ("北方多地降雪 各部门全力保畅通", title_size), ("全国多个路段今天受降雪影响一度封闭。", size)]
    pieces = tuple(Piece(text, left, left + s * len(text), 60.0 + k * pitch, s) for k, (text, s) in enumerate(rows))
    issue = parse_text(layout_text([Page(400.0, 800.0, pieces)]), "148.pdf")
    assert [a.title for a in issue.articles] == ["赫什：美政府不会承认策划破坏管道", "非盟峰会聚焦非洲大陆自贸区建设",
                                                "北方多地降雪 各部门全力保畅通"]
    assert "德国政界人士呼吁对美国展开调查" in issue.articles[0].text
