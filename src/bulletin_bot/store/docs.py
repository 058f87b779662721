"""docs.sqlite, the table of a version's issues and articles: its schema, how it is written, the
typed records it is read into, and reading a version's issues back for the next build. The
queries a loaded index answers are in `loaded.py`, with these column lists."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from ..models import Article, Issue, IssueSummary

@dataclass(frozen=True)
class IssueRecord:
    """An indexed issue as stored (its row id, and no article bodies)."""

    id: int
    series: str
    number: int
    date: str
    office: str
    sections: tuple[str, ...]
    file: str
    encoding: str
    article_count: int
    volume: str

    def summary(self) -> IssueSummary:
        return IssueSummary(self.series, self.number, self.date, self.office, self.sections,
                            self.article_count, self.file)


_ISSUE_COLS = "id, series, number, date, office, sections, file, encoding, article_count, volume"
_ARTICLE_COLS = "id, issue, idx, section, title, text"


def _issue_record(row: tuple) -> IssueRecord:
    return IssueRecord(*row[:5], tuple(json.loads(row[5])), row[6], row[7], row[8], row[9] or "")


@dataclass(frozen=True)
class ArticleRecord:
    """An indexed article as stored: its row id, its issue's row id, and its text."""

    id: int
    issue_id: int
    index: int  # 1-based position in its issue
    section: str
    title: str
    text: str


def write_docs(path: Path, issues: list[dict], articles: list[dict]) -> None:
    """docs.sqlite of a new version from the indexer's issue and article rows."""
    db = sqlite3.connect(str(path))
    db.executescript(
        """
        CREATE TABLE issues (id INTEGER PRIMARY KEY, series TEXT, number INTEGER, date TEXT,
                             office TEXT, sections TEXT, file TEXT, encoding TEXT, article_count INTEGER,
                             volume TEXT);
        CREATE TABLE articles (id INTEGER PRIMARY KEY, issue INTEGER, idx INTEGER, section TEXT,
                               title TEXT, text TEXT);
        """
    )
    db.executemany(
        "INSERT INTO issues VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            (i, r["series"], r["number"], r["date"], r["office"], json.dumps(r["sections"], ensure_ascii=False),
             r["file"], r["encoding"], r["article_count"], r.get("volume", ""))
            for i, r in enumerate(issues)
        ),
    )
    db.executemany(
        "INSERT INTO articles VALUES (?,?,?,?,?,?)",
        ((i, r["issue"], r["index"], r["section"], r["title"], r["text"]) for i, r in enumerate(articles)),
    )
    db.commit()
    db.close()



def read_issues(version_dir: Path, files: set[str]) -> dict[str, Issue]:
    """Issues already parsed into a version, by corpus-relative file name (for reuse by the next
    build); empty when the version cannot be read or predates a column (all is parsed again)."""
    out: dict[str, Issue] = {}
    if not files:
        return out
    try:
        db = sqlite3.connect(f"file:{version_dir / 'docs.sqlite'}?mode=ro", uri=True)
    except sqlite3.Error:
        return out
    try:
        issues = [_issue_record(r) for r in db.execute(f"SELECT {_ISSUE_COLS} FROM issues")]
        wanted = {r.id: r for r in issues if r.file in files}
        arts: dict[int, list[Article]] = {i: [] for i in wanted}
        for _id, issue_id, idx, section, title, text in db.execute(f"SELECT {_ARTICLE_COLS} FROM articles ORDER BY id"):
            if issue_id in arts:
                arts[issue_id].append(Article(section, title, tuple(text.split("\n")), idx))
        for issue_id, r in wanted.items():
            out[r.file] = Issue(file=r.file, series=r.series, number=r.number, date=r.date, office=r.office,
                                sections=r.sections, articles=tuple(arts[issue_id]), encoding=r.encoding,
                                volume=r.volume)
    except sqlite3.Error:
        return {}
    finally:
        db.close()
    return out
