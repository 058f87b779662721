"""Shared fixtures: a built index of the shipped sample issue, with a small fast embedder.

Every test's state lives in tmp folders; nothing reads the user's cache, index or settings:
every BULLETIN_BOT_* and TELEGRAM_* variable is cleared, HOME and the XDG/Hugging Face caches
point into a temp folder, and each test runs in its own temp working directory (so no `.env` or
`bulletin-bot.toml` of the developer's applies, to the test or to a command it starts).

Tests that need the real default model (static-zh, built by `bulletin-bot model build`) get its
cache folder from the `static_cache` fixture, which reads BULLETIN_BOT_TEST_CACHE (`make test`
sets it to where `make install` built the model) and skips with a reason when it is unset.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.service import BulletinService

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLE = ROOT / "corpus" / "455.txt"


# A second issue in the sample's layout with one distinctive fact, for tests that upload it.
NEW_ISSUE = """建设学习型党组织、学习型领导班子 工作简报

第 456 期

协调小组办公室

2023 年 12 月 20 日

【经验交流】

- 宿迁市：“红石榴”宣讲团走进骆马湖渔村

【经验交流】

宿迁市：“红石榴”宣讲团走进骆马湖渔村

今年以来，宿迁市组建“红石榴”宣讲团，在骆马湖沿岸渔村开展流动宣讲136场，覆盖渔民群众1.2万人次。

宣讲团采用“船头课堂”形式，把党的创新理论送到渔民身边。

送：省协调小组成员单位

发：各设区市委宣传部

协调小组办公室
"""
NEW_QUESTION = "红石榴宣讲团在骆马湖渔村开展流动宣讲多少场"
NEW_FACT = "开展流动宣讲136场"


def needs_shared() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not SHARED.is_dir(), reason=f"needs the shared data at {SHARED} (absent in a bare clone)")


# Read once, before any test clears the environment: the one explicit way in for the real model.
TEST_CACHE = os.environ.get("BULLETIN_BOT_TEST_CACHE", "")
# Tests run in temp folders: a relative PYTHONPATH (`PYTHONPATH=src`) would make a command they
# start import another copy of the package (or none), so its entries are made absolute here.
_PYTHONPATH = os.pathsep.join(str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No test sees the developer's settings files, env vars or model cache."""
    for var in list(os.environ):
        if var.startswith(("BULLETIN_BOT_", "TELEGRAM_")):
            monkeypatch.delenv(var)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("HF_HOME", str(home / ".cache" / "huggingface"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if _PYTHONPATH:
        monkeypatch.setenv("PYTHONPATH", _PYTHONPATH)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    # a job runner's reader's pass starts a minute after its last round, in a daemon thread that
    # outlives the test: dozens of them would read at once under later tests. Only the test of
    # that pass asks for one (ReindexRunner(read_delay=0)).
    from bulletin_bot import jobs

    monkeypatch.setattr(jobs, "READ_DELAY", None)


@pytest.fixture(scope="session")
def static_cache() -> Path:
    """The cache folder holding the built static-zh model, named by BULLETIN_BOT_TEST_CACHE."""
    from bulletin_bot.static_model import is_built, model_dir

    if not TEST_CACHE:
        pytest.skip("needs the built static-zh model: set BULLETIN_BOT_TEST_CACHE to its cache folder "
                    "(`make test` sets it to ~/.cache/bulletin_bot, where `make install` builds it)")
    cache = Path(TEST_CACHE).expanduser()
    if not is_built(model_dir(cache)):
        pytest.skip(f"static-zh is not built in {cache}: run `bulletin-bot model build` (make install)")
    return cache


@pytest.fixture(scope="session")
def sample_service(tmp_path_factory) -> BulletinService:
    """A service over a copy of corpus/ (the real issue 455), indexed with HashEmbedder."""
    base = tmp_path_factory.mktemp("sample")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / SAMPLE.name)
    settings = Settings(corpus=corpus, index=base / "index", cache=base / "cache", model="hash")
    service = BulletinService(settings, embedder=HashEmbedder())
    service.reindex()
    return service
