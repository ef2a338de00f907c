# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint install install-dev migrate check clean bench

$(PY):
	$(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamp files keep repeated runs quick: pip runs again only when a requirements file changes.
$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py sweep_calls --all -v0
	$(PY) manage.py collectstatic --noinput -v0
	@echo "Open http://localhost:$(PORT)/ (a name, not 127.0.0.1: browsers refuse security keys at an IP address)"
	@# The server and one task worker (Procfile.dev), their outputs interleaved; Ctrl-C stops both.
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HOST=$(HOST) PORT=$(PORT) PYTHONUNBUFFERED=1 \
		$(VENV)/bin/honcho start -f Procfile.dev --no-colour

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

# `ruff check` with ruff.toml's rules (CI runs it before the tests). `make lint RUFF_ARGS=--fix`
# applies the safe fixes.
RUFF_ARGS ?=
lint: install-dev
	$(VENV)/bin/ruff check $(RUFF_ARGS) .

check: install
	$(PY) manage.py check

# Benchmarks (issue 6; not part of `make test`): needs PostgreSQL and Redis on 127.0.0.1, installs
# nginx if missing; about 10 minutes on 2 cores. Results in bench/results/, docs/performance.md.
# Options go through BENCH_ARGS, e.g. make bench BENCH_ARGS="--quick" (see bench/run.py --help).
bench: install
	$(PY) -m pip install -q -r bench/requirements.txt
	bash bench/setup.sh
	$(PY) manage.py collectstatic --noinput -v0
	ulimit -n $$(ulimit -Hn) && $(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/micro_upload.py --json bench/results/upload.json
	$(PY) bench/micro_api.py --json bench/results/api-sqlite.json

clean:
	rm -rf $(VENV) staticfiles
