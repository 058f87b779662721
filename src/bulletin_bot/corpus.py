"""Folder -> issues: which files make up a corpus, and which of them hold the same issue.

Two files hold the same issue when they share a `duplicate_key` (the series, 第N期 and, for a
series numbered afresh each year, the year); the first one keeps it and the other is reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ParseError
from .models import FileProblem, Issue
from .parsing import SUPPORTED_SUFFIXES, issue_label, read_issue, squeeze

IssueKey = tuple[str, int, str]


OUTSIDE = "a link to a file outside the corpus folder: skipped"


def leads_outside(path: Path, folder: Path) -> bool:
    """Whether `path` (a symlink, or under a linked folder) resolves to somewhere outside `folder`."""
    try:
        return not path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return True


def corpus_files(paths: Iterable[Path], outside: list[Path] | None = None) -> list[Path]:
    """Supported files under the given files and folders (recursively), sorted, hidden ones skipped.

    Under a folder, a link that leads outside it is skipped (and added to `outside`): whoever
    can write into the corpus must not publish /etc/shadow or another user's files through it.
    """
    found: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in path.rglob("*"):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts) or child.name.startswith("~$"):
                    continue  # hidden files and folders, Word's lock files
                if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    if leads_outside(child, path):
                        if outside is not None:
                            outside.append(child)
                        continue
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


@dataclass(frozen=True)
class Duplicate:
    """A corpus file that already holds an issue being added."""

    file: str  # relative to the corpus folder, with "/" between folders
    same_bytes: bool  # the very same file; otherwise the same series and 第N期


def find_duplicate(
    issue: Issue,
    data: bytes,
    corpus: Path,
    indexed: Mapping[str, Mapping],
    parse: Callable[[bytes, str], Issue],
) -> Duplicate | None:
    """The file in `corpus` that already holds `issue` (parsed from `data`), or None.

    `indexed` is the current index's file records (a manifest's "files": path relative to the
    corpus -> record); they are trusted without reading the file again. Files added since
    that index are read and parsed with `parse`: the caller passes its sandbox, since a file
    someone dropped into the corpus is as untrusted as an upload. A file that cannot be read
    or parsed is no duplicate; the next index reports it."""
    digest = hashlib.sha256(data).hexdigest()
    key = duplicate_key(issue)
    for rel, rec in indexed.items():
        if rec.get("sha256") == digest and (corpus / rel).exists():
            return Duplicate(rel, same_bytes=True)
        known_key = issue_key(rec.get("series") or "", rec.get("number"), rec.get("volume", ""))
        if rec.get("status") == "indexed" and known_key == key and (corpus / rel).exists():
            return Duplicate(rel, same_bytes=False)
    for path in corpus_files([corpus]):
        rel = path.relative_to(corpus).as_posix()
        if rel in indexed:
            continue
        try:
            other = path.read_bytes()
        except OSError:  # unreadable or removed meanwhile
            continue
        if hashlib.sha256(other).hexdigest() == digest:
            return Duplicate(rel, same_bytes=True)
        try:
            if duplicate_key(parse(other, rel)) == key:
                return Duplicate(rel, same_bytes=False)
        except ParseError:
            continue
    return None
