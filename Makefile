# The two commands: `make demo` (install, index the shipped corpus, answer a question)
# and `make test` (install with test dependencies, run every fast test).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := chromium chromium-driver fonts-noto-cjk fonts-wqy-microhei tesseract-ocr tesseract-ocr-chi-sim
QUESTION ?= 泗洪县理论宣讲做法
# where `make install` builds the default model; the tests that need it are told so explicitly
MODEL_CACHE ?= $(or $(BULLETIN_BOT_CACHE),$(HOME)/.cache/bulletin_bot)
# where `make install-dev` puts milvus-lite 2.5's engine for the Milvus tests
MILVUS_LITE := $(CURDIR)/.milvus-lite

.PHONY: install install-dev sysdeps demo test test-slow test-image eval bench bench-load bench-parse fuzz clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch==2.13.0 is pinned in pyproject.toml; pip takes the CPU build only where the index offers
	# 2.13.0+cpu, else the CUDA one (GBs). For CPU anywhere: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
	# (README, "torch").
	$(BIN)/pip install -q -e .
	BULLETIN_BOT_CACHE=$(MODEL_CACHE) $(BIN)/bulletin-bot model build
	touch $@

install-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	# milvus-lite 2.5's engine for the Milvus tests, beside the environment (pyproject.toml, "milvus")
	$(BIN)/pip install -q --no-deps --upgrade --target $(MILVUS_LITE) 'milvus-lite==2.5.1'
	touch $@

# Debian packages the tests need: Chromium, its driver and a CJK font for the browser tests (and an
# embeddable TrueType CJK font, WenQuanYi Micro Hei, for the PDF layout fuzzer);
# tesseract with its simplified-Chinese model for the second OCR engine's test (OCR is optional at run
# time; the dev install brings RapidOCR, the engine preferred when both are there).
sysdeps:
	@if dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then echo "sysdeps: already installed"; \
	else SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $(APT_PACKAGES); fi

demo: install
	$(BIN)/bulletin-bot index --corpus corpus --index index
	$(BIN)/bulletin-bot ask --index index "$(QUESTION)"

test: install-dev sysdeps
	BULLETIN_BOT_TEST_CACHE=$(MODEL_CACHE) BULLETIN_BOT_TEST_MILVUS_LITE=$(MILVUS_LITE) $(BIN)/python -m pytest

test-slow: install-dev sysdeps
	CONTAINER_BASE=$(CONTAINER_BASE) BULLETIN_BOT_TEST_CACHE=$(MODEL_CACHE) BULLETIN_BOT_TEST_MILVUS_LITE=$(MILVUS_LITE) $(BIN)/python -m pytest -m slow

# The image built from deploy/Dockerfile and checked as an operator would use it
# (scripts/test_image.sh; tests/test_image.py runs it in test-slow). Where no container registry
# is reachable, ../shared/tools/container-base.sh (when there) brings podman and a base image made
# from Debian packages; BASE_IMAGE=... or CONTAINER_BASE= (empty) builds from a registry instead.
CONTAINER_BASE ?= $(if $(BASE_IMAGE),,$(wildcard ../shared/tools/container-base.sh))
test-image: install-dev
	CONTAINER_BASE=$(CONTAINER_BASE) PYTHON=$(BIN)/python bash scripts/test_image.sh

eval: install
	$(BIN)/python scripts/eval_dev.py

# the reader's vectors of the evaluation archive (make eval reads them once, an hour) spare the
# benchmark that hour when it times questions with every stage
READER_CACHE := .cache/eval/index-default-full/cache/vectors.sqlite
bench: install-dev
	$(BIN)/python benchmarks/bench.py $(if $(wildcard $(READER_CACHE)),--reader-cache $(READER_CACHE))

# Load with a re-index of the whole shared corpus running (docs/BENCHMARKS.md, "Load"):
# 1,000 questions from 50 Telegram users, then 200 web clients on /api/ask for a minute (wrk,
# from Debian). Both need ../shared and the built default model.
bench-load: install-dev
	@command -v wrk >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends wrk; }
	BULLETIN_BOT_CACHE=$(MODEL_CACHE) $(BIN)/python benchmarks/load_bot.py --json /tmp/load-bot.json
	BULLETIN_BOT_CACHE=$(MODEL_CACHE) $(BIN)/python benchmarks/load_web.py --json /tmp/load-web.json

# What parsing in worker processes costs against parsing in-process (825 shared issues).
bench-parse: install-dev
	$(BIN)/python benchmarks/parse_sandbox.py

# Coverage-guided fuzzing of parse_bytes (.txt/.docx/.pdf) with atheris, FUZZ_SECONDS long;
# inputs that make it raise anything but ParseError land in $(FUZZ_OUT)/findings.
FUZZ_SECONDS ?= 600
FUZZ_OUT ?= /tmp/fuzz-parse
fuzz: install-dev
	$(BIN)/python benchmarks/fuzz_parse.py --seconds $(FUZZ_SECONDS) --out $(FUZZ_OUT)

clean:
	rm -rf $(VENV) $(MILVUS_LITE) build dist src/*.egg-info
