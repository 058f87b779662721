"""An issue as people and programs see it: its label (第455期), JSON, and a text outline."""

from __future__ import annotations

from ..models import Issue


def issue_label(issue: Issue) -> str:
    """第455期, or 2024年第12期 for a series numbered within each year."""
    return f"{issue.volume}年第{issue.number}期" if issue.volume else f"第{issue.number}期"


def issue_to_json(issue: Issue) -> dict:
    return {
        "file": issue.file,
        "series": issue.series,
        "issue": issue.number,
        "date": issue.date,
        "office": issue.office,
        "sections": list(issue.sections),
        "articles": [{"section": a.section, "title": a.title, "text": a.text} for a in issue.articles],
        "warnings": list(issue.warnings),
    }


def format_outline(issue: Issue) -> str:
    """Masthead line, then per section the article titles with paragraph and character counts."""
    out = [f"{issue.series} {issue_label(issue)} {issue.date}" + (f" {issue.office}" if issue.office else "")]
    out.extend(f"suspect: {reason}" for reason in issue.warnings)
    section = None
    for article in issue.articles:
        if article.section != section:
            section = article.section
            out.append(f"【{section}】" if section else "(no section)")
        out.append(f"  {article.index}. {article.title}  ({len(article.paragraphs)} paragraphs, {len(article.text)} chars)")
    return "\n".join(out)
