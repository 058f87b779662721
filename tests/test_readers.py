"""Bytes -> text: encodings, Word and PDF copies of the seed, and files that are not bulletins."""

from __future__ import annotations

import io
import zipfile

import pytest

from bulletin_bot.errors import ParseError
from bulletin_bot.corpus import scan
from bulletin_bot.parsing import parse_bytes, read_issue
from bulletin_bot.readers import decode_text, sniff

from fixtures import SEED, docx_bytes, pdf_bytes, seed_text


@pytest.fixture(scope="module")
def seed():
    return read_issue(SEED)


def same_articles(issue, seed) -> None:
    assert (issue.series, issue.number, issue.date, issue.office) == (seed.series, seed.number, seed.date, seed.office)
    assert issue.sections == seed.sections
    assert [(a.section, a.title, a.paragraphs) for a in issue.articles] == [
        (a.section, a.title, a.paragraphs) for a in seed.articles
    ]
    assert issue.footer == seed.footer


@pytest.mark.parametrize(
    ("encode", "encoding"),
    [
        (lambda t: t.encode("utf-8"), "utf-8"),
        (lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"), "utf-8-sig"),
        (lambda t: t.replace("\n", "\r\n").encode("utf-8"), "utf-8"),
        (lambda t: t.encode("gb18030"), "gb18030"),
        (lambda t: t.replace("\n", "\r\n").encode("gbk"), "gb18030"),
        (lambda t: t.encode("utf-16"), "utf-16"),
    ],
    ids=["utf8", "utf8-bom", "crlf", "gb18030", "gbk-crlf", "utf16-bom"],
)
def test_encodings_give_the_same_issue(encode, encoding, seed):
    issue = parse_bytes(encode(seed_text()), "455.txt")
    assert issue.encoding == encoding
    same_articles(issue, seed)


TRADITIONAL = """建設學習型黨組織、學習型領導班子
工作簡報

第 12 期

市委辦公室                2024年3月5日

【經驗交流】

臺中區：推動基層理論宣講走深走實

臺中區組織宣講團深入社區、學校和企業，開展理論宣講一百餘場，聽眾達兩萬人次。

宣講團成員來自機關、學校和企業，用群眾聽得懂的語言講清楚政策。

送：各區黨委
"""


def test_big5_export_reads_like_its_utf8_copy():
    # Big5 bytes are mostly valid GB18030 too, decoding there to rare characters
    big5 = parse_bytes(TRADITIONAL.encode("big5"), "12.txt")
    utf8 = parse_bytes(TRADITIONAL.encode("utf-8"), "12.txt")
    assert big5.encoding == "big5"
    assert (big5.series, big5.number, big5.date, big5.office) == (utf8.series, 12, "2024-03-05", "市委辦公室")
    assert [(a.section, a.title, a.paragraphs) for a in big5.articles] == [
        (a.section, a.title, a.paragraphs) for a in utf8.articles
    ]
    assert big5.articles[0].title == "臺中區：推動基層理論宣講走深走實"


def test_decode_normalises_line_ends():
    text, encoding = decode_text("第1期\r\n正文\r旧式\n".encode("gb18030"), "x.txt")
    assert text == "第1期\n正文\n旧式\n" and encoding == "gb18030"


def test_docx_copy_parses_like_the_text(seed):
    issue = parse_bytes(docx_bytes(seed_text()), "455.docx")
    assert issue.encoding == "docx"
    same_articles(issue, seed)


def test_docx_tables_are_read_in_order(seed):
    issue = parse_bytes(docx_bytes(seed_text(), masthead_table=True), "455.docx")
    same_articles(issue, seed)


def test_pdf_copy_parses_like_the_text(seed):
    issue = parse_bytes(pdf_bytes(seed_text()), "455.pdf")
    assert issue.encoding == "pdf"
    same_articles(issue, seed)
    assert "要求我们走在前、做示范，再到这次强调" in issue.articles[0].text


def test_pdf_without_indents_keeps_titles_and_text(seed):
    """Without paragraph indents only line widths tell paragraphs apart: text and titles still match."""
    issue = parse_bytes(pdf_bytes(seed_text(), indent=False), "455.pdf")
    assert [(a.section, a.title) for a in issue.articles] == [(a.section, a.title) for a in seed.articles]
    assert ["".join(a.paragraphs) for a in issue.articles] == ["".join(a.paragraphs) for a in seed.articles]


def test_read_issue_of_docx_and_pdf_files(tmp_path, seed):
    (tmp_path / "455.docx").write_bytes(docx_bytes(seed_text()))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "455.pdf").write_bytes(pdf_bytes(seed_text()))
    same_articles(read_issue(tmp_path / "455.docx"), seed)
    issues, problems = scan([tmp_path])
    assert len(issues) == 1 and len(problems) == 1
    assert problems[0].reason.startswith("duplicate of")


def test_content_decides_over_a_wrong_suffix(seed):
    assert sniff(docx_bytes(seed_text())) == "docx"
    same_articles(parse_bytes(pdf_bytes(seed_text()), "455.txt"), seed)


# ------------------------------------------------------------------ bad input


def test_empty_file():
    with pytest.raises(ParseError, match=r"^e\.txt: empty file$"):
        parse_bytes(b"", "e.txt")
    with pytest.raises(ParseError, match="empty file"):
        parse_bytes(b" \r\n\n  ", "e.txt")


def test_binary_junk():
    junk = bytes((i * 7 + 3) % 256 for i in range(4096))
    with pytest.raises(ParseError, match=r"^j\.txt: binary data"):
        parse_bytes(junk, "j.txt")
    with pytest.raises(ParseError, match="a PNG image: scan bulletins into PDF"):
        parse_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200), "image.txt")
    # high bytes only: valid GB18030 by accident, but not Chinese text
    rare = bytes(0x81 + (i * 37) % 0x7E for i in range(4000))
    with pytest.raises(ParseError, match="binary data or unknown encoding"):
        parse_bytes(rare, "rare.txt")


def test_truncated_gb18030():
    data = seed_text().encode("gb18030")
    cut = data[: len(data) - 1]  # ends in the middle of a two-byte character
    with pytest.raises(ParseError, match=r"^t\.txt: truncated GB18030: the file ends mid-character at byte \d+$"):
        parse_bytes(cut, "t.txt")


def test_truncated_utf8():
    data = seed_text().encode("utf-8")
    with pytest.raises(ParseError, match="truncated UTF-8"):
        parse_bytes(data[:-2], "t.txt")


def test_no_issue_number():
    text = seed_text().replace("第 455 期", "")
    with pytest.raises(ParseError, match=r"^n\.txt: no issue number \(第N期\)"):
        parse_bytes(text.encode("utf-8"), "n.txt")


def test_unreadable_pdf():
    with pytest.raises(ParseError, match=r"^bad\.pdf: unreadable PDF"):
        parse_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8, "bad.pdf")
    with pytest.raises(ParseError, match=r"unreadable PDF: the file does not start with %PDF"):
        parse_bytes("第455期".encode("utf-8"), "bad.pdf")
    truncated = pdf_bytes(seed_text())[:600]
    with pytest.raises(ParseError, match="unreadable PDF"):
        parse_bytes(truncated, "cut.pdf")


def test_pdf_without_text_layer():
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    page = canvas.Canvas(buf)
    page.rect(100, 100, 200, 200, fill=1)  # a "scan": shapes, no text
    page.save()
    with pytest.raises(ParseError, match="no text layer"):
        parse_bytes(buf.getvalue(), "scan.pdf")


def test_pdf_keeps_a_degree_sign_set_in_a_run_of_its_own():
    """A `℃` in a font object of its own (reportlab does so when it falls in another 256-glyph
    subset than its neighbours): pdfium's text page drops a run whose glyph box is empty, and
    WenQuanYi's `℃` has one, so `6℃～8℃，` read `6℃～8，`. Nothing is read twice."""
    from pathlib import Path

    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    from bulletin_bot.readers.pdf import pdf_text

    font = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    if not font.is_file():
        pytest.skip(f"needs {font} (fonts-wqy-microhei)")
    for name in ("DegreeBody", "DegreeSign"):  # two font objects, two subsets, one font file
        pdfmetrics.registerFont(TTFont(name, str(font), subfontIndex=0))
    buf = io.BytesIO()
    page = canvas.Canvas(buf, pagesize=(400, 300))
    line = page.beginText(40, 240)
    for run in ["北京今天晴，气温6", "℃", "～8", "℃", "，南风二级。"]:
        line.setFont("DegreeSign" if run == "℃" else "DegreeBody", 12)
        line.textOut(run)
    page.drawText(line)
    page.setFont("DegreeBody", 12)
    page.drawString(40, 220, "夜间最低气温零下2")
    page.setFont("DegreeSign", 12)
    page.drawString(40 + 12 * 8 + 6, 220, "℃")  # a line's last glyph, alone
    page.save()
    text, _ = pdf_text(buf.getvalue(), "weather.pdf")
    assert text.split() == ["北京今天晴，气温6℃～8℃，南风二级。", "夜间最低气温零下2℃"]


def test_unreadable_docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("hello.txt", "not a Word document")
    with pytest.raises(ParseError, match=r"^w\.docx: unreadable Word file"):
        parse_bytes(buf.getvalue(), "w.docx")
    with pytest.raises(ParseError, match="unreadable Word file"):
        parse_bytes(b"plain text", "w.docx")


def test_folder_with_bad_files_still_parses_the_rest(tmp_path, seed):
    (tmp_path / "455.txt").write_bytes(seed_text().encode("gb18030"))
    (tmp_path / "a-empty.txt").write_bytes(b"")
    (tmp_path / "b-cut.txt").write_bytes(seed_text().encode("gb18030")[:-1])
    (tmp_path / "c-broken.pdf").write_bytes(b"%PDF-1.4 nothing else")
    (tmp_path / "d-broken.docx").write_bytes(b"PK\x03\x04 nothing else")
    issues, problems = scan([tmp_path])
    assert [i.number for i in issues] == [455]
    same_articles(issues[0], seed)
    reasons = [(p.file.rsplit("/", 1)[-1], p.reason.split(":")[0]) for p in problems]
    assert reasons == [
        ("a-empty.txt", "empty file"),
        ("b-cut.txt", "truncated GB18030"),
        ("c-broken.pdf", "unreadable PDF"),
        ("d-broken.docx", "unreadable Word file"),
    ]


def test_docx_masthead_in_a_merged_cell_table(seed):
    import docx

    from fixtures import lines_of

    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "建设学习型党组织、学习型领导班子 工作简报"
    table.cell(1, 0).text = "第 455 期"
    table.cell(1, 1).text = "协调小组办公室　2023 年 12 月 10 日"
    for line in lines_of(seed_text())[4:]:
        document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    same_articles(parse_bytes(buf.getvalue(), "455.docx"), seed)
