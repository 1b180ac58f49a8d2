# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1:8000
# Test processes (pytest-xdist): one per core; TEST_WORKERS=0 runs the suite in one.
TEST_WORKERS ?= auto

# Debian packages: Pango for WeasyPrint, HarfBuzz subsetting (about 2.6 times
# faster PDF rendering than the fontTools fallback), DejaVu fonts for the PDF.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
# Debian's Chromium for the browser tests (tests/e2e), which Playwright drives.
TEST_PACKAGES := chromium

# Without these WeasyPrint cannot run at all.
REQUIRED ?= libpango-1.0-0 libpangoft2-1.0-0

.PHONY: run serve worker test lint system-deps install clean

run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py demo_seal
	$(PY) manage.py load_demo
	@# The task worker (archival PDFs, e-mails) beside the development server; stopped with it.
	$(PY) manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST)

# Production-like: gunicorn on PostgreSQL, DEBUG off. Needs DATABASE_URL=postgres://…,
# DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS (see README.md, "Running in production").
WORKERS ?= 3
BIND ?= 127.0.0.1:8000
serve: install
	@case "$$DATABASE_URL" in postgres://*|postgresql://*) ;; \
	  *) echo "make serve runs on PostgreSQL: set DATABASE_URL=postgres://..."; exit 1;; esac
	@test -n "$$DJANGO_SECRET_KEY" || { echo "set DJANGO_SECRET_KEY"; exit 1; }
	DJANGO_DEBUG=false $(PY) manage.py migrate --no-input
	DJANGO_DEBUG=false $(PY) manage.py collectstatic --no-input -v0
	@# The task worker runs as a process of its own (`make worker`; more of them, on other
	@# machines too, may share the database); here beside gunicorn, stopped with it.
	@# --max-requests: each PDF render grows a worker's memory by about 1.3 MB per 100
	@# outside Python's objects, so a worker is replaced after 500 requests; the jitter
	@# keeps the workers from all restarting at once.
	DJANGO_DEBUG=false $(PY) manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	DJANGO_DEBUG=false $(VENV)/bin/gunicorn werkstatt.wsgi --preload --workers $(WORKERS) \
	  --bind $(BIND) --timeout 120 --graceful-timeout 30 --access-logfile - \
	  --max-requests 500 --max-requests-jitter 50

# Only the task worker (archival PDFs, e-mails), e.g. on another machine sharing the
# PostgreSQL database; the same settings as `make serve`.
worker: install
	DJANGO_DEBUG=false $(PY) manage.py db_worker

test: install lint
	@$(MAKE) --no-print-directory system-deps SYSTEM_PACKAGES="$(TEST_PACKAGES)" REQUIRED=""
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n $(TEST_WORKERS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

install: system-deps $(STAMP)

$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	rm -f $(VENV)/.installed-*
	touch $@

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "Please install these Debian packages:$$missing"; \
	  echo "  sudo apt-get install$$missing"; \
	  for p in $(REQUIRED); do dpkg -s $$p >/dev/null 2>&1 || exit 1; done; \
	fi

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
