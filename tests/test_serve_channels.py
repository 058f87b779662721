"""`bulletin-bot serve --channel …` as deployed: a separate process, settings from the environment, SIGTERM.

Each channel answers one question through its platform's stand-in on 127.0.0.1, then stops
cleanly on SIGTERM (exit status 0) without printing its secrets.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.service import BulletinService

import dingtalk_standin as dt
import feishu_standin as fs
import wecom_standin as wc
from channel_helpers import free_port, wait_for
from conftest import SAMPLE

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "泗洪县理论宣讲做法"


def index(root: Path) -> dict[str, str]:
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE, corpus / SAMPLE.name)
    settings = Settings(corpus=corpus, index=root / "index", cache=root / "cache", model="hash")
    BulletinService(settings, embedder=HashEmbedder()).reindex()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULLETIN_BOT_", "TELEGRAM_"))}
    env.update(BULLETIN_BOT_CORPUS=str(corpus), BULLETIN_BOT_INDEX=str(settings.index),
               BULLETIN_BOT_CACHE=str(settings.cache), BULLETIN_BOT_MODEL="hash", PYTHONUNBUFFERED="1")
    # this checkout's code, even when the process starts in another folder
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    return env


def up(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("channel", ["wecom", "dingtalk", "feishu"])
def test_serve_runs_the_channel_and_stops_on_sigterm(tmp_path, channel):
    env = index(tmp_path)
    port = free_port()
    env.update(BULLETIN_BOT_LISTEN="127.0.0.1", BULLETIN_BOT_PORT=str(port))
    standin = {"wecom": wc.WeComStandin, "dingtalk": dt.DingTalkStandin, "feishu": fs.FeishuStandin}[channel]().start()
    secrets = []
    if channel == "wecom":
        env.update(BULLETIN_BOT_WECOM_CORP_ID=wc.CORP_ID, BULLETIN_BOT_WECOM_AGENT_ID=wc.AGENT_ID,
                   BULLETIN_BOT_WECOM_SECRET=wc.SECRET, BULLETIN_BOT_WECOM_TOKEN=wc.TOKEN,
                   BULLETIN_BOT_WECOM_AES_KEY=wc.AES_KEY, BULLETIN_BOT_WECOM_API_BASE_URL=standin.base_url)
        secrets = [wc.SECRET, wc.AES_KEY]
    elif channel == "dingtalk":
        env.update(BULLETIN_BOT_DINGTALK_CLIENT_ID=dt.CLIENT_ID, BULLETIN_BOT_DINGTALK_CLIENT_SECRET=dt.CLIENT_SECRET,
                   BULLETIN_BOT_DINGTALK_API_BASE_URL=standin.base_url, BULLETIN_BOT_DINGTALK_WEBHOOK_HOSTS="127.0.0.1")
        secrets = [dt.CLIENT_SECRET]
    else:
        env.update(BULLETIN_BOT_FEISHU_APP_ID=fs.APP_ID, BULLETIN_BOT_FEISHU_APP_SECRET=fs.APP_SECRET,
                   BULLETIN_BOT_FEISHU_VERIFICATION_TOKEN=fs.VERIFICATION_TOKEN,
                   BULLETIN_BOT_FEISHU_ENCRYPT_KEY=fs.ENCRYPT_KEY, BULLETIN_BOT_FEISHU_API_BASE_URL=standin.base_url)
        secrets = [fs.APP_SECRET, fs.ENCRYPT_KEY]
    proc = subprocess.Popen([sys.executable, "-m", "bulletin_bot.cli", "serve", "--channel", channel],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if channel == "dingtalk":
            wait_for(lambda: standin.connected, timeout=30, what="the stream connection")
            session, _ = standin.say(QUESTION, "staff01")
            reply = standin.wait_texts(session)[0]
        else:
            wait_for(lambda: up(f"http://127.0.0.1:{port}/healthz"), timeout=30, what="the callback server")
            if channel == "wecom":
                standin.callback_url = f"http://127.0.0.1:{port}/wecom/callback"
                assert standin.say(QUESTION, "lisi").status_code == 200
                reply = standin.wait_texts("lisi", 1)[0]
            else:
                standin.events_url = f"http://127.0.0.1:{port}/feishu/events"
                message_id, response = standin.say(QUESTION, "ou_reader")
                assert response.status_code == 200
                reply = standin.wait_texts(message_id)[0]
        assert "第455期" in reply and "泗洪县" in reply
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        standin.stop()
    assert proc.returncode == 0, err
    assert "serving index" in err
    assert not any(secret in out + err for secret in secrets)


def test_serve_help_and_the_readme_name_all_four_channels():
    help_text = subprocess.run([sys.executable, "-m", "bulletin_bot.cli", "serve", "--help"],
                               capture_output=True, text=True, timeout=60).stdout
    assert "{telegram,wecom,dingtalk,feishu}" in help_text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    serve = " ".join(line for line in readme.splitlines() if "bulletin-bot serve --channel" in line)
    assert all(name in serve for name in ("telegram", "wecom", "dingtalk", "feishu")), serve
    for name in ("WeCom", "DingTalk", "Feishu", "BULLETIN_BOT_WECOM_CORP_ID", "`_AES_KEY`",
                 "BULLETIN_BOT_DINGTALK_CLIENT_ID", "BULLETIN_BOT_FEISHU_APP_ID", "`_ENCRYPT_KEY`",
                 "BULLETIN_BOT_WECOM_ADMINS", "BULLETIN_BOT_DINGTALK_ADMINS", "BULLETIN_BOT_FEISHU_ADMINS",
                 "BULLETIN_BOT_LISTEN", "BULLETIN_BOT_PORT"):
        assert name in readme, name
    deploy = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    for name in ("/wecom/callback", "/feishu/events", "Stream", "BULLETIN_BOT_DINGTALK_ADMINS"):
        assert name in deploy


def test_a_missing_setting_is_named_before_anything_starts(tmp_path):
    env = index(tmp_path)
    env.update(BULLETIN_BOT_FEISHU_APP_ID="cli_x")
    result = subprocess.run([sys.executable, "-m", "bulletin_bot.cli", "serve", "--channel", "feishu"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "BULLETIN_BOT_FEISHU_APP_SECRET" in result.stderr and "BULLETIN_BOT_FEISHU_VERIFICATION_TOKEN" in result.stderr
