#!/usr/bin/env bash
# Build the image from deploy/Dockerfile and check it as an operator would (`make test-image`):
#   1. build (BASE_IMAGE and TORCH_INDEX_URL from the environment when set);
#   2. with networking off: runs as 10001:10001, indexes the shipped corpus, answers the README's
#      question with its citation, reads a scanned PDF by OCR;
#   3. from deploy/compose.yaml, with no channel secrets set: `run --rm index bulletin-bot ask`,
#      a channel without its settings stops with the one line naming them, and `up -d web feishu`
#      answers /healthz on both (and the image's HEALTHCHECK passes);
#   4. prints the image size (at most 2 GB) and each stage's time.
#
# Engine: podman with podman-compose, else docker with `docker compose`.
# On a machine with no container registry, set CONTAINER_BASE to ../shared/tools/container-base.sh
# (the Makefile does when that file exists): it is sourced for podman, a base image made from
# Debian packages and the build arguments that hand pip's settings to the build.
# CONTAINER_WORK: where podman keeps its storage then (default: a new temporary folder, removed
# at the end; give a folder to keep the layers for the next run).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=bulletin-bot:latest
QUESTION=泗洪县理论宣讲做法
CITATION=第455期
MAX_BYTES=2000000000
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3

declare -a STAGES=()
stage_start=0
begin() { stage_start=$(date +%s.%N); echo "== $1"; STAGES+=("$1"); }
end() { local t; t=$(awk -v a="$stage_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'); STAGES[-1]="${STAGES[-1]}|$t"; }
fail() { echo "test-image: FAILED: $*" >&2; exit 1; }

# ------------------------------------------------------------------ engine
declare -a BUILD_ARGS=()
own_work=""
if [ -n "${CONTAINER_BASE:-}" ]; then
  begin "container tools and base image ($CONTAINER_BASE)"
  [ -n "${CONTAINER_WORK:-}" ] || { CONTAINER_WORK=$(mktemp -d); own_work=1; }
  # shellcheck source=/dev/null
  source "$CONTAINER_BASE" "$CONTAINER_WORK" || fail "$CONTAINER_BASE did not set up podman"
  set -euo pipefail  # the sourced script sets only -u
  BUILD_ARGS=("${PODMAN_BUILD_ARGS[@]}")
  if ! command -v podman-compose >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends podman-compose >/dev/null \
      || fail "cannot install podman-compose"
  fi
  end
fi
if command -v podman >/dev/null; then
  ENGINE=podman
  COMPOSE=(podman-compose)
  command -v podman-compose >/dev/null || fail "podman is here but podman-compose is not (apt-get install podman-compose)"
  # the Docker image format: OCI images drop HEALTHCHECK
  BUILD_ARGS+=(--format docker)
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  ENGINE=docker
  COMPOSE=(docker compose)
  docker compose version >/dev/null 2>&1 || fail "docker is here but Docker Compose v2 (docker compose) is not"
else
  fail "neither podman nor a running docker engine"
fi
# BASE_IMAGE from the environment wins over the shared script's
[ -n "${BASE_IMAGE:-}" ] && BUILD_ARGS+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
# set but empty: only pip's own index and find-links (see the Dockerfile)
[ -n "${TORCH_INDEX_URL+set}" ] && BUILD_ARGS+=(--build-arg "TORCH_INDEX_URL=$TORCH_INDEX_URL")
if [ -n "${CONTAINER_BASE:-}" ] && [ -z "${TORCH_INDEX_URL+set}" ]; then
  # no registry here, and no index but PyPI: the CPU wheel comes from pip's find-links
  BUILD_ARGS+=(--build-arg "TORCH_INDEX_URL=")
fi

WORK=$(mktemp -d)
PROJECT=bulletin-bot-test-$$
cleanup() {
  set +e
  [ -n "${compose_up:-}" ] && "${COMPOSE[@]}" -p "$PROJECT" -f deploy/compose.yaml down >/dev/null 2>&1
  # podman-compose makes the project's network, and podman keeps networks outside its storage
  [ "${ENGINE:-}" = podman ] && podman network rm -f "${PROJECT}_default" >/dev/null 2>&1
  rm -rf "$WORK"
  if [ -n "$own_work" ]; then container_clean; fi
}
trap cleanup EXIT

# ------------------------------------------------------------------ build
begin "build $IMAGE with $ENGINE"
"$ENGINE" build "${BUILD_ARGS[@]}" -f deploy/Dockerfile -t "$IMAGE" . > "$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log"; fail "the build failed (log above)"; }
end
size=$("$ENGINE" image inspect --format '{{.Size}}' "$IMAGE")
echo "image size: $size bytes ($(awk -v s="$size" 'BEGIN{printf "%.2f GB", s/1e9}'))"
[ "$size" -le "$MAX_BYTES" ] || fail "the image is larger than 2 GB"

# ------------------------------------------------------------------ offline checks
mkdir -p "$WORK/corpus" "$WORK/index" "$WORK/scan"
cp corpus/*.txt "$WORK/corpus/"
# whatever uid the engine maps 10001 to must be able to write the index and read the rest
chmod 0777 "$WORK/index"
chmod -R a+rX "$WORK"
# (--no-healthcheck: these one-off runs serve nothing, and podman without systemd cannot time checks)
offline() { "$ENGINE" run --rm --network=none --no-healthcheck -v "$WORK/corpus:/data/corpus:ro" -v "$WORK/index:/data/index" \
              -v "$WORK/scan:/scan:ro" "$IMAGE" "$@"; }

begin "user"
who=$(offline sh -c 'echo "$(id -u):$(id -g)"')
echo "runs as $who"
[ "$who" = "10001:10001" ] || fail "the container runs as $who, not 10001:10001"
end

begin "index the shipped corpus (network off)"
offline bulletin-bot index -q || fail "bulletin-bot index failed"
end

begin "ask $QUESTION (network off)"
offline bulletin-bot ask "$QUESTION" > "$WORK/answer.txt" || { cat "$WORK/answer.txt"; fail "ask failed"; }
head -5 "$WORK/answer.txt"
grep -q "$CITATION" "$WORK/answer.txt" || fail "the answer does not cite $CITATION"
end

begin "read a scanned PDF by OCR (network off)"
# the first page of the shipped bulletin typeset as a PDF, rendered to an image and put back
# in a PDF with no text layer (the tests' own builder)
"$PYTHON" - "$WORK/scan/scan.pdf" <<'EOF' || fail "cannot make the scanned PDF (needs the dev extra: reportlab, pypdfium2)"
import sys
from pathlib import Path
sys.path.insert(0, "tests")
import office_files as of
from bulletin_bot.parsing import read_issue
seed = Path("corpus/455.txt")
pdf = of.to_pdf(of.from_issue(read_issue(seed), seed.read_text(encoding="utf-8")))
Path(sys.argv[1]).write_bytes(of.to_scan(pdf, dpi=300, pages=1))
EOF
chmod a+r "$WORK/scan/scan.pdf"
offline bulletin-bot parse --json /scan/scan.pdf > "$WORK/scan.json" || { cat "$WORK/scan.json"; fail "parse of the scan failed"; }
"$PYTHON" - "$WORK/scan.json" <<'EOF' || fail "the scan was not read by OCR"
import json, sys
issue = json.loads(open(sys.argv[1], encoding="utf-8").readline())
print(f"scan read: issue {issue['issue']}, {issue['date']}, {len(issue['articles'])} article(s), "
      f"first title {issue['articles'][0]['title'] if issue['articles'] else None!r}")
assert (issue["issue"], issue["date"]) == (455, "2023-12-10"), issue
EOF
end

# ------------------------------------------------------------------ compose, no secrets set
for name in $(env | sed -n 's/^\(TELEGRAM_[A-Z_]*\|BULLETIN_BOT_[A-Z_]*\)=.*/\1/p'); do unset "$name"; done
export CORPUS_DIR=$WORK/corpus INDEX_DIR=$WORK/index
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export WEB_HOST_PORT=$(free_port) FEISHU_HOST_PORT=$(free_port)
compose() { "${COMPOSE[@]}" -p "$PROJECT" -f deploy/compose.yaml "$@"; }

begin "compose: run --rm --no-deps index bulletin-bot ask (no secrets set)"
compose run -T --rm --no-deps index bulletin-bot ask "$QUESTION" > "$WORK/compose-answer.txt" 2>"$WORK/compose.err" \
  || { cat "$WORK/compose.err"; fail "compose run --rm index failed"; }
grep -q "$CITATION" "$WORK/compose-answer.txt" || { cat "$WORK/compose-answer.txt"; fail "no $CITATION through compose"; }
end

begin "compose: a channel without its settings stops with one line"
# (podman-compose 1.0 exits 0 whatever the container did: the line is what is checked)
compose run -T --rm --no-deps wecom > "$WORK/wecom.out" 2>&1 || true
grep "bulletin-bot: error:" "$WORK/wecom.out" || { cat "$WORK/wecom.out"; fail "no one-line error"; }
grep -q "BULLETIN_BOT_WECOM_CORP_ID" "$WORK/wecom.out" || fail "the error does not name BULLETIN_BOT_WECOM_CORP_ID"
end

begin "compose: up -d web feishu, /healthz"
compose_up=1
BULLETIN_BOT_FEISHU_APP_ID=cli_test BULLETIN_BOT_FEISHU_APP_SECRET=test BULLETIN_BOT_FEISHU_VERIFICATION_TOKEN=test \
  compose up -d web feishu > "$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "compose up failed"; }
for service_port in "web:$WEB_HOST_PORT" "feishu:$FEISHU_HOST_PORT"; do
  service=${service_port%%:*} port=${service_port#*:} ok=""
  for _ in $(seq 120); do
    if body=$(curl -fsS --noproxy '*' "http://127.0.0.1:$port/healthz" 2>/dev/null); then ok=1; break; fi
    sleep 1
  done
  [ -n "$ok" ] || { compose logs "$service" 2>&1 | tail -20; fail "$service: no 200 from /healthz on port $port"; }
  echo "$service /healthz: $body"
  container=$("$ENGINE" ps -q --filter "label=com.docker.compose.project=$PROJECT" \
              --filter "label=com.docker.compose.service=$service" | head -1)
  [ -n "$container" ] || fail "$service: no running container"
  "$ENGINE" exec "$container" python3 /opt/bulletin-bot/healthcheck.py || fail "$service: the HEALTHCHECK command fails"
  echo "$service HEALTHCHECK: healthy"
done
compose down > /dev/null 2>&1; compose_up=""
end

# ------------------------------------------------------------------ summary
echo
echo "image $IMAGE ($ENGINE): $size bytes ($(awk -v s="$size" 'BEGIN{printf "%.2f GB", s/1e9}'))"
for s in "${STAGES[@]}"; do printf '%8s s  %s\n' "${s##*|}" "${s%|*}"; done
echo "test-image: all checks passed"
