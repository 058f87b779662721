"""Hostile and broken files, uploaded by an admin or dropped into corpus/: each is refused, by
name and with its reason, while the service keeps answering and its memory stays flat.

The parse limits are set low here (BULLETIN_BOT_PARSE_SECONDS=10, _MEMORY_MB=200): a refusal
whose reason is its own (not "took longer than 10 s") came within those seconds, so no test
needs a clock. Files are made by tests/hostile.py at test time.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.errors import ParseError
from bulletin_bot.sandbox import ParseLimits, ParsePool
from bulletin_bot.service import BulletinService

import hostile
from conftest import NEW_ISSUE, SAMPLE
from fixtures import docx_bytes, pdf_bytes, seed_text

QUESTION = "红书房建了多少个"
LIMITS = {"parse_seconds": 10.0, "parse_memory_mb": 200}
TOO_SLOW = "took longer than"

# name -> (file, what the refusal must say)
EXPECTED = {
    "bomb.docx": "refused as a zip bomb",
    "pages.pdf": "the PDF has 5,000 pages",
    "deep.pdf": "unreadable PDF",
    "locked.pdf": "encrypted with a password",
    "content.pdf": "needs more than 200 MB of memory",
    "zeros.txt": "binary data",
    "zeros.pdf": "does not start with %PDF",
    "zeros.docx": "a .docx must be a zip archive",
    "cut.txt": "truncated UTF-8",
    "cut.pdf": "truncated",
    "cut.docx": "unreadable Word file",
}


@pytest.fixture(scope="module")
def hostile_files() -> dict[str, bytes]:
    text = seed_text()
    return {
        "bomb.docx": hostile.zip_bomb_docx(text, megabytes=300),
        "pages.pdf": hostile.many_pages_pdf(5000),
        "deep.pdf": hostile.deep_pdf(5000),
        "locked.pdf": hostile.encrypted_pdf(text),
        "content.pdf": hostile.content_bomb_pdf(70),
        "zeros.txt": hostile.zeros(),
        "zeros.pdf": hostile.zeros(),
        "zeros.docx": hostile.zeros(),
        "cut.txt": hostile.truncated(text.encode("utf-8")),
        "cut.pdf": hostile.truncated(pdf_bytes(text)),
        "cut.docx": hostile.truncated(docx_bytes(text)),
    }


def make_service(root: Path, **settings) -> BulletinService:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(SAMPLE, corpus / SAMPLE.name)
    service = BulletinService(Settings(corpus=corpus, index=root / "index", cache=root / "cache", model="hash",
                                       **{**LIMITS, **settings}), embedder=HashEmbedder())
    service.reindex()
    return service


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux >= 4.0)


def test_hostile_uploads_are_refused_by_name_while_questions_are_answered(tmp_path, hostile_files):
    service = make_service(tmp_path)
    assert service.ask(QUESTION).found  # warm: the model and index are loaded before the race
    before = sorted(p.name for p in service.settings.corpus.iterdir())
    answered: list[tuple[float, bool]] = []
    done = threading.Event()

    def keep_asking() -> None:  # another user, all the while
        while not done.is_set():
            found = service.ask(QUESTION).found
            answered.append((time.monotonic(), found))

    asker = threading.Thread(target=keep_asking)
    reset_peak_rss()
    start_rss = peak_rss_mb()
    asker.start()
    try:
        results = {}
        for name, data in hostile_files.items():
            results[name] = service.add_file(name, data)
        uploads_done = time.monotonic()
    finally:
        done.set()
        asker.join(30)
    for name, result in results.items():
        assert not result.ok, name
        assert result.message.startswith(f"{name}: 无法读取："), result.message
        assert re.search(EXPECTED[name], result.message), result.message
        assert TOO_SLOW not in result.message or name == "content.pdf", result.message
    assert sorted(p.name for p in service.settings.corpus.iterdir()) == before  # nothing saved
    # answers kept coming while the files were being refused, and every one found the answer
    assert any(t <= uploads_done for t, _ in answered) and all(found for _, found in answered)
    # the files were read in children: this process grew by less than one parse's limit
    assert peak_rss_mb() - start_rss < LIMITS["parse_memory_mb"]

    ok = service.add_file("456.txt", NEW_ISSUE.encode("utf-8"))  # and a good file still goes in
    assert ok.ok, ok.message


def test_hostile_files_in_the_corpus_are_reported_by_name_and_the_rest_indexed(tmp_path, hostile_files):
    service = make_service(tmp_path)
    corpus = service.settings.corpus
    for name, data in hostile_files.items():
        (corpus / name).write_bytes(data)
    (corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    reset_peak_rss()
    start_rss = peak_rss_mb()
    report = service.reindex()
    problems = {p.file: p.reason for p in report.problems}
    assert set(problems) == set(EXPECTED)
    for name, pattern in EXPECTED.items():
        assert re.search(pattern, problems[name]), (name, problems[name])
    assert report.issues == 2 and report.added == 1 and report.failed == len(EXPECTED)  # each file counted once
    assert service.ask(QUESTION).found
    assert peak_rss_mb() - start_rss < LIMITS["parse_memory_mb"]
    assert {p.file for p in service.stats().problems} == set(EXPECTED)


def test_the_memory_and_time_limits_stop_what_no_check_catches(hostile_files):
    bomb = hostile_files["content.pdf"]  # passes every check of the PDF reader
    with ParsePool(ParseLimits(memory_mb=200, seconds=60)) as pool:
        with pytest.raises(ParseError, match=r"^c\.pdf: .*needs more than 200 MB of memory"):
            pool.parse(bomb, "c.pdf")
        assert pool.parse(SAMPLE.read_bytes(), "455.txt").number == 455  # a fresh worker carries on
    with ParsePool(ParseLimits(memory_mb=4096, seconds=1)) as pool:
        with pytest.raises(ParseError, match=r"^c\.pdf: reading it took longer than 1 s"):
            pool.parse(bomb, "c.pdf")
        assert pool.parse(SAMPLE.read_bytes(), "455.txt").number == 455


def test_a_worker_that_dies_is_replaced(tmp_path):
    """A worker killed between files (as the kernel's out-of-memory killer would) is replaced."""
    with ParsePool(ParseLimits(seconds=30)) as pool:
        jobs = [("455.txt", SAMPLE.read_bytes()), ("456.txt", NEW_ISSUE.encode("utf-8"))]
        results = dict(pool.parse_many(jobs))
        assert results["455.txt"].number == 455 and results["456.txt"].number == 456
        worker = pool._idle[0]
        os.kill(worker.process.pid, 9)
        worker.process.join(5)
        assert pool.parse(SAMPLE.read_bytes(), "again.txt").number == 455  # replaced, not stuck


def test_limits_are_settings(tmp_path):
    from bulletin_bot.config import load_settings
    from bulletin_bot.errors import ConfigError

    settings = load_settings(env={"BULLETIN_BOT_PARSE_MEMORY_MB": "300", "BULLETIN_BOT_PARSE_SECONDS": "2.5"},
                             cwd=tmp_path)
    assert (settings.parse_memory_mb, settings.parse_seconds) == (300, 2.5)
    assert (Settings().parse_memory_mb, Settings().parse_seconds) == (1536, 30.0)
    with pytest.raises(ConfigError, match="BULLETIN_BOT_PARSE_SECONDS"):
        load_settings(env={"BULLETIN_BOT_PARSE_SECONDS": "0"}, cwd=tmp_path)
    assert replace(settings, parse_seconds=1.0).parse_seconds == 1.0


# ---------------------------------------------------------------- unreadable corpus files


def _unreadable(path: Path, monkeypatch) -> None:
    """Make `path` a file that exists but cannot be read: no permission, or (as root, whom
    permissions do not stop) reading it fails as a file without permission would. (A link to
    /proc/self/mem did it once; a link out of the corpus is now skipped before it is read.)"""
    if os.geteuid() != 0:
        path.chmod(0)
        return
    read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)


def test_an_unreadable_or_vanishing_file_is_reported_by_name_and_the_rest_indexed(tmp_path, monkeypatch):
    service = make_service(tmp_path)
    corpus = service.settings.corpus
    shutil.copy(SAMPLE, corpus / "copy-to-lose.txt")  # a duplicate, to be removed mid-build
    (corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    (corpus / "457.txt").write_text(NEW_ISSUE.replace("第 456 期", "第 457 期"), encoding="utf-8")
    _unreadable(corpus / "457.txt", monkeypatch)

    def remove_during_the_build(progress) -> None:
        if progress.stage == "scan":  # the folder is listed; its files not read yet
            (corpus / "copy-to-lose.txt").unlink()

    report = service.reindex(progress=remove_during_the_build)
    problems = {p.file: p.reason for p in report.problems}
    assert problems["copy-to-lose.txt"] == "removed while the index was being built"
    assert problems["457.txt"].startswith("cannot read the file: ")
    assert report.issues == 2  # 455 and 456
    assert service.ask("骆马湖渔村流动宣讲").results[0].citation.issue == 456


def test_an_indexed_file_that_becomes_unreadable_keeps_its_indexed_content(tmp_path, monkeypatch):
    service = make_service(tmp_path)
    corpus = service.settings.corpus
    _unreadable(corpus / SAMPLE.name, monkeypatch)
    (corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    report = service.reindex()
    assert report.issues == 2 and report.problems == ()
    assert report.kept[0].file == SAMPLE.name and report.kept[0].reason.startswith("cannot read the file: ")
    assert service.ask(QUESTION).results[0].citation.issue == 455


def test_no_pdf_library_with_known_memory_bugs_is_a_dependency():
    """pypdf 5.x and older have memory-exhaustion bugs on crafted files (fixed in 6): PDFs are
    read with pypdfium2 (PDFium), and pypdf, if ever required again, must be 6 or later."""
    import re as regex
    import tomllib

    declared = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = [d.replace(" ", "") for d in declared["project"]["dependencies"]]
    assert any(d.startswith("pypdfium2>=") for d in runtime)
    for d in runtime:
        m = regex.fullmatch(r"pypdf([<>=!~].*)?", d)
        if m:
            assert regex.fullmatch(r"pypdf>=([6-9]|\d\d)(\.\d+)*", d), d


def test_a_scan_gets_the_time_its_pages_take_to_read():
    """OCR takes seconds a page: a scanned file is not refused as "too slow" by the limit meant
    for files built to hang the reader (here 2 s, less than two pages take)."""
    from bulletin_bot.readers import ocr_status

    if not ocr_status().available:
        pytest.skip(f"OCR not available: {ocr_status().detail}")
    import office_files as of
    from bulletin_bot.parsing import read_issue

    seed = read_issue(SAMPLE)
    scan = of.to_scan(of.to_pdf(of.from_issue(seed, seed_text())), dpi=200, pages=2)
    with ParsePool(ParseLimits(seconds=2.0)) as pool:
        issue = pool.parse(scan, "scan.pdf")
    assert (issue.encoding, issue.number, issue.date) == ("pdf+ocr", 455, "2023-12-10")
