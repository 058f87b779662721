"""A long-running service meets a changed model, a racing upload and endless warnings.

The second model is a tiny static-embedding folder made here (a character vocabulary of the
sample issue, random 16-dim rows): a real local model folder as `--model PATH` takes it, so
nothing slow is loaded and nothing is patched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bulletin_bot import service as service_module
from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder, StaticEmbedder
from bulletin_bot.errors import IndexInvalid
from bulletin_bot.service import MAX_WARNINGS, BulletinService

from conftest import NEW_ISSUE, NEW_QUESTION, SAMPLE

QUESTION = "红书房建了多少个"


def tiny_static_model(folder: Path, dimension: int = 16) -> Path:
    """A sentence-transformers StaticEmbedding folder: one token per CJK character of the sample."""
    from safetensors.numpy import save_file
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    chars = sorted({c for c in SAMPLE.read_text(encoding="utf-8") + NEW_ISSUE if "\u4e00" <= c <= "\u9fff"})
    vocab = {"[UNK]": 0, **{c: i + 1 for i, c in enumerate(chars)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"\w"), behavior="isolated")
    folder.mkdir(parents=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    weights = np.random.default_rng(7).standard_normal((len(vocab), dimension)).astype(np.float32)
    weights[0] = 0
    save_file({"embedding.weight": weights}, str(folder / "model.safetensors"))
    (folder / "modules.json").write_text(json.dumps(
        [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]), encoding="utf-8")
    return folder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    return folder


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bulletin_bot.cli", *args], capture_output=True, text=True,
                          timeout=120)


def manifest_of(index: Path) -> dict:
    return json.loads(((index / "current").resolve() / "manifest.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- a changed model


def test_a_running_service_follows_an_index_rebuilt_with_another_model(tmp_path, corpus):
    """`bulletin-bot index --model OTHER` while the bot runs: the next question is answered with
    the new version and its model; the bot's own re-index then builds with that model too."""
    index = tmp_path / "index"
    tiny = tiny_static_model(tmp_path / "tiny-model")
    BulletinService(Settings(corpus=corpus, index=index, cache=tmp_path / "cache", model="hash")).reindex()

    bot = BulletinService(Settings(corpus=corpus, index=index, cache=tmp_path / "cache"))  # the index's model
    assert bot.ask(QUESTION).found
    assert bot.stats().model.startswith("hash (hash-char12-64)")

    rebuilt = cli("index", "--corpus", str(corpus), "--index", str(index), "--model", str(tiny), "-q")
    assert rebuilt.returncode == 0, rebuilt.stderr
    tiny_id = StaticEmbedder(tiny).model_id
    assert manifest_of(index)["model_id"] == tiny_id

    answer = bot.ask(QUESTION)  # no restart
    assert answer.found and answer.results[0].citation.issue == 455
    assert bot.stats().model == f"{tiny} ({tiny_id})"

    # an admin's /reindex (a new file arrived): built and recorded with the model it really used
    (corpus / "456.txt").write_text(NEW_ISSUE, encoding="utf-8")
    report = bot.reindex()
    assert report.added == 1
    manifest = manifest_of(index)
    assert (manifest["model_name"], manifest["model_id"]) == (str(tiny), tiny_id)
    assert manifest["dimension"] == 16
    assert bot.ask(NEW_QUESTION).results[0].citation.issue == 456

    # and back: an index built with hash again is followed on the next question as well
    again = cli("index", "--corpus", str(corpus), "--index", str(index), "--model", "hash", "-q")
    assert again.returncode == 0, again.stderr
    assert bot.ask(QUESTION).found
    assert bot.stats().model.startswith("hash (")


def test_a_new_version_whose_model_cannot_be_loaded_leaves_the_old_one_serving(tmp_path, corpus):
    index = tmp_path / "index"
    tiny = tiny_static_model(tmp_path / "tiny-model")
    BulletinService(Settings(corpus=corpus, index=index, cache=tmp_path / "cache", model="hash")).reindex()
    bot = BulletinService(Settings(corpus=corpus, index=index, cache=tmp_path / "cache"))
    first = bot.stats().version
    assert cli("index", "--corpus", str(corpus), "--index", str(index), "--model", str(tiny), "-q").returncode == 0
    shutil.rmtree(tiny)  # the model folder is gone by the time the bot sees the new version

    assert bot.ask(QUESTION).found  # still answered, from the version it had
    assert bot.stats().version == first
    assert any("not usable" in w and "cannot load" in w for w in bot.warnings)

    fresh = BulletinService(Settings(corpus=corpus, index=index, cache=tmp_path / "cache"))
    with pytest.raises(IndexInvalid) as refused:  # nothing older to serve: refused, with the fix
        fresh.ask(QUESTION)
    assert str(tiny) in str(refused.value) and "bulletin-bot index" in str(refused.value)


# ---------------------------------------------------------------- uploads


def test_an_upload_racing_another_of_the_same_name_takes_the_next_name(tmp_path, corpus, monkeypatch):
    """Between choosing a free name and linking the file there, another upload takes the name:
    this one is saved as name-1, the other's file is left alone, and no error escapes."""
    service = BulletinService(Settings(corpus=corpus, index=tmp_path / "index", cache=tmp_path / "c", model="hash"),
                              embedder=HashEmbedder())
    service.reindex()
    real_link = os.link
    raced: list[Path] = []

    def link_after_a_rival(src, dst, *args, **kwargs):
        if not raced:  # the rival's file lands at the chosen name first
            Path(dst).write_text("rival upload", encoding="utf-8")
            raced.append(Path(dst))
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(service_module.os, "link", link_after_a_rival)
    result = service.add_file("456.txt", NEW_ISSUE.encode("utf-8"))
    assert result.ok, result.message
    assert raced == [corpus / "456.txt"]
    assert Path(result.path) == corpus / "456-1.txt"
    assert (corpus / "456.txt").read_text(encoding="utf-8") == "rival upload"
    assert (corpus / "456-1.txt").read_text(encoding="utf-8") == NEW_ISSUE
    assert not list(corpus.glob(".upload-*"))


# ---------------------------------------------------------------- warnings


def test_warnings_of_a_long_running_service_are_bounded(sample_service, tmp_path):
    """A deploy that keeps pointing `current` at broken versions warns each time; the service
    keeps only the newest MAX_WARNINGS of them."""
    service = BulletinService(sample_service.settings, embedder=HashEmbedder())
    paths = service.paths
    good = paths.current_target()
    assert service.ask(QUESTION).found
    try:
        for n in range(MAX_WARNINGS):
            link = paths.root / f".flip-{n}"
            os.symlink(paths.versions / f"broken-{n}", link)
            os.replace(link, paths.current)
            assert service.ask(QUESTION).found  # still served by the good version
        assert len(service.warnings) == MAX_WARNINGS  # about two warnings a flip, the oldest dropped
        assert any(f"broken-{MAX_WARNINGS - 1}" in w for w in service.warnings)
        assert not any("broken-0" in w for w in service.warnings)
    finally:
        link = paths.root / ".flip-back"
        os.symlink(good, link)
        os.replace(link, paths.current)
