# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := tests/interop/node
# Jupyter refuses to run as root unless told to; CI and these machines run as root.
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --ServerApp.allow_root=True)

.PHONY: setup run test bench clean

setup: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json
	cd $(NODE_DIR) && npm install --no-audit --no-fund --silent
	touch $@

run: setup
	$(BIN)/tandem examples $(ROOT_FLAG)

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules
