"""Shared fixtures: a built index of the shipped sample issue, with a small fast embedder.

Every test's state lives in tmp folders; nothing reads the user's cache or index.
"""

from __future__ import annotations

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


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No test sees the developer's settings files, env vars or model cache."""
    import os

    for var in ("BULLETIN_BOT_CORPUS", "BULLETIN_BOT_INDEX", "BULLETIN_BOT_MODEL", "BULLETIN_BOT_CONFIG",
                "TELEGRAM_BOT_TOKEN", "BULLETIN_BOT_ADMINS", "BULLETIN_BOT_WEB_ADMIN_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    for var in [v for v in os.environ if v.startswith(("BULLETIN_BOT_WECOM_", "BULLETIN_BOT_DINGTALK_", "BULLETIN_BOT_FEISHU_"))]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


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
