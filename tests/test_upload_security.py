"""Files an admin (or whoever can write the corpus) hands in, as an attacker would (issue #28):
long and dash-led names, one issue uploaded many times at once, and links out of the corpus."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from bulletin_bot.corpus import OUTSIDE
from bulletin_bot.web import create_app

from conftest import NEW_ISSUE
from test_web import TOKEN, make_service

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def admin(tmp_path):
    settings, service = make_service(tmp_path)
    with TestClient(create_app(service, settings)) as client:
        client.settings, client.service = settings, service
        yield client


def upload(client: TestClient, name: str, data: bytes = NEW_ISSUE.encode()):
    return client.post("/admin/upload", files={"file": (name, data, "text/plain")}, headers=AUTH)


def test_a_name_of_many_four_byte_characters_is_cut_to_200_bytes(admin):
    r = upload(admin, "𠀀" * 80 + ".txt")  # 324 bytes: too long for the file system as it is
    assert r.status_code == 200 and r.json()["ok"], r.text
    saved = r.json()["file"]
    assert saved.endswith(".txt") and len(saved.encode("utf-8")) <= 200
    assert (admin.settings.corpus / saved).read_text(encoding="utf-8") == NEW_ISSUE


def test_a_saved_name_never_starts_with_a_dash(admin):
    r = upload(admin, "--rf 456.txt")
    assert r.status_code == 200 and not r.json()["file"].startswith("-")
    assert not any(p.name.startswith("-") for p in admin.settings.corpus.iterdir())


def test_six_uploads_of_one_issue_at_once_save_it_once(admin, monkeypatch):
    from bulletin_bot import corpus

    check = corpus.find_duplicate

    def slow_check(*args, **kwargs):  # a slow disk: the check takes a while, as over a big corpus
        found = check(*args, **kwargs)
        time.sleep(0.5)
        return found

    monkeypatch.setattr(corpus, "find_duplicate", slow_check)
    before = {p.name for p in admin.settings.corpus.iterdir()}
    variants = [NEW_ISSUE.encode() + b"\n" * n for n in range(6)]  # the same 第456期, other bytes
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda n: upload(admin, f"456-{n}.txt", variants[n]), range(6)))
    assert sorted(r.status_code for r in replies) == [200] + [422] * 5
    added = {p.name for p in admin.settings.corpus.iterdir()} - before
    assert len(added) == 1, added


def test_a_link_out_of_the_corpus_is_skipped_with_a_reason(tmp_path):
    settings, service = make_service(tmp_path / "svc")
    outside = tmp_path / "o.txt"
    outside.write_text(NEW_ISSUE, encoding="utf-8")
    os.symlink(outside, settings.corpus / "outside.txt")
    inside = settings.corpus / "sub"
    inside.mkdir()
    os.symlink(tmp_path, inside / "elsewhere")  # a linked folder: not followed, or skipped like the file
    report = service.reindex()
    reasons = {p.file: p.reason for p in report.problems}
    assert reasons.get("outside.txt") == OUTSIDE
    assert not any(f.startswith("sub/") for f in reasons) or reasons.get("sub/elsewhere/o.txt") == OUTSIDE
    assert service.issue(456) == [], "nothing from outside the corpus is indexed or served"
