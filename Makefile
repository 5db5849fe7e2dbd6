# Two commands: `make run` (the portal with demo data on SQLite) and `make test` (the suite,
# on SQLite and on a throwaway PostgreSQL, browser tests included).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# `make run` serves the demo as users get it: DEBUG off (Vietnamese error pages),
# static files collected, compressed and served by WhiteNoise, gunicorn with
# gunicorn.conf.py, on loopback over plain HTTP (TLS is nginx's job in production,
# so DJANGO_HTTPS=false here), a fresh secret key each start, reminder emails printed
# to the console. `make dev` is Django's debug server with DEBUG on, for developers.
# Under `make test` none of this is set, so the suite decides.
RUN_ENV := DJANGO_DEBUG=false DJANGO_HTTPS=$${DJANGO_HTTPS:-false} \
	EMAIL_BACKEND=$${EMAIL_BACKEND:-django.core.mail.backends.console.EmailBackend} \
	PORTAL_URL=$${PORTAL_URL:-http://127.0.0.1:$(PORT)} \
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}
DEV_ENV := DJANGO_DEBUG=true \
	EMAIL_BACKEND=$${EMAIL_BACKEND:-django.core.mail.backends.console.EmailBackend} \
	PORTAL_URL=$${PORTAL_URL:-http://127.0.0.1:$(PORT)}

.PHONY: run dev demo-data test test-sqlite test-postgres system-deps system-fonts lint format bench clean serve

$(BIN)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(BIN)/.dev: requirements.txt requirements-dev.txt $(BIN)/.runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# The database, the resolution and the demo accounts and figures (all idempotent).
demo-data: system-fonts $(BIN)/.runtime
	$(RUN_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(RUN_ENV) $(BIN)/python manage.py load_resolution
	$(RUN_ENV) $(BIN)/python manage.py load_demo

define ADDRESSES
	@echo ""
	@echo "  Cổng thông tin: http://127.0.0.1:$(PORT)/   (quản trị: http://127.0.0.1:$(PORT)/admin/)"
	@echo "  Tài khoản minh họa, mật khẩu chung: khoenon-demo-2025"
	@echo "    quantri   quản trị hệ thống"
	@echo "    kinhte    cán bộ nhập liệu, Phòng Kinh tế"
	@echo "    vanhoa    cán bộ nhập liệu, Phòng Văn hóa - Xã hội"
	@echo "    pheduyet  lãnh đạo UBND xã, phê duyệt số liệu"
	@echo "    daibieu   đại biểu HĐND xã"
	@echo ""
endef

# Collecting and compressing the static files takes a minute or more (the API's
# Swagger UI alone is 28 MB): only when a static file or the installed packages
# changed since the last time.
STATIC_SOURCES := $(shell find static -type f 2>/dev/null)
staticfiles/staticfiles.json: $(STATIC_SOURCES) $(BIN)/.runtime
	@echo "Thu thập và nén các tệp tĩnh (lần đầu mất khoảng một phút)…"
	$(RUN_ENV) $(BIN)/python manage.py collectstatic --no-input -v 0
	@touch $@

run: demo-data staticfiles/staticfiles.json
	$(ADDRESSES)
	$(RUN_ENV) GUNICORN_BIND=127.0.0.1:$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py khoenon.wsgi

# The same production stack; kept as a name from before `make run` became it.
serve: run

dev: demo-data
	$(ADDRESSES)
	$(DEV_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Bootstrap trimmed to the classes the pages use (tools/css/build.mjs), written over
# static/vendor/bootstrap-5.3.9/bootstrap.min.css and committed: `make run` and
# `make test` need no node. Run it (node 20, npm) after changing a template's classes;
# targets/tests/test_slow_links.py says when it is due.
.PHONY: css
css:
	cd tools/css && npm ci --no-audit --no-fund && node build.mjs

system-deps:
	.ci/system-deps

# The PDF report's serif (Liberation Serif 2, every Vietnamese letter), wherever PDFs
# are made: `make run` and `make serve` as well as the tests.
system-fonts:
	@.ci/system-deps --fonts

# The two suites run side by side, one per core (each prints its output when it ends);
# the static files are collected first, once, for the tests that start the
# production server. A failure, or a suite that collects no test (pytest's 5), fails
# `make test`.
test: system-deps $(BIN)/.dev lint staticfiles/staticfiles.json
	@echo "== test suites on SQLite and on PostgreSQL, side by side =="
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

lint: $(BIN)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-sqlite: $(BIN)/.dev
	@echo "== test suite on SQLite =="
	env -u DJANGO_DEBUG DATABASE_URL=sqlite:///$(CURDIR)/db-test.sqlite3 $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(BIN)/.dev
	@echo "== test suite on PostgreSQL =="
	env -u DJANGO_DEBUG .ci/with-postgres $(BIN)/pytest $(PYTEST_ARGS)

format: $(BIN)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles test-artifacts db-test.sqlite3
