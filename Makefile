# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := tests/interop/node
WEB_DIR := web
CHROMIUM ?= /usr/bin/chromium
# Jupyter refuses to run as root unless told to; CI and these machines run as root.
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --ServerApp.allow_root=True)

.PHONY: setup web browser run test bench clean

setup: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed web

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	touch $@

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json
	cd $(NODE_DIR) && npm install --no-audit --no-fund --silent
	touch $@

$(WEB_DIR)/node_modules/.installed: $(WEB_DIR)/package.json
	cd $(WEB_DIR) && npm install --no-audit --no-fund --silent
	touch $@

# The web app's bundle (tandem/static/, never committed).
web: $(WEB_DIR)/node_modules/.installed
	cd $(WEB_DIR) && node build.mjs

# Browser tests drive Debian's Chromium; install it when missing (needs root and apt).
browser:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium)

run: setup
	$(BIN)/tandem examples $(ROOT_FLAG)

test: setup browser
	cd $(WEB_DIR) && npm test --silent
	$(BIN)/python -m pytest --durations=15

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules $(WEB_DIR)/node_modules tandem/static
