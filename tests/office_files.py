"""Bulletins laid out the way offices make them, in every format we read, from a structured issue.

Used by the tests (on the shipped seed, corpus/455.txt) and by scripts/measure_formats.py (on
shared issues and their truth.jsonl). The layout follows a Word-made 简报: a red masthead, the
issue number, office and date on one line, a contents list with dotted leaders and page
numbers, 【section】 lines, centred titles in larger type (long ones wrapped over two or three
lines, every other one broken by hand into two balanced lines, as editors do), indented and
justified paragraphs that page ends cut, a running header with the series name from page 2,
page numbers ("— 3 —", or "第 3 页 共 8 页") and the 送/发 footer.

Writers: reportlab (PDF), python-docx (.docx); LibreOffice, when installed (measurement only),
exports the .docx as PDF and as Word 97 .doc; easyofd (PyMuPDF), when installed, converts a PDF
to OFD; a scan is the PDF's pages rendered to images at 300 dpi and put back in a PDF.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

_ISSUE_NO = re.compile(r"第\s*[0-9]+\s*期")
_DATE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_FOOTER = re.compile(r"^(?:抄\s*送|报\s*送|分\s*送|送|发|印\s*发)\s*[：:]")
RED = (0.8, 0.0, 0.0)


@dataclass
class Bulletin:
    masthead: list[str]  # the masthead lines as the text export has them
    articles: list[tuple[str, str, list[str]]]  # (section, title, paragraphs)
    footer: list[str] = field(default_factory=list)
    contents: bool = True
    number: int = 0

    @property
    def series(self) -> str:
        head = self.masthead[0]
        return _ISSUE_NO.split(head)[0].strip(" （(") or head


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def from_text_and_articles(text: str, articles: list[tuple[str, str, list[str]]], number: int) -> Bulletin:
    """The masthead and footer lines of a text export, with articles given apart (from the truth)."""
    lines = _lines(text)
    head = []
    for line in lines:
        if line.startswith(("【", "- ", "目录", "目 录")):
            break
        head.append(line)
    footer_at = next((k for k in range(max(0, len(lines) - 8), len(lines)) if _FOOTER.match(lines[k])), len(lines))
    contents = any(line.startswith("- ") for line in lines[:80])
    return Bulletin(head, articles, lines[footer_at:], contents, number)


def from_issue(issue, text: str) -> Bulletin:
    """A parsed issue (the seed, whose parse is checked exactly elsewhere) as a Bulletin."""
    articles = [(a.section, a.title, list(a.paragraphs)) for a in issue.articles]
    return from_text_and_articles(text, articles, issue.number)


def _balanced(title: str) -> list[str]:
    """A long title broken by hand into two lines of about equal length (at a space if near)."""
    middle = len(title) // 2
    spaces = [k for k, ch in enumerate(title) if ch == " " and abs(k - middle) <= 4]
    if spaces:
        k = min(spaces, key=lambda k: abs(k - middle))
        return [title[:k], title[k + 1 :]]
    return [title[:middle], title[middle:]]


def _hand_broken(bulletin: Bulletin) -> set[int]:
    """Every other title too long for one line is broken by hand."""
    long = [k for k, (_, title, _) in enumerate(bulletin.articles) if len(title) > 22]
    return set(long[1::2])


def _masthead_rows(bulletin: Bulletin) -> list[tuple[str, str]]:
    """(style, text) rows: "series" (red display type), "number", "office-date" (office left,
    date right, joined by a tab), "plain"."""
    rows: list[tuple[str, str]] = []
    seen_number = False
    lines = list(bulletin.masthead)
    k = 0
    while k < len(lines):
        line = lines[k]
        if _ISSUE_NO.search(line) and len(line) <= 12:
            rows.append(("number", line))
            seen_number = True
        elif not seen_number and not _DATE.search(line):
            rows.append(("series", line))
        elif k + 1 < len(lines) and not _DATE.search(line) and _DATE.search(lines[k + 1]) and len(lines[k + 1]) <= 20:
            rows.append(("office-date", f"{line}\t{lines[k + 1]}"))
            k += 1
        else:
            rows.append(("plain", line))
        k += 1
    return rows


# ------------------------------------------------------------------ PDF (reportlab)


def to_pdf(bulletin: Bulletin, page_numbers: str = "dash") -> bytes:
    """An A4 PDF like Word prints a bulletin. `page_numbers`: "dash" (— 3 —) or "of" (第 3 页 共 8 页)."""
    pages: dict[int, int] = {}
    first = _build_pdf(bulletin, pages, page_numbers, total=0)
    total = _count_pages(first)
    return _build_pdf(bulletin, dict(pages), page_numbers, total=total)


def _count_pages(data: bytes) -> int:
    return data.count(b"/Type /Page\n") or data.count(b"/Type /Page") - data.count(b"/Type /Pages")


def _build_pdf(bulletin: Bulletin, pages: dict[int, int], page_numbers: str, total: int) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer, Table, TableStyle
    from reportlab.platypus.flowables import HRFlowable

    font = "STSong-Light"
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    width, height = A4
    left, right, top, bottom = 3.17 * cm, 3.17 * cm, 2.54 * cm, 2.54 * cm
    column = width - left - right
    red = colors.Color(*RED)
    style = {
        "series": ParagraphStyle("series", fontName=font, fontSize=26, leading=34, alignment=TA_CENTER, textColor=red, wordWrap="CJK"),
        "number": ParagraphStyle("number", fontName=font, fontSize=16, leading=26, alignment=TA_CENTER),
        "plain": ParagraphStyle("plain", fontName=font, fontSize=16, leading=26, alignment=TA_CENTER, wordWrap="CJK"),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=14, leading=22),
        "cell-right": ParagraphStyle("cell-right", fontName=font, fontSize=14, leading=22, alignment=TA_RIGHT),
        "heading": ParagraphStyle("heading", fontName=font, fontSize=16, leading=28, alignment=TA_CENTER, spaceBefore=6, spaceAfter=6),
        "section": ParagraphStyle("section", fontName=font, fontSize=16, leading=28, spaceBefore=8, spaceAfter=4),
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=27, alignment=TA_CENTER, spaceBefore=8, spaceAfter=8, wordWrap="CJK"),
        "body": ParagraphStyle("body", fontName=font, fontSize=16, leading=28, firstLineIndent=32, alignment=TA_JUSTIFY, wordWrap="CJK"),
        "footer": ParagraphStyle("footer", fontName=font, fontSize=14, leading=24, wordWrap="CJK"),
    }
    toc_size, toc_leading = 14, 24

    class Doc(BaseDocTemplate):
        def afterFlowable(self, flowable) -> None:
            key = getattr(flowable, "article", None)
            if key is not None:
                pages.setdefault(key, self.page)

    def decorate(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(font, 14)
        if page_numbers == "of":
            label = f"第 {doc.page} 页 共 {total or doc.page} 页"
        else:
            label = f"— {doc.page} —"
        canvas.drawCentredString(width / 2, bottom - 30, label)
        if doc.page > 1:
            canvas.setFont(font, 10.5)
            canvas.drawCentredString(width / 2, height - top + 22, f"{bulletin.series}  第{bulletin.number}期")
            canvas.setLineWidth(0.5)
            canvas.line(left, height - top + 16, width - right, height - top + 16)
        canvas.restoreState()

    story = []
    for kind, text in _masthead_rows(bulletin):
        if kind == "office-date":
            office, date = text.split("\t")
            table = Table([[Paragraph(escape(office), style["cell"]), Paragraph(escape(date), style["cell-right"])]],
                          colWidths=[column / 2, column / 2])
            table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
            story.append(table)
        else:
            story.append(Paragraph(escape(text), style[kind]))
    story.append(HRFlowable(width="100%", thickness=2, color=red, spaceBefore=4, spaceAfter=10))
    if bulletin.contents:
        story.append(Paragraph("目　录", style["heading"]))
        section = None
        for k, (name, title, _) in enumerate(bulletin.articles):
            if name != section:
                section = name
                story.append(Paragraph(escape(f"【{name}】"), style["section"]))
            story.append(_Leader(title, pages.get(k, 0), font, toc_size, toc_leading))
        story.append(Spacer(1, 12))
    broken = _hand_broken(bulletin)
    section = None
    for k, (name, title, paragraphs) in enumerate(bulletin.articles):
        if name != section:
            section = name
            story.append(Paragraph(escape(f"【{name}】"), style["section"]))
        shown = "<br/>".join(escape(part) for part in _balanced(title)) if k in broken else escape(title)
        heading = Paragraph(shown, style["title"])
        heading.article = k
        story.append(heading)
        story.extend(Paragraph(escape(p), style["body"]) for p in paragraphs)
    if bulletin.footer:
        story.append(HRFlowable(width="100%", thickness=1, color=colors.black, spaceBefore=12, spaceAfter=6))
        story.extend(Paragraph(escape(line), style["footer"]) for line in bulletin.footer)

    buf = io.BytesIO()
    doc = Doc(buf, pagesize=A4, leftMargin=left, rightMargin=right, topMargin=top, bottomMargin=bottom,
              title=f"{bulletin.series} 第{bulletin.number}期")
    frame = Frame(left, bottom, column, height - top - bottom, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate("page", frames=[frame], onPage=decorate)])
    doc.build(story)
    return buf.getvalue()


def _leader_class():
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus.flowables import Flowable

    class Leader(Flowable):
        """A contents entry: the title (wrapped if long), a dotted leader, the page number at the right."""

        def __init__(self, title: str, page: int, font: str, size: float, leading: float) -> None:
            super().__init__()
            self.title, self.page, self.font, self.size, self.leading = title, page, font, size, leading

        def wrap(self, avail_width, avail_height):
            self.width = avail_width
            number = stringWidth(str(self.page or 88), self.font, self.size)
            room = avail_width - number - 3 * self.size  # the last line keeps room for a leader
            lines, current = [], ""
            for ch in self.title:
                if stringWidth(current + ch, self.font, self.size) > avail_width:
                    lines.append(current)
                    current = ""
                current += ch
            if stringWidth(current, self.font, self.size) > room:
                cut = len(current)
                while cut and stringWidth(current[:cut], self.font, self.size) > room:
                    cut -= 1
                lines.append(current[:cut])
                current = current[cut:]
            self.lines = lines + [current]
            self.height = len(self.lines) * self.leading
            return avail_width, self.height

        def draw(self) -> None:
            canvas = self.canv
            canvas.setFont(self.font, self.size)
            y = self.height - self.size
            for line in self.lines[:-1]:
                canvas.drawString(0, y, line)
                y -= self.leading
            last = self.lines[-1]
            canvas.drawString(0, y, last)
            label = str(self.page or 1)
            end = self.width - stringWidth(label, self.font, self.size) - 4
            start = stringWidth(last, self.font, self.size) + 4
            dot = stringWidth(".", self.font, self.size)
            if end > start:
                canvas.drawString(start, y, "." * int((end - start) / dot))
            canvas.drawRightString(self.width, y, label)

    return Leader


def _Leader(*args):  # noqa: N802 - built lazily so that importing this module needs no reportlab
    return _leader_class()(*args)


# ------------------------------------------------------------------ .docx (python-docx)


def to_docx(bulletin: Bulletin, pages: dict[int, int] | None = None) -> bytes:
    """A .docx like an editor makes in Word: styles as in `to_pdf`, the contents list in a
    content control (as Word's table of contents is) with dotted tab leaders, page numbers in
    the footer as a PAGE field, and the hand-broken titles with a soft line break or as two centred paragraphs."""
    import docx
    from docx.enum.section import WD_SECTION  # noqa: F401 - imported for its side effect of loading enums
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT, WD_TAB_LEADER
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    pages = pages or {}
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(3.17)
    section.top_margin = section.bottom_margin = Cm(2.54)
    section.different_first_page_header_footer = True
    column = section.page_width - section.left_margin - section.right_margin

    def paragraph(text: str = "", size: float = 16, align=None, color=None, bold=False, indent=False, container=document):
        p = container.add_paragraph()
        p.paragraph_format.space_before = p.paragraph_format.space_after = Pt(0)
        p.paragraph_format.line_spacing = Pt(size * 1.75)
        if align is not None:
            p.alignment = align
        if indent:
            p.paragraph_format.first_line_indent = Pt(2 * size)
        if text:
            run(p, text, size, color, bold)
        return p

    def run(p, text: str, size: float, color=None, bold=False):
        r = p.add_run(text)
        r.font.size = Pt(size)
        r.font.bold = bold
        r._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
        if color is not None:
            r.font.color.rgb = RGBColor(*(int(255 * c) for c in color))
        return r

    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run(header, f"{bulletin.series}  第{bulletin.number}期", 10.5)
    for footer in (section.footer, section.first_page_footer):
        p = footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run(p, "— ", 14)
        _page_field(p, OxmlElement, qn)
        run(p, " —", 14)

    for kind, text in _masthead_rows(bulletin):
        if kind == "series":
            paragraph(text, 26, WD_ALIGN_PARAGRAPH.CENTER, RED, bold=True)
        elif kind == "office-date":
            p = paragraph("", 14)
            p.paragraph_format.tab_stops.add_tab_stop(column, WD_TAB_ALIGNMENT.RIGHT)
            office, date = text.split("\t")
            run(p, f"{office}\t{date}", 14)
        else:
            paragraph(text, 16, WD_ALIGN_PARAGRAPH.CENTER)
    if bulletin.contents:
        paragraph("目　录", 16, WD_ALIGN_PARAGRAPH.CENTER, bold=True)
        sdt = OxmlElement("w:sdt")  # as Word writes its table of contents
        properties, part, gallery = OxmlElement("w:sdtPr"), OxmlElement("w:docPartObj"), OxmlElement("w:docPartGallery")
        gallery.set(qn("w:val"), "Table of Contents")
        part.append(gallery)
        part.append(OxmlElement("w:docPartUnique"))
        properties.append(part)
        content = OxmlElement("w:sdtContent")
        sdt.append(properties)
        sdt.append(content)
        entries = []
        current = None
        for k, (name, title, _) in enumerate(bulletin.articles):
            if name != current:
                current = name
                entries.append(paragraph(f"【{name}】", 14, bold=True))
            p = paragraph("", 14)
            p.paragraph_format.tab_stops.add_tab_stop(column, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
            run(p, f"{title}\t{pages.get(k, 1)}", 14)
            entries.append(p)
        entries[0]._p.addprevious(sdt)
        for p in entries:
            content.append(p._p)
    broken = _hand_broken(bulletin)
    current = None
    for k, (name, title, paragraphs) in enumerate(bulletin.articles):
        if name != current:
            current = name
            paragraph(f"【{name}】", 16, bold=True)
        parts = _balanced(title) if k in broken else [title]
        if len(parts) > 1 and k % 4 == 1:  # broken into two centred paragraphs, as WPS templates do
            for part in parts:
                paragraph(part, 18, WD_ALIGN_PARAGRAPH.CENTER, bold=True)
        else:  # one paragraph, broken (if at all) by a soft line break
            p = paragraph("", 18, WD_ALIGN_PARAGRAPH.CENTER, bold=True)
            p.paragraph_format.space_before = p.paragraph_format.space_after = Pt(8)
            for n, part in enumerate(parts):
                r = run(p, part, 18, bold=True)
                if n + 1 < len(parts):
                    r.add_break()
        for text in paragraphs:
            paragraph(text, 16, WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True)
    for line in bulletin.footer:
        paragraph(line, 14)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _page_field(p, OxmlElement, qn) -> None:  # noqa: N803 - python-docx's names
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        r = OxmlElement("w:r")
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            r.append(char)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.text = text
            r.append(instr)
        else:
            t = OxmlElement("w:t")
            t.text = text
            r.append(t)
        p._p.append(r)


# ------------------------------------------------------------------ other writers


def libreoffice_available() -> bool:
    return shutil.which("soffice") is not None


def libreoffice_convert(files: dict[str, bytes], target: str) -> dict[str, bytes]:
    """Convert files (name -> bytes) with LibreOffice in one run; target "pdf" or "doc"."""
    filters = {"pdf": "pdf:writer_pdf_Export", "doc": 'doc:MS Word 97'}
    with tempfile.TemporaryDirectory(prefix="lo-") as folder:
        base = Path(folder)
        (base / "in").mkdir()
        for name, data in files.items():
            (base / "in" / name).write_bytes(data)
        subprocess.run(
            ["soffice", f"-env:UserInstallation=file://{base}/profile", "--headless", "--convert-to", filters[target],
             "--outdir", str(base / "out"), *sorted(str(p) for p in (base / "in").iterdir())],
            check=True, capture_output=True, timeout=600,
        )
        return {name: (base / "out" / (Path(name).stem + "." + target)).read_bytes() for name in files}


def title_pages(pdf: bytes, titles: list[str]) -> dict[int, int]:
    """The page (1-based) each title starts on in a PDF, by searching its first characters."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    texts = [document[i].get_textpage().get_text_range().replace("\r", "").replace("\n", "") for i in range(len(document))]
    out, page = {}, 0
    for k, title in enumerate(titles):
        probe = re.sub(r"\s+", "", title)[:10]
        for p in range(page, len(texts)):
            if probe in re.sub(r"\s+", "", texts[p]):
                out[k], page = p + 1, p
                break
    return out


def ofd_available() -> bool:
    try:
        import easyofd  # noqa: F401
    except Exception:
        return False
    return True


def to_ofd(pdf: bytes) -> bytes:
    """The PDF converted to OFD by easyofd (PyMuPDF reads the PDF's text spans, each becomes an
    OFD TextObject). pdf2ofd, the other PDF-to-OFD converter on PyPI, draws all text as paths,
    leaving no text layer to read. easyofd writes into ./test and prints every span, so it runs
    in a temporary folder with its output swallowed."""
    import contextlib
    import os

    from easyofd.ofd import OFD  # type: ignore[import-not-found]

    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="ofd-") as folder, contextlib.redirect_stdout(io.StringIO()):
        os.chdir(folder)
        try:
            from loguru import logger

            logger.remove()
            return OFD().pdf2ofd(pdf, optional_text=True)
        finally:
            os.chdir(here)


def to_scan(pdf: bytes, dpi: int = 300, pages: int | None = None) -> bytes:
    """A scanned copy: each page rendered to a grayscale image at `dpi`, the images put in a new
    PDF with no text layer (as a scanner's PDF)."""
    import pypdfium2 as pdfium
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    document = pdfium.PdfDocument(pdf)
    buf = io.BytesIO()
    out = None
    for index in range(len(document) if pages is None else min(pages, len(document))):
        page = document[index]
        width, height = page.get_size()
        image = page.render(scale=dpi / 72, grayscale=True).to_pil()
        if out is None:
            out = canvas.Canvas(buf, pagesize=(width, height))
        out.setPageSize((width, height))
        out.drawImage(ImageReader(image), 0, 0, width, height)
        out.showPage()
    out.save()
    return buf.getvalue()
