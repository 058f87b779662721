"""Every format offices send, read as a user would send it: the seed issue laid out like a
Word-made bulletin (tests/office_files.py) as PDF, .docx, .doc, .wps, OFD and a scan, and the
real office files in ../shared/formats when they are there.

Committed fixtures (tests/data/), made from the project's own corpus/455.txt by independent
writers: 455.doc by LibreOffice 7.4 (`soffice --convert-to doc:"MS Word 97"`) from
office_files.to_docx; 455.ofd by easyofd 20260427 (`OFD().pdf2ofd`) from office_files.to_pdf.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest

import office_files as of
from bulletin_bot import cli
from bulletin_bot.errors import ParseError
from bulletin_bot.parsing import parse_bytes, read_issue
from bulletin_bot.readers import extract_text, ocr_status, sniff

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SEED = ROOT / "corpus" / "455.txt"
FORMATS = ROOT.parent / "shared" / "formats"
needs_formats = pytest.mark.skipif(not FORMATS.is_dir(), reason=f"needs the real office files at {FORMATS} (absent in a bare clone)")
needs_ocr = pytest.mark.skipif(not ocr_status().available, reason=f"OCR not available: {ocr_status().detail}")
_WS = re.compile(r"\s+")


def squeeze(text: str) -> str:
    return _WS.sub("", text)


@pytest.fixture(scope="module")
def seed():
    return read_issue(SEED)


@pytest.fixture(scope="module")
def bulletin(seed):
    return of.from_issue(seed, SEED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def word_pdf(bulletin):
    return of.to_pdf(bulletin)


def reads_like_the_text(issue, seed) -> None:
    """What a user sees: number, date, office, sections, titles and article texts (spaces aside)."""
    assert (issue.number, issue.date, issue.office) == (seed.number, seed.date, seed.office)
    assert squeeze(issue.series) == squeeze(seed.series)
    assert [(a.section, squeeze(a.title)) for a in issue.articles] == [(a.section, squeeze(a.title)) for a in seed.articles]
    assert [squeeze(a.text) for a in issue.articles] == [squeeze(a.text) for a in seed.articles]


# ------------------------------------------------------------------ PDF


@pytest.mark.parametrize("numbers", ["dash", "of"])
def test_word_laid_out_pdf_reads_like_the_text(bulletin, seed, numbers):
    """Red masthead, contents with leaders, centred titles over two lines, running header,
    page numbers "— 2 —" or "第 2 页 共 6 页", paragraphs cut by page ends."""
    issue = parse_bytes(of.to_pdf(bulletin, numbers), "455.pdf")
    assert issue.encoding == "pdf"
    reads_like_the_text(issue, seed)
    assert "要求我们走在前、做示范，再到这次强调" in issue.articles[0].text  # a sentence cut by a page end


def test_pdf_layout_becomes_clean_lines(word_pdf, seed):
    text, _ = extract_text(word_pdf, "455.pdf")
    lines = text.split("\n\n")
    # the contents page: dotted leaders and page numbers become contents lines
    assert "- 泗洪县：打造“洪轩理”理论品牌 筑牢基层理论武装根基" in lines
    # the title printed over two (hand-broken) or three (wrapped) centred lines is one line
    assert squeeze(seed.articles[0].title) in {squeeze(line) for line in lines}
    # running headers and page numbers are gone
    assert not any(re.fullmatch(r"— \d+ —|第 \d+ 页 共 \d+ 页", line) for line in lines)
    assert not any(line.endswith("工作简报 第455期") for line in lines)


def test_a_wrapped_title_is_read_whole_and_not_joined_to_its_paragraph(bulletin, seed):
    """The case from the issue: a title too long for one line, no contents list to name it."""
    title = "习近平同越共中央总书记苏林、越南国家主席梁强共同会见中越人民大联欢活动代表"
    lead = "4月15日上午，" + seed.articles[1].paragraphs[0]
    wrapped = of.Bulletin(bulletin.masthead, [("要闻", title, [lead])] + bulletin.articles[1:], bulletin.footer,
                          contents=False, number=455)
    issue = parse_bytes(of.to_pdf(wrapped), "455.pdf")
    assert issue.articles[0].title == title
    assert issue.articles[0].paragraphs[0] == lead


# ------------------------------------------------------------------ PDF lines drawn one by one


def _drawn_pdf(rows: list[tuple[str, int, bool]]) -> bytes:
    """A page of lines drawn at 16 pt from the left margin down; (text, size, justified): a
    justified line is spaced out to the column's full width, as a wrapped line is."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    y = 780.0
    for text, size, justified in rows:
        page.setFont("STSong-Light", size)
        width = pdfmetrics.stringWidth(text, "STSong-Light", size)
        space = (416 - width) / (len(text) - 1) if justified else 0
        page.drawString(90, y, text, charSpace=space)
        y -= 1.7 * size
    page.showPage()
    page.save()
    return out.getvalue()


def test_a_hyphen_that_ends_a_line_is_kept_between_chinese_words():
    """pdfium takes a hyphen at a line end for a word broken in two; in Chinese it is text."""
    pdf = _drawn_pdf([("俄罗斯国防部9日称，俄军在库皮扬斯克、尼古拉耶夫-", 16, True),
                      ("克里沃罗格等方向击退乌克兰军队进攻。乌克兰方面称，乌军", 16, True),
                      ("在南线打击了俄军弹药库、燃料库等目标。", 16, False)])
    text, _ = extract_text(pdf, "x.pdf")
    assert "尼古拉耶夫-克里沃罗格等方向" in text


def test_a_number_cut_at_a_line_end_runs_on_without_a_space():
    pdf = _drawn_pdf([("中共中央、国务院13日上午在江苏省南京市隆重举行202", 16, False),  # fills the column
                      ("4年南京大屠杀死难者国家公祭仪式，各界代表参加仪式。", 16, False)])
    text, _ = extract_text(pdf, "x.pdf")
    assert "举行2024年南京" in text


def test_contents_entries_that_fill_their_line_end_at_their_page_number():
    """A contents page as LibreOffice prints one: an entry that fills the line leaves room for
    one leader dot ("…新篇章.1"), and a title ending in a figure wraps ("…再获10" / "金 …1")."""
    pdf = _drawn_pdf([("目录", 16, False),
                      ("王沪宁会见柬埔寨国会主席" + "." * 40 + "1", 14, True),
                      ("【铸牢共同体 中华一家亲】广西：民族团结谱写八桂大地新篇章.1", 14, True),
                      ("第17届残疾人奥林匹克运动会：中国体育代表团单日再获10", 14, True),
                      ("金 田径项目历届残奥会金牌总数突破200枚" + "." * 30 + "2", 14, True),
                      ("以色列大规模空袭黎巴嫩多地已致558人死亡" + "." * 30 + "2", 14, True)])
    text, _ = extract_text(pdf, "x.pdf")
    assert text.split("\n\n")[1:] == [
        "- 王沪宁会见柬埔寨国会主席",
        "- 【铸牢共同体 中华一家亲】广西：民族团结谱写八桂大地新篇章",
        "- 第17届残疾人奥林匹克运动会：中国体育代表团单日再获10金 田径项目历届残奥会金牌总数突破200枚",
        "- 以色列大规模空袭黎巴嫩多地已致558人死亡",
    ]


def test_a_title_tag_on_a_line_of_its_own_is_no_section(bulletin, seed):
    """A long title whose bracketed tag fills its first printed line: in the title's type,
    not the sections', so the two lines are one title (no contents list to tell)."""
    title = "【学思想 强党性 重实践 建新功】北京扎实调研解难题 着力优化营商环境"
    articles = list(bulletin.articles)
    articles[1] = (articles[1][0], title, articles[1][2])
    tagged = of.Bulletin(bulletin.masthead, articles, bulletin.footer, contents=False, number=455)
    issue = parse_bytes(of.to_pdf(tagged), "455.pdf")
    assert [(a.section, a.title) for a in issue.articles][1] == (seed.articles[1].section, title)
    assert issue.sections == seed.sections


@pytest.mark.slow
@pytest.mark.skipif(not of.libreoffice_available(), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_pdf_of_the_docx_reads_like_the_text(bulletin, seed, word_pdf):
    """A second PDF generator: LibreOffice's export of the Word-like .docx."""
    docx = of.to_docx(bulletin, of.title_pages(word_pdf, [t for _, t, _ in bulletin.articles]))
    pdf = of.libreoffice_convert({"455.docx": docx}, "pdf")["455.docx"]
    reads_like_the_text(parse_bytes(pdf, "455.pdf"), seed)


@needs_formats
def test_real_word_pdf_with_a_two_line_title():
    """pdf-01: a 通知 exported by Word 2016, red header, title over two lines, — 1 — page numbers."""
    text, encoding = extract_text((FORMATS / "pdf-01.pdf").read_bytes(), "pdf-01.pdf")
    lines = text.split("\n\n")
    assert encoding == "pdf"
    assert "华东理工大学关于印发《学生勤工助学管理办法》的通知" in lines
    assert not any(re.fullmatch(r"—\s*\d+\s*—", line) for line in lines)


def test_scanned_pdf_without_ocr_is_refused_by_name(monkeypatch, word_pdf):
    from bulletin_bot.readers import ocr

    monkeypatch.setattr(ocr, "status", lambda: ocr.OcrStatus(False, "no tesseract command"))
    scan = of.to_scan(word_pdf, dpi=50, pages=1)
    with pytest.raises(ParseError, match=r"^scan\.pdf: scanned PDF: no text layer on its 1 page\(s\), and OCR is not available"):
        parse_bytes(scan, "scan.pdf")


@pytest.mark.parametrize("engine", ["rapid", "tesseract"])
def test_scanned_page_is_read_by_ocr(word_pdf, seed, engine, monkeypatch):
    """The first page rendered at 300 dpi, no text layer, read by each OCR engine: the masthead
    is read, and the first paragraph nearly letter for letter (OCR misreads a character here
    and there; its accuracy is measured by scripts/measure_formats.py, not here)."""
    from bulletin_bot.readers import ocr, rapid, tesseract

    chosen = {"rapid": rapid, "tesseract": tesseract}[engine]
    usable, detail = chosen.found()
    if not usable:
        pytest.skip(f"OCR engine not installed: {detail}")
    monkeypatch.setattr(ocr, "_ENGINES", (chosen,))
    assert ocr.status().detail == detail
    issue = parse_bytes(of.to_scan(word_pdf, dpi=300, pages=1), "scan.pdf")
    assert issue.encoding == "pdf+ocr"
    assert (issue.number, issue.date) == (455, "2023-12-10")
    read = squeeze("".join(a.title + a.text for a in issue.articles))
    first = squeeze(seed.articles[0].paragraphs[0])[:60]
    matcher = difflib.SequenceMatcher(None, read, first, autojunk=False)
    # tesseract, the fallback engine, misreads more (习近乎 for 习近平): 53 of these 60 characters
    # with Debian 12's chi_sim model and the CJK fonts make test installs
    share = {"rapid": 0.9, "tesseract": 0.85}[engine]
    assert sum(block.size for block in matcher.get_matching_blocks()) >= share * len(first)


def test_a_scan_longer_than_ocr_reads_is_refused_by_name(monkeypatch, word_pdf):
    from bulletin_bot.readers import ocr

    monkeypatch.setattr(ocr, "status", lambda: ocr.OcrStatus(True, "an engine"))
    monkeypatch.setattr(ocr, "MAX_PAGES", 1)
    scan = of.to_scan(word_pdf, dpi=50, pages=2)
    with pytest.raises(ParseError, match=r"^scan\.pdf: scanned PDF: 2 pages without a text layer, and OCR reads at most 1 pages"):
        parse_bytes(scan, "scan.pdf")


def test_encrypted_and_damaged_pdfs_are_refused_with_a_reason():
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    page = canvas.Canvas(buf, encrypt=StandardEncryption("secret", canModify=0))
    page.drawString(100, 700, "x")
    page.save()
    with pytest.raises(ParseError, match=r"^locked\.pdf: unreadable PDF: encrypted with a password$"):
        parse_bytes(buf.getvalue(), "locked.pdf")
    with pytest.raises(ParseError, match=r"^cut\.pdf: unreadable PDF"):
        parse_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog", "cut.pdf")


# ------------------------------------------------------------------ .docx


def test_word_docx_reads_like_the_text(bulletin, seed):
    """Contents in a content control (as Word's table of contents is), with tab leaders and page
    numbers; a title broken by hand with Shift+Enter; page numbers in a footer field."""
    issue = parse_bytes(of.to_docx(bulletin), "455.docx")
    assert issue.encoding == "docx"
    reads_like_the_text(issue, seed)


def test_wps_docx_with_an_unusual_content_type_and_name(bulletin, seed):
    """WPS saves .docx with content types python-docx refuses, and offices rename files."""
    source = zipfile.ZipFile(io.BytesIO(of.to_docx(bulletin)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                                    b"application/vnd.ms-word.document.macroEnabled.main+xml")
            target.writestr(item, data)
    issue = parse_bytes(buf.getvalue(), "公文.wps")
    assert issue.encoding == "docx"
    reads_like_the_text(issue, seed)


# ------------------------------------------------------------------ .doc and .wps


def test_word97_doc_reads_like_the_text(seed):
    issue = parse_bytes((DATA / "455.doc").read_bytes(), "455.doc")
    assert issue.encoding == "doc"
    reads_like_the_text(issue, seed)


def test_wps_named_word97_binary_reads_like_the_text(seed):
    """A .wps saved in WPS's Word-97 format is read by its bytes (the name is only a name)."""
    reads_like_the_text(parse_bytes((DATA / "455.doc").read_bytes(), "455.wps"), seed)


@needs_formats
@pytest.mark.parametrize(("name", "first", "kind"), [
    ("doc-01.doc", "研究生论文答辩程序", "doc"),
    ("doc-03.doc", "核电厂定期安全评价 第12部分：设计", "wps"),  # a .doc written by WPS
    ("doc-05.doc", "居中的大标题", "doc"),
    ("wps-01.wps", "中华人民共和国ＸＸ部", "wps"),
    ("wps-02.wps", "关于WPS", "wps"),
    ("wps-03.wps", "样例文档", "wps"),
    ("wps-04.wps", "×××关于××××××××××的通告", "docx"),  # a .wps that is a .docx inside
])
def test_real_word_and_wps_files(name, first, kind):
    text, encoding = extract_text((FORMATS / name).read_bytes(), name)
    assert encoding == kind
    assert first in text.split("\n\n")
    assert not re.search(r"[\x00-\x08\x0b\x0e-\x1f]", text), "no control characters or field codes leak"


def test_damaged_word_binaries_are_refused_with_a_reason():
    data = (DATA / "455.doc").read_bytes()
    with pytest.raises(ParseError, match=r"^cut\.doc: unreadable Word file"):
        parse_bytes(data[:1500], "cut.doc")
    with pytest.raises(ParseError, match=r"^x\.wps: unreadable WPS file"):
        parse_bytes("第455期".encode(), "x.wps")


# ------------------------------------------------------------------ OFD


def test_ofd_from_a_pdf_converter_reads_like_the_text(seed):
    issue = parse_bytes((DATA / "455.ofd").read_bytes(), "455.ofd")
    assert issue.encoding == "ofd"
    reads_like_the_text(issue, seed)


@needs_formats
@pytest.mark.parametrize(("name", "first"), [
    ("ofd-01.ofd", "关于同意张阿三同志辞职的批复"),  # iOFD, red header, seal
    ("ofd-02.ofd", "关于加快南货场铁路涵洞下穿建设的函"),  # Suwell
    ("ofd-04.ofd", "立案决定书"),  # SurRead, odd page paths
])
def test_real_ofd_files(name, first):
    text, encoding = extract_text((FORMATS / name).read_bytes(), name)
    assert encoding == "ofd" and first in text.split("\n\n")


def test_damaged_ofd_is_refused_with_a_reason():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'><broken")
    with pytest.raises(ParseError, match=r"^x\.ofd: unreadable OFD"):
        parse_bytes(buf.getvalue(), "x.ofd")
    with pytest.raises(ParseError, match=r"^y\.ofd: unreadable OFD"):
        parse_bytes((DATA / "455.ofd").read_bytes()[:3000], "y.ofd")


# ------------------------------------------------------------------ the type is in the bytes


def test_the_type_is_told_by_the_bytes_not_the_name(word_pdf, bulletin, seed):
    docx = of.to_docx(bulletin)
    assert [sniff(word_pdf), sniff(docx), sniff((DATA / "455.doc").read_bytes()), sniff((DATA / "455.ofd").read_bytes())] == [
        "pdf", "docx", "ole", "ofd"]
    for data, name in ((word_pdf, "455.doc"), (docx, "455.pdf"), ((DATA / "455.doc").read_bytes(), "455.docx"),
                       ((DATA / "455.ofd").read_bytes(), "455.pdf")):
        reads_like_the_text(parse_bytes(data, name), seed)


def test_parse_shows_what_was_read_for_every_format(tmp_path, word_pdf, bulletin, capsys):
    files = {"455.pdf": word_pdf, "455.docx": of.to_docx(bulletin), "455.doc": (DATA / "455.doc").read_bytes(),
             "455.wps": (DATA / "455.doc").read_bytes(), "455.ofd": (DATA / "455.ofd").read_bytes()}
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert cli.main(["parse", "--json", str(path)]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert (shown["issue"], shown["date"], len(shown["articles"])) == (455, "2023-12-10", 3), name
        assert shown["articles"][1]["title"].startswith("泗洪县：打造“洪轩理”理论品牌")


def test_docx_with_a_bulleted_contents_list_reads_like_the_text(seed):
    """Word draws a list's bullets itself: the contents entries have no "- " in their text."""
    import docx

    document = docx.Document()
    for line in SEED.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("- "):
            document.add_paragraph(line[2:], style="List Bullet")
        elif line:
            document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    reads_like_the_text(parse_bytes(buf.getvalue(), "455.docx"), seed)
