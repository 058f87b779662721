"""`make test-image` under pytest (`make test-slow`): the image from deploy/Dockerfile built and
checked as an operator would use it (scripts/test_image.sh says each step). Slow: a first build
takes about 8 minutes on 2 cores."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# what the Makefile's test-image uses where no container registry is reachable
SHARED_BASE = ROOT.parent / "shared" / "tools" / "container-base.sh"


def _container_base() -> str:
    """CONTAINER_BASE as `make test-image` sets it: the shared script when there, unless told otherwise."""
    if "CONTAINER_BASE" in os.environ or os.environ.get("BASE_IMAGE"):
        return os.environ.get("CONTAINER_BASE", "")
    return str(SHARED_BASE) if SHARED_BASE.is_file() else ""


def _engine_missing() -> str | None:
    """Why the image cannot be built here, or None."""
    if _container_base():
        if os.geteuid() != 0 and not shutil.which("podman"):
            return "CONTAINER_BASE installs podman with apt-get, which needs root"
        return None  # the script named there brings podman and a base image
    if shutil.which("podman"):
        return None if shutil.which("podman-compose") else "podman is installed but podman-compose is not"
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
            return "docker is running but Docker Compose v2 (docker compose) is not installed"
        return None
    return "no container engine: neither podman nor a running docker, and CONTAINER_BASE is not set"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_the_image_builds_answers_offline_and_serves_health():
    missing = _engine_missing()
    if missing:
        pytest.skip(missing)
    env = dict(os.environ, PYTHON=sys.executable, CONTAINER_BASE=_container_base())
    result = subprocess.run(["bash", str(ROOT / "scripts" / "test_image.sh")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=3500)
    print(result.stdout[-4000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "test-image: all checks passed" in result.stdout
