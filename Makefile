# The two commands: `make demo` (install, index the shipped corpus, answer a question)
# and `make test` (install with test dependencies, run every fast test).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := chromium chromium-driver fonts-noto-cjk tesseract-ocr tesseract-ocr-chi-sim
QUESTION ?= 泗洪县理论宣讲做法

.PHONY: install install-dev sysdeps demo test test-slow eval bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch==2.13.0 is pinned in pyproject.toml so pip takes the CPU build, not CUDA.
	$(BIN)/pip install -q -e .
	$(BIN)/bulletin-bot model build
	touch $@

install-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Debian packages the tests need: Chromium, its driver and a CJK font for the browser tests;
# tesseract with its simplified-Chinese model for the OCR test (OCR is optional at run time).
sysdeps:
	@if dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then echo "sysdeps: already installed"; \
	else SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $(APT_PACKAGES); fi

demo: install
	$(BIN)/bulletin-bot index --corpus corpus --index index
	$(BIN)/bulletin-bot ask --index index "$(QUESTION)"

test: install-dev sysdeps
	$(BIN)/python -m pytest

test-slow: install-dev sysdeps
	$(BIN)/python -m pytest -m slow

eval: install
	$(BIN)/python scripts/eval_dev.py

bench: install-dev
	$(BIN)/bulletin-bot bench

clean:
	rm -rf $(VENV) build dist src/*.egg-info
