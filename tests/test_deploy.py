"""The deploy files as an operator meets them, without building anything: deploy/compose.yaml
resolves with no secrets set (so one channel's secrets are never needed to run another service
or `index`), every service runs the image the Dockerfile builds, and the Dockerfile pins the CPU
build of the torch release pyproject.toml pins. `make test-image` builds and runs the image
(tests/test_image.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bulletin_bot.config import ENV_FIELDS

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
TEST_IMAGE = ROOT / "scripts" / "test_image.sh"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, ${NAME:+alt}
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")
# variables compose.yaml reads that are not the application's settings
_COMPOSE_ONLY = {"BASE_IMAGE", "CORPUS_DIR", "INDEX_DIR", "WEB_HOST_PORT", "WECOM_HOST_PORT",
                 "FEISHU_HOST_PORT"}


def _interpolate(text: str, env: dict[str, str]) -> str:
    """What Compose makes of the file in `env`; a required variable that is unset is an error."""
    def one(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"] or ""
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise ValueError(f"required variable {name} is missing a value: {arg}")
        if op == ":-":
            return value or arg
        if op == "-":
            return arg if value is None else value
        if op == ":+":
            return arg if value else ""
        return value or ""
    return _VARIABLE.sub(one, text)


def _raw() -> dict:
    """The file as YAML, before interpolation (Compose too reads the YAML first: comments are not read)."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read compose.yaml")
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _strings(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def _variables() -> list[re.Match]:
    return [m for text in _strings(_raw()) for m in _VARIABLE.finditer(text)]


def _resolve(node, env: dict[str, str]):
    if isinstance(node, dict):
        return {key: _resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(value, env) for value in node]
    return _interpolate(node, env) if isinstance(node, str) else node


def _services(env: dict[str, str] | None = None) -> dict[str, dict]:
    return _resolve(_raw(), env or {})["services"]


def test_compose_resolves_with_no_settings_at_all():
    services = _services({})
    assert {"index", "web", "bot", "wecom", "dingtalk", "feishu"} <= set(services)


def test_compose_asks_for_no_variable_as_required():
    """A `${VAR:?}` makes Compose stop before it starts any service, even one that does not use it."""
    required = [m.group(0) for m in _variables() if m["op"] in (":?", "?")]
    assert required == []


def test_no_variable_defaults_to_empty():
    """podman-compose 1.0 (Debian 12) reads `${VAR:-}` as no variable at all and hands the
    service the text "${VAR:-}" as the value; a setting with no value passes VAR on when set."""
    empty = [m.group(0) for m in _variables() if m["op"] and not m["arg"]]
    assert empty == []


def test_the_interpolation_reader_catches_a_required_variable():
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN"):
        _interpolate("token: ${TELEGRAM_BOT_TOKEN:?set it}", {})
    assert _interpolate("a: ${A:-x} b: ${B-y} c: ${C-y}", {"A": "", "C": ""}) == "a: x b: y c: "


def test_no_service_hides_behind_a_profile():
    """podman-compose runs a profiled service only with --profile; the README's steps use none."""
    assert [name for name, service in _services().items() if service.get("profiles")] == []


def test_every_service_runs_the_image_the_dockerfile_builds():
    services = _services()
    built = [(name, s) for name, s in services.items() if "build" in s]
    assert len(built) == 1, "one service builds the image, so `compose build` builds it once"
    name, service = built[0]
    assert (COMPOSE.parent / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == DOCKERFILE
    image = service["image"]
    assert {n: s.get("image") for n, s in services.items()} == {n: image for n in services}
    # the tag `make test-image` builds and checks is the one compose runs
    assert re.search(rf"^IMAGE={re.escape(image)}$", TEST_IMAGE.read_text(encoding="utf-8"), re.M)


def test_compose_passes_only_settings_the_application_reads():
    """A misspelt variable would be passed along and silently ignored by the service."""
    for name, service in _services().items():
        unknown = set(service.get("environment", {})) - set(ENV_FIELDS) - {"HEALTHCHECK_URL"}
        assert not unknown, f"{name}: {sorted(unknown)}"
    names = {m["name"] for m in _variables()}
    assert names - set(ENV_FIELDS) == _COMPOSE_ONLY


def test_each_http_service_has_its_health_url_on_its_own_port():
    services = _services()
    for name in ("web", "wecom", "feishu"):
        environment = services[name]["environment"]
        port = environment.get("BULLETIN_BOT_PORT") or re.search(r"--port', '?(\d+)", str(services[name]["command"]))[1]
        assert environment["HEALTHCHECK_URL"] == f"http://127.0.0.1:{port}/healthz", name
        assert any(str(p).endswith(f":{port}") for p in services[name]["ports"]), name


def test_dockerfile_pins_the_cpu_build_of_pyprojects_torch():
    pins = [d for d in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
            if d.startswith("torch")]
    assert len(pins) == 1 and pins[0].startswith("torch==")
    version = pins[0].removeprefix("torch==")
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(rf"^ARG TORCH_VERSION={re.escape(version)}\+cpu$", dockerfile, re.M)
    assert re.search(r"^ARG BASE_IMAGE=\S+\nFROM \$\{BASE_IMAGE\}$", dockerfile, re.M)
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "['optional-dependencies']['ocr']" in dockerfile


def _compose_tool() -> list[str] | None:
    if shutil.which("podman-compose"):
        return ["podman-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


def test_compose_config_with_no_secrets_set():
    """The installed Compose itself resolves the file in an environment with no settings."""
    tool = _compose_tool()
    if tool is None:
        pytest.skip("neither podman-compose nor docker compose is installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULLETIN_BOT_", "TELEGRAM_"))}
    result = subprocess.run([*tool, "-f", str(COMPOSE), "config"], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=120)
    if "invalid choice: 'config'" in result.stderr:
        # podman-compose 1.0 (Debian 12); its --dry-run still creates the project's network
        pytest.skip(f"{' '.join(tool)} has no config command")
    assert result.returncode == 0, result.stderr
    assert "bulletin-bot:latest" in result.stdout
    assert "${" not in result.stdout


@pytest.fixture
def health_server():
    """A stand-in service on 127.0.0.1 whose /healthz answers with the status the test sets."""
    import http.server
    import threading

    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(state["status"] if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/healthz"
    server.shutdown()
    server.server_close()


def _healthcheck(url: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "HEALTHCHECK_URL"}
    if url is not None:
        env["HEALTHCHECK_URL"] = url
    # a proxy set for outgoing calls must not be asked for the container's own loopback
    env.update(http_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "healthcheck.py")], env=env,
                          capture_output=True, timeout=60).returncode


def test_the_image_healthcheck_follows_the_services_healthz(health_server):
    state, url = health_server
    assert _healthcheck(url) == 0
    state["status"] = 503  # the web app before an index is there
    assert _healthcheck(url) == 1
    assert _healthcheck(url.rsplit(":", 1)[0] + ":9/healthz") == 1  # nothing listening
    assert _healthcheck(None) == 0 and _healthcheck("") == 0  # a service with no HTTP server


def test_compose_web_trusts_the_proxy_on_the_docker_bridge():
    """FINDINGS2 M3: the web service passed no BULLETIN_BOT_TRUSTED_PROXIES, and inside the
    container the host's proxy arrives from the bridge network, so every reader was one client."""
    import ipaddress

    from bulletin_bot.web.clients import parse_networks

    trusted = _services()["web"]["environment"].get("BULLETIN_BOT_TRUSTED_PROXIES")
    assert trusted, "the web service must name the proxy"
    networks = parse_networks(trusted.split(","))
    gateway = ipaddress.ip_address("172.17.0.1")  # docker0's gateway, where docker-proxy connects from
    assert any(gateway in network for network in networks)
    assert not any(ipaddress.ip_address("203.0.113.9") in network for network in networks)
