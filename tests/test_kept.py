"""An indexed issue is never lost to a bad copy: its last good version is served until the admin
removes the file or replaces it with a readable one, and every place an admin looks says so."""

from __future__ import annotations

import shutil
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from bulletin_bot.bot import format as fmt
from bulletin_bot.channels.chat import stats_text
from bulletin_bot.channels.wecom import MARKUP
from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.jobs import report_summary
from bulletin_bot.service import BulletinService
from bulletin_bot.web import create_app

from conftest import NEW_ISSUE, SAMPLE

QUESTION = "红书房建了多少个"
TOKEN = "correct-horse-battery-staple"


def make_service(root: Path) -> BulletinService:
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / "455.txt")
    (corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    settings = Settings(corpus=corpus, index=root / "index", cache=root / "cache", model="hash",
                        web_admin_token=TOKEN)
    service = BulletinService(settings, embedder=HashEmbedder())
    service.reindex()
    return service


def test_a_bad_copy_of_an_indexed_issue_keeps_the_good_one_until_fixed(tmp_path):
    service = make_service(tmp_path)
    bad = service.settings.corpus / "455.txt"
    good = bad.read_bytes()
    bad.write_bytes(good[: len(good) // 40])  # a truncated download: no article left

    report = service.reindex()
    assert report.built
    assert [k.file for k in report.kept] == ["455.txt"] and report.kept[0].reason
    # counted once: not failed, not removed, not changed
    assert (report.added, report.changed, report.removed, report.unchanged, report.failed) == (0, 0, 0, 1, 0)
    assert report.issues == 2
    answer = service.ask(QUESTION)
    assert answer.found and answer.results[0].citation.issue == 455
    assert [k.file for k in service.stats().kept] == ["455.txt"] and service.stats().problems == ()

    # the same bad copy again: nothing to do, still kept and said so
    again = service.reindex()
    assert not again.built and [k.file for k in again.kept] == ["455.txt"]
    # another bad copy (junk): still kept
    bad.write_bytes(bytes(range(256)) * 40)
    third = service.reindex()
    assert [k.file for k in third.kept] == ["455.txt"] and service.ask(QUESTION).results[0].citation.issue == 455

    # a readable copy replaces it
    bad.write_bytes(good)
    fixed = service.reindex()
    assert fixed.kept == () and fixed.changed == 1 and service.stats().kept == ()
    assert service.ask(QUESTION).found

    # removed by the admin: gone for good
    bad.write_bytes(b"")
    service.reindex()
    bad.unlink()
    gone = service.reindex()
    assert gone.removed == 1 and gone.kept == () and gone.issues == 1
    assert service.issue(455) == []


def test_a_readable_upload_of_the_kept_issue_takes_its_place(tmp_path):
    service = make_service(tmp_path)
    (service.settings.corpus / "455.txt").write_bytes(b"")
    service.reindex()
    result = service.add_file("455-fixed.txt", SAMPLE.read_bytes())
    assert result.ok, result.message
    report = service.reindex()
    assert report.kept == () and [p.file for p in report.problems] == ["455.txt"]
    assert [v.summary.file for v in service.issue(455)] == ["455-fixed.txt"]


def test_admins_are_told_on_every_front_end(tmp_path):
    service = make_service(tmp_path)
    (service.settings.corpus / "455.txt").write_bytes(b"")
    report = service.reindex()
    status = service.stats()

    assert "仍按上一版回答" in fmt.report_text(report) and "455.txt" in fmt.report_text(report)
    assert "455.txt" in report_summary(report) and "仍按上一版回答" in report_summary(report)
    assert "455.txt" in fmt.stats_text(status, show_problems=True)
    assert "455.txt" not in fmt.stats_text(status, show_problems=False)  # file names: admins only
    assert "455.txt" in stats_text(status, MARKUP, show_problems=True)

    with TestClient(create_app(service, service.settings)) as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        stats = client.get("/admin/status", headers=headers).json()["stats"]
        assert [k["file"] for k in stats["kept"]] == ["455.txt"] and stats["problems"] == []
        client.post("/admin/login", data={"token": TOKEN})
        page = client.get("/admin").text
        assert "仍按上一版回答" in page and "455.txt" in page

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    args = ["--corpus", str(service.settings.corpus), "--index", str(service.settings.index), "--model", "hash"]
    run = subprocess.run([sys.executable, "-m", "bulletin_bot.cli", "index", *args, "--quiet"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "1 kept from the previous version: 455.txt: " in run.stdout
    assert "nothing changed, 0 failed, 1 kept" in run.stdout
    assert "0 added, 0 changed, 0 removed, 1 unchanged, 0 skipped, 1 kept" in run.stdout
    status_run = subprocess.run([sys.executable, "-m", "bulletin_bot.cli", "index", "--status", *args],
                                capture_output=True, text=True, env=env, timeout=120)
    assert "1 kept from the previous version: 455.txt: " in status_run.stdout
