"""A `Dossier` as a document: Markdown text or a .docx file (python-docx).

Both have the same parts: a title page (topic, period, how many articles from how many
issues), the contents (each group and its articles' citations), then each group with each
article under its citation, its text verbatim: the whole article, or only its answering passages.
"""

from __future__ import annotations

from pathlib import Path

from .dossier import Dossier, DossierError, Entry

FORMATS = (".docx", ".md")


def title_lines(dossier: Dossier) -> list[str]:
    return [f"素材汇编：{dossier.topic}", f"时间范围：{dossier.period}",
            f"共 {len(dossier.entries)} 篇文章，来自 {dossier.issue_count} 期简报",
            "按栏目分组" if dossier.group == "section" else "按月份分组",
            "只收录回答主题的段落" if dossier.passages_only else "收录文章全文"]


def body_of(entry: Entry, passages_only: bool) -> list[str]:
    """The verbatim paragraphs shown under an entry's citation."""
    if passages_only:
        return list(entry.passages)
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


def to_docx(dossier: Dossier, path: Path) -> Path:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK

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
    doc.add_heading("目录", level=1)
    for heading, entries in dossier.groups():
        doc.add_paragraph(f"{heading}（{len(entries)} 篇）", style="List Bullet")
        for entry in entries:
            doc.add_paragraph(entry.citation, style="List Bullet 2")
    for heading, entries in dossier.groups():
        doc.add_page_break()
        doc.add_heading(heading, level=1)
        for entry in entries:
            doc.add_heading(entry.citation, level=2)
            for paragraph in body_of(entry, dossier.passages_only):
                doc.add_paragraph(paragraph)
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
