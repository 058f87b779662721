"""Folder -> issues: which files make up a corpus, and which of them hold the same issue.

Two files hold the same issue when they share a `duplicate_key` (the series, 第N期 and, for a
series numbered afresh each year, the year); the first one keeps it and the other is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .errors import ParseError
from .models import FileProblem, Issue
from .parsing import SUPPORTED_SUFFIXES, issue_label, read_issue, squeeze

IssueKey = tuple[str, int, str]


def corpus_files(paths: Iterable[Path]) -> list[Path]:
    """Supported files under the given files and folders (recursively), sorted, hidden ones skipped."""
    found: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in path.rglob("*"):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts) or child.name.startswith("~$"):
                    continue  # hidden files and folders, Word's lock files
                if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.add(child)
        elif path.name.startswith((".", "~$")):
            continue
        else:
            found.add(path)
    return sorted(found)


def duplicate_key(issue: Issue) -> IssueKey:
    """Two files with the same key hold the same issue: the series (spaces ignored) and 第N期
    (and the year, for a series that numbers its issues afresh each year)."""
    return issue_key(issue.series, issue.number, issue.volume)


def issue_key(series: str, number: int, volume: str = "") -> IssueKey:
    """`duplicate_key` from the parts an index keeps of an issue (a manifest's file record)."""
    return (squeeze(series), number, volume)


def scan(paths: Iterable[Path], max_bytes: int | None = None) -> tuple[list[Issue], list[FileProblem]]:
    """Parse every supported file; unreadable files and duplicates become FileProblems."""
    issues: list[Issue] = []
    problems: list[FileProblem] = []
    seen: dict[IssueKey, str] = {}
    for path in corpus_files(paths):
        try:
            issue = read_issue(path, max_bytes=max_bytes)
        except ParseError as exc:
            problems.append(FileProblem(exc.file, exc.reason))
            continue
        key = duplicate_key(issue)
        if key in seen:
            problems.append(FileProblem(issue.file, f"duplicate of {seen[key]} (same series and {issue_label(issue)})"))
            continue
        seen[key] = issue.file
        issues.append(issue)
    return issues, problems

