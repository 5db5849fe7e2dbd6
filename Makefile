# Two commands: `make run` (the portal with demo data on SQLite) and `make test` (the suite,
# on SQLite and on a throwaway PostgreSQL, browser tests included).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Under `make test` these stay unset so the suite decides; `make run` is a local demo.
RUN_ENV := DJANGO_DEBUG=$${DJANGO_DEBUG:-true}

.PHONY: run test test-sqlite test-postgres system-deps system-fonts lint format bench clean serve

$(BIN)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(BIN)/.dev: requirements.txt requirements-dev.txt $(BIN)/.runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

run: system-fonts $(BIN)/.runtime
	$(RUN_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(RUN_ENV) $(BIN)/python manage.py load_resolution
	$(RUN_ENV) $(BIN)/python manage.py load_demo
	@echo ""
	@echo "  Cổng thông tin: http://127.0.0.1:$(PORT)/   (quản trị: http://127.0.0.1:$(PORT)/admin/)"
	@echo "  Tài khoản minh họa, mật khẩu chung: khoenon-demo-2025"
	@echo "    quantri   quản trị hệ thống"
	@echo "    kinhte    cán bộ nhập liệu, Phòng Kinh tế"
	@echo "    vanhoa    cán bộ nhập liệu, Phòng Văn hóa - Xã hội"
	@echo "    pheduyet  lãnh đạo UBND xã, phê duyệt số liệu"
	@echo "    daibieu   đại biểu HĐND xã"
	@echo ""
	$(RUN_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The production stack on loopback: DEBUG off, collected and compressed static files
# served by WhiteNoise, gunicorn with gunicorn.conf.py (TLS is nginx's job, so
# DJANGO_HTTPS=false here). Uses the same SQLite database and demo data as `make run`.
SERVE_ENV := DJANGO_DEBUG=false DJANGO_HTTPS=$${DJANGO_HTTPS:-false} \
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}
serve: system-fonts $(BIN)/.runtime
	$(SERVE_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(SERVE_ENV) $(BIN)/python manage.py load_resolution
	$(SERVE_ENV) $(BIN)/python manage.py load_demo
	$(SERVE_ENV) $(BIN)/python manage.py collectstatic --no-input -v 0
	$(SERVE_ENV) GUNICORN_BIND=127.0.0.1:$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py khoenon.wsgi

system-deps:
	.ci/system-deps

# The PDF report's serif (Liberation Serif 2, every Vietnamese letter), wherever PDFs
# are made: `make run` and `make serve` as well as the tests.
system-fonts:
	@.ci/system-deps --fonts

test: system-deps $(BIN)/.dev lint test-sqlite test-postgres

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
