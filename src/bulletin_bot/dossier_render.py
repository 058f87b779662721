"""A `Dossier` as a document: Markdown text or a .docx file (python-docx).

Both have the same parts: a title page (topic, period, how many articles from how many
issues), the contents (each group and its articles' citations), then each group with each
article under its citation, its text verbatim: the whole article, or only its answering passages.
"""

from __future__ import annotations

import re
from pathlib import Path

from .dossier import PAGE, Dossier, DossierError, Entry

FORMATS = (".docx", ".md")


def title_lines(dossier: Dossier) -> list[str]:
    lines = [f"素材汇编：{dossier.topic}", f"时间范围：{dossier.period}",
             f"共 {len(dossier.entries)} 篇文章，来自 {dossier.issue_count} 期简报",
             "按栏目分组" if dossier.group == "section" else "按月份分组",
             "只收录回答主题的段落" if dossier.passages_only else "收录文章全文"]
    if dossier.full_months:
        # every article of the period is read for the topic's words; only those found by meaning
        # alone come from a question's page, and that page can be full
        lines.append(f"注意：{'、'.join(dossier.full_months)} 相关文章较多，按主题词找到的全部收录，"
                     f"只按意思找到的每月只收录最相关的 {PAGE} 篇；可缩短时间范围或换更具体的主题")
    return lines


def body_of(entry: Entry, passages_only: bool) -> list[str]:
    """The verbatim paragraphs shown under an entry's citation."""
    if passages_only or entry.items_only:  # a passage may run over several paragraphs: one each
        return [line for passage in entry.passages for line in passage.split("\n") if line.strip()]
    return [p for p in entry.article.paragraphs if p.strip()]


def to_markdown(dossier: Dossier) -> str:
    head = title_lines(dossier)
    lines = [f"# {head[0]}", "", *[f"{line}  " for line in head[1:]], ""]
    if not dossier.entries:
        lines += ["这段时间的简报中没有找到回答这个主题的文章。", ""]
        return "\n".join(lines)
    lines += ["## 目录", ""]
    for heading, entries in dossier.groups():
        lines.append(f"- {heading}（{len(entries)} 篇）")
        lines += [f"  - {e.citation}" for e in entries]
    lines.append("")
    for heading, entries in dossier.groups():
        lines += [f"## {heading}", ""]
        for entry in entries:
            lines += [f"### {entry.citation}", ""]
            for paragraph in body_of(entry, dossier.passages_only):
                lines += [paragraph, ""]
    return "\n".join(lines)


_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def to_docx(dossier: Dossier, path: Path) -> Path:
    """The dossier as a Word document. The articles' paragraphs are written as XML elements
    directly: python-docx's add_paragraph takes ~1 ms each (a year of a broad topic holds
    thousands), the elements ~0.06 ms; the document is the same."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    doc = Document()
    head = title_lines(dossier)
    title = doc.add_heading(head[0], level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in head[1:]:
        doc.add_paragraph(line).alignment = WD_ALIGN_PARAGRAPH.CENTER
    if not dossier.entries:
        doc.add_paragraph("这段时间的简报中没有找到回答这个主题的文章。")
        doc.save(str(path))
        return path
    doc.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)
    end = doc.element.body.sectPr
    style = {name: doc.styles[name].style_id for name in ("Heading 1", "Heading 2", "List Bullet", "List Bullet 2")}

    def paragraph(text: str, style_name: str = "", page_break: bool = False) -> None:
        p = OxmlElement("w:p")
        if style_name:
            props, ref = OxmlElement("w:pPr"), OxmlElement("w:pStyle")
            ref.set(qn("w:val"), style[style_name])
            props.append(ref)
            if page_break:
                props.append(OxmlElement("w:pageBreakBefore"))
            p.append(props)
        run, t = OxmlElement("w:r"), OxmlElement("w:t")
        t.text = _XML_UNSAFE.sub("", text)
        t.set(qn("xml:space"), "preserve")
        run.append(t)
        p.append(run)
        end.addprevious(p)

    paragraph("目录", "Heading 1")
    for heading, entries in dossier.groups():
        paragraph(f"{heading}（{len(entries)} 篇）", "List Bullet")
        for entry in entries:
            paragraph(entry.citation, "List Bullet 2")
    for heading, entries in dossier.groups():
        paragraph(heading, "Heading 1", page_break=True)
        for entry in entries:
            paragraph(entry.citation, "Heading 2")
            for text in body_of(entry, dossier.passages_only):
                paragraph(text)
    doc.save(str(path))
    return path


def write(dossier: Dossier, path: Path) -> Path:
    """Write `dossier` to `path`, as .docx or Markdown by its suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return to_docx(dossier, path)
    if suffix in (".md", ".markdown", ".txt"):
        path.write_text(to_markdown(dossier), encoding="utf-8")
        return path
    raise DossierError(f"{path.name}: 只能写成 .docx 或 .md 文件")
