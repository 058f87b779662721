"""The tests themselves tell the truth: no developer's settings, cache or secrets reach them,
and the secrets file the README tells people to write is never committed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bulletin_bot.config import load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_a_test_runs_in_a_temp_folder_with_no_settings_of_the_developer(tmp_path_factory):
    assert Path.cwd().resolve() != ROOT.resolve()
    assert not (Path.cwd() / ".env").exists()
    leaked = [v for v in os.environ if v.startswith(("BULLETIN_BOT_", "TELEGRAM_"))]
    assert leaked == []
    home = Path(os.path.expanduser("~")).resolve()
    assert home.is_relative_to(tmp_path_factory.getbasetemp().resolve())
    settings = load_settings()
    assert settings.cache.resolve().is_relative_to(home)  # the default cache is a temp one
    assert settings.telegram_token == "" and settings.admins == frozenset()


def test_a_command_started_by_a_test_sees_no_settings_of_the_developer():
    """A `.env` or `bulletin-bot.toml` in the folder the tests were started from (the repository,
    for a developer) must not reach a `bulletin-bot` process a test starts."""
    code = ("import os; from bulletin_bot.config import load_settings; s = load_settings(); "
            "print(os.getcwd()); print(s.index, s.cache, s.telegram_token or '-')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    cwd, settings = result.stdout.splitlines()
    assert Path(cwd).resolve() != ROOT.resolve()
    index, cache, token = settings.split()
    assert index == "index" and token == "-"
    assert Path(cache).resolve().is_relative_to(Path(os.path.expanduser("~")).resolve())


def test_dotenv_is_never_committed():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for name in (".env", "deploy/.env", ".env.local"):
        ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", name], timeout=30)
        assert ignored.returncode == 0, f"{name} is not in .gitignore"
    kept = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", ".env.example"], timeout=30)
    assert kept.returncode == 1
