# nbflow developer tasks. `make lab` and `make test` are all a person needs:
# each installs what it needs into .venv first, quickly when already done.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
VPIP   := $(VENV)/bin/pip

# Extra arguments: make test PYTEST_ARGS="-k foo -x", make lab LAB_ARGS="--no-browser",
# make bench BENCH_ARGS="--quick".
PYTEST_ARGS ?=
LAB_ARGS    ?=
BENCH_ARGS  ?=
# Set to 1 to treat "pytest collected no tests" (exit 5) as success.
ALLOW_NO_TESTS ?=

INSTALL_STAMP := $(VENV)/.nbflow-install.stamp
BENCH_STAMP   := $(VENV)/.nbflow-bench.stamp
WHEEL_STAMP   := dist/.nbflow-wheel.stamp

# Front end: only when labextension/package.json exists.
LABEXT       := labextension
HAVE_LABEXT  := $(wildcard $(LABEXT)/package.json)
NPM_STAMP    := $(LABEXT)/node_modules/.nbflow-npm.stamp
JS_STAMP     := $(LABEXT)/.nbflow-build.stamp
JS_SOURCES    = $(wildcard $(LABEXT)/package.json $(LABEXT)/package-lock.json \
                  $(LABEXT)/tsconfig*.json $(LABEXT)/*.config.js $(LABEXT)/*.config.mjs \
                  $(LABEXT)/*.config.cjs $(LABEXT)/*.config.ts) \
                $(shell find $(LABEXT)/src $(LABEXT)/style $(LABEXT)/schema -type f 2>/dev/null)

# Playwright (the browser tests in tests/browser/) drives Debian's Chromium at
# /usr/bin/chromium and must never download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD ?= 1

# The tutorials, listed in notebooks/tutorials.txt: executed by `make notebooks`,
# checked by pytest --nbval, rendered by `make docs`.
TUTORIALS = $(addprefix notebooks/,$(shell grep -v '^[[:space:]]*\(#\|$$\)' notebooks/tutorials.txt))

# --allow-root only when running as root.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: all venv install js test lab notebooks docs bench bench-long clean compat wheel wheel-check stress-test faults FORCE

FORCE:

all: test

# ---------------------------------------------------------------- python env

venv: $(VPY)

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPIP) install --upgrade pip

install: $(INSTALL_STAMP)

# SKIP_JUPYTER_BUILDER: the wheel's npm hook is for `pip install .`/wheels; here `make js` builds.
# pip installs the extension's files into .venv/share/jupyter/labextensions/nbflow: when that is `make js`'s
# link to nbflow/labextension, pip would write install.json through it into the source tree (and the next
# install then fails on a duplicate file), so the link goes first; `make js` puts it back.
LABEXT_LINK := $(VENV)/share/jupyter/labextensions/nbflow
$(INSTALL_STAMP): pyproject.toml | $(VPY)
	@if [ -L $(LABEXT_LINK) ]; then rm $(LABEXT_LINK); fi
	rm -f nbflow/labextension/install.json
	SKIP_JUPYTER_BUILDER=1 $(VPIP) install -e '.[test]'
	@touch $@

# ---------------------------------------------------------------- front end

ifneq ($(HAVE_LABEXT),)
js: $(JS_STAMP)

$(NPM_STAMP): $(LABEXT)/package.json $(wildcard $(LABEXT)/package-lock.json)
	cd $(LABEXT) && (npm ci || npm install)
	@mkdir -p $(@D) && touch $@

# The build may call `jupyter labextension build`, so the venv comes first on PATH.
# It builds the widgets' bundle (nbflow/notebook/static/widget.js, widget.css, build.json) and the prebuilt
# JupyterLab extension (nbflow/labextension), which is then linked into .venv (as `jupyter labextension
# develop` would), so `make lab` loads it. Neither is in git: a missing output rebuilds even when the stamp
# is newer than the sources (a fresh clone, or a checkout from before they left git).
JS_OUTPUTS := nbflow/notebook/static/widget.js nbflow/notebook/static/widget.css nbflow/notebook/static/build.json \
              nbflow/labextension/package.json
JS_MISSING := $(filter-out $(wildcard $(JS_OUTPUTS)),$(JS_OUTPUTS))
$(JS_STAMP): $(NPM_STAMP) $(JS_SOURCES) $(INSTALL_STAMP) $(if $(JS_MISSING),FORCE)
	cd $(LABEXT) && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npm run build
	rm -rf $(LABEXT_LINK) && mkdir -p $(dir $(LABEXT_LINK)) && ln -s $(CURDIR)/nbflow/labextension $(LABEXT_LINK)
	@touch $@
else
js:
	@echo "make js: no $(LABEXT)/package.json yet; nothing to build"
endif

# ---------------------------------------------------------------- commands

# The wheel tests (tests/browser/test_wheel_install.py) run on dist/, rebuilt when a source changed;
# `make test WHEEL=0` leaves them out (they are skipped) for a quicker run while editing.
WHEEL ?= 1
ifeq ($(WHEEL),1)
TEST_WHEEL := $(WHEEL_STAMP)
TEST_ENV   := NBFLOW_WHEEL_DIST=$(CURDIR)/dist
endif

test: install js $(TEST_WHEEL)
	@rc=0; $(TEST_ENV) $(VPY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ] && [ -n "$(ALLOW_NO_TESTS)" ]; then \
	  echo "make test: pytest collected no tests (allowed by ALLOW_NO_TESTS)"; rc=0; \
	fi; \
	exit $$rc

# `make stress-test`: the whole suite STRESS_RUNS times in a row while stress-ng keeps every CPU busy
# (apt-get install stress-ng), so no test depends on an idle machine. Each run's result and duration
# go to test-artifacts/stress-test.txt; it exits non-zero if any run failed. STRESS_ARGS go to pytest.
STRESS_RUNS ?= 3
STRESS_ARGS ?= --ignore=tests/browser -k 'not wheel'
stress-test: install js
	@command -v stress-ng >/dev/null || { echo "make stress-test: needs stress-ng (apt-get install stress-ng)"; exit 2; }
	@mkdir -p test-artifacts; : > test-artifacts/stress-test.txt; \
	stress-ng --cpu $$(nproc) --timeout 6h >/dev/null 2>&1 & load=$$!; rc=0; \
	for i in $$(seq $(STRESS_RUNS)); do \
	  start=$$(date +%s); \
	  if $(VPY) -m pytest -p no:cacheprovider $(STRESS_ARGS); then r=passed; else r=failed; rc=1; fi; \
	  echo "run $$i: $$r in $$(( $$(date +%s) - start )) s" | tee -a test-artifacts/stress-test.txt; \
	done; kill $$load; wait $$load 2>/dev/null; cat test-artifacts/stress-test.txt; exit $$rc

# `make faults`: the fault suite alone (tests/faults/; `make test` runs it too).
faults: install
	$(VPY) -m pytest -p no:cacheprovider -q -rs tests/faults

# ---------------------------------------------------------------- the wheel

# `make wheel`: dist/nbflow-<version>-py3-none-any.whl and dist/nbflow-<version>.tar.gz, built as a
# release is (tests/build_dist.py): from a clean copy of the tree in build/wheel-src, by `python -m build`,
# the Jupyter builder hook running the Node build there. Needs Node and npm; installing the wheel does not.
wheel: $(WHEEL_STAMP)

$(WHEEL_STAMP): $(INSTALL_STAMP) $(JS_SOURCES) $(shell find nbflow -name '*.py' -o -name '*.json' 2>/dev/null) install.json
	$(VPY) tests/build_dist.py --out dist --work build/wheel-src
	@touch $@

# `make wheel-check` (.ci/run runs it): that wheel installed into a brand-new venv under pytest's tmp
# dir as a user would (no Node on PATH), then checked there and in a real JupyterLab started from that
# venv (tests/browser/test_wheel_install.py; `make test` runs them too, unless WHEEL=0).
wheel-check: $(WHEEL_STAMP)
	NBFLOW_WHEEL_DIST=$(CURDIR)/dist $(VPY) -m pytest -p no:cacheprovider -rs tests/browser/test_wheel_install.py
	@echo 'make wheel-check: measured (test-artifacts/wheel-check.json):' && cat test-artifacts/wheel-check.json

# LangGraph 1.2.22's own Functional-API tests against nbflow (tests/compat/harness.py;
# `make test` runs them too, via tests/compat/test_compat.py). COMPAT_ARGS go to pytest.
COMPAT_ARGS ?=
compat: install
	$(VPY) tests/compat/harness.py $(COMPAT_ARGS)

lab: install js
	@mkdir -p notebooks
	env -u NBFLOW_CHECKPOINTER $(VENV)/bin/jupyter lab notebooks/ $(ALLOW_ROOT) $(LAB_ARGS)

# Re-execute the tutorials in place, saving fresh outputs (what `make test`
# compares them with through pytest --nbval).
notebooks: install js
	$(VPY) tests/refresh_notebooks.py $(TUTORIALS)

# Render the tutorials (with their saved outputs) and the README into a static
# HTML site in docs/_site/ (gitignored); open docs/_site/index.html.
docs: install
	$(VPY) docs/build.py --out docs/_site

$(BENCH_STAMP): pyproject.toml | $(VPY)
	$(VPIP) install -e '.[bench]'
	@touch $@

# Every benchmark, in one run: against LangGraph (run.py), the notebook layer (notebook_bench.py)
# and tasks on a local Dask cluster (dask_bench.py). BENCH_ARGS go to run.py.
# The figures also go to bench/results/<commit>.json (BENCH_JSON=path to choose); compare two runs with
# `python bench/compare.py OLD.json NEW.json`.
BENCH_JSON ?= bench/results/$(shell git rev-parse --short HEAD 2>/dev/null || echo worktree)$(shell git diff --quiet 2>/dev/null || echo -dirty).json
bench: $(BENCH_STAMP)
	@mkdir -p $(dir $(BENCH_JSON))
	$(VPY) bench/run.py --json $(BENCH_JSON) $(BENCH_ARGS)
	$(VPY) bench/notebook_bench.py
	NBFLOW_BROWSER_BENCH=1 $(VPY) -m pytest -q -p no:cacheprovider tests/browser/test_lab_bench.py
	$(VPY) bench/dask_bench.py

# A 1,000-turn chat, nbflow against LangGraph: size on disk, time per turn, reading it back
# (bench/long_thread.py; several minutes, LangGraph's turns grow slower). LONG_ARGS go to it.
LONG_ARGS ?=
bench-long: $(BENCH_STAMP)
	@mkdir -p bench/results
	$(VPY) bench/long_thread.py --json bench/results/long-thread-$(shell git rev-parse --short HEAD 2>/dev/null || echo worktree).json $(LONG_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info docs/_site
	rm -rf $(JS_STAMP) $(LABEXT)/node_modules $(LABEXT)/lib $(LABEXT)/tsconfig.tsbuildinfo nbflow/labextension
	rm -f nbflow/notebook/static/widget.js nbflow/notebook/static/widget.css nbflow/notebook/static/build.json
	find . -path ./$(LABEXT)/node_modules -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
