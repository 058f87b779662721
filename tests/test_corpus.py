"""Is an uploaded issue already in the corpus? The same bytes, or the same series and 第N期, in a
file the index knows or in one dropped into the folder since; and what an admin is told."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from bulletin_bot.config import Settings
from bulletin_bot.corpus import Duplicate, find_duplicate
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.errors import ParseError
from bulletin_bot.parsing import parse_bytes
from bulletin_bot.service import BulletinService

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "455.txt"


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED.read_bytes()


def record(issue, sha256: str = "", status: str = "indexed") -> dict:
    """A manifest's file record, as the indexer writes it."""
    return {"sha256": sha256, "series": issue.series, "number": issue.number, "volume": issue.volume, "status": status}


def test_a_new_issue_is_no_duplicate(tmp_path, seed_bytes):
    shutil.copy(SEED, tmp_path / "455.txt")
    other = seed_bytes.replace("第 455 期".encode(), "第 456 期".encode())
    issue = parse_bytes(other, "456.txt")
    assert find_duplicate(issue, other, tmp_path, {}, parse_bytes) is None


def test_files_added_since_the_index_are_read_and_parsed(tmp_path, seed_bytes):
    (tmp_path / "sub").mkdir()
    shutil.copy(SEED, tmp_path / "sub" / "455.txt")
    issue = parse_bytes(seed_bytes, "upload.txt")
    assert find_duplicate(issue, seed_bytes, tmp_path, {}, parse_bytes) == Duplicate("sub/455.txt", same_bytes=True)

    edited = seed_bytes.replace("省委书记".encode(), "省委主要负责同志".encode())
    assert edited != seed_bytes
    parsed: list[str] = []

    def parse(data: bytes, file: str):
        parsed.append(file)
        return parse_bytes(data, file)

    found = find_duplicate(parse_bytes(edited, "upload.txt"), edited, tmp_path, {}, parse)
    assert found == Duplicate("sub/455.txt", same_bytes=False)
    assert parsed == ["sub/455.txt"]  # the caller's parser (its sandbox) reads the corpus file


def test_files_the_index_knows_are_not_read_again(tmp_path, seed_bytes):
    shutil.copy(SEED, tmp_path / "455.txt")
    issue = parse_bytes(seed_bytes, "455.txt")

    def parse(data: bytes, file: str):
        raise AssertionError(f"{file} is in the index and should not be parsed")

    digest = hashlib.sha256(seed_bytes).hexdigest()
    edited = seed_bytes.replace("省委书记".encode(), "省委主要负责同志".encode())
    same = find_duplicate(issue, seed_bytes, tmp_path, {"455.txt": record(issue, digest)}, parse)
    assert same == Duplicate("455.txt", same_bytes=True)
    also = find_duplicate(parse_bytes(edited, "x.txt"), edited, tmp_path, {"455.txt": record(issue, digest)}, parse)
    assert also == Duplicate("455.txt", same_bytes=False)
    # a record whose file is gone, or that was not indexed (a problem file), holds nothing
    (tmp_path / "455.txt").unlink()
    assert find_duplicate(issue, seed_bytes, tmp_path, {"455.txt": record(issue, digest)}, parse) is None
    shutil.copy(SEED, tmp_path / "455.txt")
    failed = {"455.txt": record(issue, "0" * 64, status="problem")}
    assert find_duplicate(parse_bytes(edited, "x.txt"), edited, tmp_path, failed, parse) is None


def test_unparseable_corpus_files_are_skipped(tmp_path, seed_bytes):
    (tmp_path / "broken.txt").write_bytes(b"")
    shutil.copy(SEED, tmp_path / "z-455.txt")
    edited = seed_bytes.replace("省委书记".encode(), "省委主要负责同志".encode())
    seen: list[str] = []

    def parse(data: bytes, file: str):
        seen.append(file)
        return parse_bytes(data, file)

    found = find_duplicate(parse_bytes(edited, "x.txt"), edited, tmp_path, {}, parse)
    assert found == Duplicate("z-455.txt", same_bytes=False)
    assert seen == ["broken.txt", "z-455.txt"]
    with pytest.raises(ParseError):
        parse_bytes(b"", "broken.txt")


def test_the_admin_is_told_which_file_holds_the_upload_and_why(tmp_path, seed_bytes):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / "455.txt")  # not indexed yet: found by reading the folder
    service = BulletinService(Settings(corpus=corpus, index=tmp_path / "index", model="hash"), embedder=HashEmbedder())
    same = service.add_file("again.txt", seed_bytes)
    assert not same.ok and same.message == "again.txt: 与已有文件 455.txt 内容相同，未保存"
    edited = seed_bytes.replace("省委书记".encode(), "省委主要负责同志".encode())
    also = service.add_file("edited.txt", edited)
    assert not also.ok and also.message == "edited.txt: 与已有文件 455.txt 是同一期（第455期），未保存"
    assert sorted(p.name for p in corpus.iterdir()) == ["455.txt"]
