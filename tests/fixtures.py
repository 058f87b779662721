"""Build Word and PDF copies of a bulletin at test time (no binary fixture is committed).

Each non-empty line of the text becomes one paragraph, so a page end that cut a sentence in the
text export ("走在前、" / "做示范，…") stays cut in the Word and PDF copies too: the parser must
repair it the same way for all three formats.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = ROOT / "corpus" / "455.txt"  # our shipped copy of the shared seed


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def docx_bytes(text: str, masthead_table: bool = False) -> bytes:
    """A .docx with one paragraph per line; optionally the four masthead lines in a 4x1 table."""
    import docx

    document = docx.Document()
    lines = lines_of(text)
    if masthead_table:
        table = document.add_table(rows=4, cols=1)
        for row, line in zip(table.rows, lines[:4]):
            row.cells[0].text = line
        lines = lines[4:]
    for line in lines:
        document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def pdf_bytes(text: str, indent: bool = True) -> bytes:
    """An A4 PDF with one paragraph per line, set in reportlab's built-in STSong-Light CID font
    (no font file needed; pdfium reads the text back). Body paragraphs get the usual 2-em indent."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=12, leading=18, wordWrap="CJK",
                          firstLineIndent=24 if indent else 0)
    plain = ParagraphStyle("plain", parent=body, firstLineIndent=0)
    story = []
    for line in lines_of(text):
        # Headings (masthead, sections, titles, contents entries) are not indented; paragraphs are.
        style = body if len(line) > 40 or line.endswith(("。", "！", "？", "”")) else plain
        story.append(Paragraph(escape(line), style))
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title="bulletin").build(story)
    return buf.getvalue()
