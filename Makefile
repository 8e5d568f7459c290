# Two commands on a fresh machine with Python 3.11+ and make:
#   make run    set up, upgrade the database, seed demo data when empty, serve on 127.0.0.1:$(PORT)
#   make test   the same set-up, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
FLASK  := $(BIN)/flask --app wsgi
PO     := $(wildcard marketplace/translations/*/LC_MESSAGES/messages.po)
MO     := $(PO:.po=.mo)

.PHONY: run test lint format lock bench setup setup-dev translations db clean help

help:
	@echo "make run    serve the app on http://127.0.0.1:$(PORT) (set PORT to change)"
	@echo "make test   run the whole test suite (TEST_DATABASE_URL=postgresql://... for PostgreSQL)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version 2>&1))."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "Could not create a virtual environment. On Debian/Ubuntu: sudo apt-get install python3-venv"; exit 1; }

# Locked, hashed dependencies (pip refuses anything whose hash differs); the PDF font comes with them.
$(VENV)/.runtime: $(BIN)/python requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	@touch $@

%.mo: %.po $(VENV)/.runtime
	$(BIN)/pybabel --quiet compile -i $< -o $@

translations: $(MO)

setup: $(VENV)/.runtime translations
setup-dev: $(VENV)/.dev translations

db: setup
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty

# The job runner (heavy work such as publishing a notice batch) starts beside the web server and
# stops with it.
run: db
	@echo "Serving on http://127.0.0.1:$(PORT), with the job runner beside it — stop both with Ctrl-C"
	@$(BIN)/huey_consumer jobs_runner.huey --workers 1 --max-delay 1 --quiet & runner=$$!; \
	  trap 'kill $$runner 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port $(PORT)

# The suite in parallel, one worker per CPU, a test file at a time (longest first, see tests/conftest.py).
test: setup-dev
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

bench: setup-dev
	$(BIN)/python bench/run.py
	$(BIN)/python bench/notice_pdf.py
	$(BIN)/python bench/draw.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/search_backends.py --agencies 50000 --backends database

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff check --fix --select I .
	$(BIN)/ruff format .

# Re-pin every dependency from pyproject.toml, with hashes (run after changing a dependency there).
lock: setup-dev
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
	  -o requirements.txt pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
	  --allow-unsafe --extra dev -c requirements.txt -o requirements-dev.txt pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache test-output
	find marketplace/translations -name '*.mo' -delete
