# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := tests/interop/node
HUB_NODE_DIR := tests/hub/node
WEB_DIR := web
LAB_DIR := labextension
# The venv's JupyterLab finds the extension here (a link to the build in tandem/labextension).
LAB_LINK := $(VENV)/share/jupyter/labextensions/@jupyter-tandem/labextension
CHROMIUM ?= /usr/bin/chromium
# pytest-xdist workers for `make test`: 3 (the default) runs whole modules in three
# processes (on two cores: tests wait on servers and browsers, a third worker fills the
# gaps); `make test TEST_WORKERS=0` runs every test in one process, the way to debug.
TEST_WORKERS ?= 3
# Jupyter refuses to run as root unless told to; CI and these machines run as root.
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --ServerApp.allow_root=True)

.PHONY: setup web labextension browser run check test test-hub55 bench clean

setup: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed $(HUB_NODE_DIR)/node_modules/.installed web labextension

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	touch $@

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json
	cd $(NODE_DIR) && npm install --no-audit --no-fund --silent
	touch $@

# configurable-http-proxy, for the tests that run Tandem on a real JupyterHub.
$(HUB_NODE_DIR)/node_modules/.installed: $(HUB_NODE_DIR)/package.json
	cd $(HUB_NODE_DIR) && npm install --no-audit --no-fund --silent
	touch $@

$(WEB_DIR)/node_modules/.installed: $(WEB_DIR)/package.json
	cd $(WEB_DIR) && npm install --no-audit --no-fund --silent
	touch $@

# The web app's bundle (tandem/static/, never committed).
web: $(WEB_DIR)/node_modules/.installed
	cd $(WEB_DIR) && node build.mjs

$(LAB_DIR)/node_modules/.installed: $(LAB_DIR)/package.json
	cd $(LAB_DIR) && npm install --no-audit --no-fund --silent
	touch $@

# The JupyterLab extension (tandem/labextension/, never committed): a development build,
# linked into the venv's JupyterLab. Wheels carry a production build (hatch_build.py).
labextension: $(VENV)/.installed $(LAB_DIR)/node_modules/.installed
	cd $(LAB_DIR) && node_modules/.bin/tsc && node node_modules/@jupyterlab/builder/lib/build-labextension.js \
		--development --core-path "$$($(abspath $(BIN))/python -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')" .
	mkdir -p $(dir $(LAB_LINK)) && ln -sfn $(abspath tandem/labextension) $(LAB_LINK)

# Browser tests drive Debian's Chromium; install it when missing (needs root and apt).
browser:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium)

run: setup
	$(BIN)/tandem examples $(ROOT_FLAG)

# Gates that are nearly free: lint, format, types (Python and the web app's TypeScript).
check: $(VENV)/.installed $(WEB_DIR)/node_modules/.installed
	$(BIN)/ruff check tandem tests bench hatch_build.py
	$(BIN)/ruff format --check tandem tests bench hatch_build.py
	$(BIN)/mypy
	cd $(WEB_DIR) && npx tsc --noEmit -p .

test: setup browser check
	cd $(WEB_DIR) && npm test --silent
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

# Opt-in, not part of `make test`: the hub tests (tests/hub/) on JupyterHub 5.5 too, from
# a second venv (the hub harness runs the hub and single-user binaries of the venv whose
# Python runs pytest). `make test` runs them on the JupyterHub of .venv (6.x).
HUB55_VENV := .venv-hub55
HUB55_JUPYTERHUB ?= jupyterhub==5.5.4
$(HUB55_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(HUB55_VENV)
	$(HUB55_VENV)/bin/python -m pip install --quiet -e ".[test,lab]" "$(HUB55_JUPYTERHUB)"
	touch $@

test-hub55: setup $(HUB55_VENV)/.installed
	mkdir -p $(HUB55_VENV)/share/jupyter/labextensions/@jupyter-tandem/
	ln -sfn $(abspath tandem/labextension) $(HUB55_VENV)/share/jupyter/labextensions/@jupyter-tandem/labextension
	$(HUB55_VENV)/bin/python -m pytest tests/hub -q

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(HUB55_VENV) $(NODE_DIR)/node_modules $(HUB_NODE_DIR)/node_modules $(WEB_DIR)/node_modules tandem/static \
		$(LAB_DIR)/node_modules $(LAB_DIR)/lib $(LAB_DIR)/tsconfig.tsbuildinfo tandem/labextension
