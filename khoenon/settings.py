"""Settings for the Khoen On resolution tracker, read from the environment.

Every variable is listed in .env.example. Defaults suit a developer's machine and
the test suite; production must set DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# pytest sets PYTEST_VERSION before Django is configured.
TESTING = "PYTEST_VERSION" in os.environ

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
# Without a key, management commands (check, migrate) still run, but khoenon/wsgi.py
# refuses to serve outside DEBUG, and `check --deploy` flags the key (security.W009).
SECRET_KEY_MISSING = not SECRET_KEY
if SECRET_KEY_MISSING:
    SECRET_KEY = "django-insecure-key-for-development-and-tests-only"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# Served behind TLS (nginx): HSTS, secure cookies, HTTPS redirect. On by default in
# production; off for the local demo, the test suite and `make serve` on loopback.
HTTPS = env.bool("DJANGO_HTTPS", default=not (DEBUG or TESTING))
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "import_export",
    "khoenon.apps.AxesConfig",  # django-axes, named in Vietnamese
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "targets",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "khoenon.middleware.PrivatePagesMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so that it sees the response of a locked-out login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "khoenon.urls"
WSGI_APPLICATION = "khoenon.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "targets.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while a clerk saves; IMMEDIATE avoids "database is locked"
    # when two writers upgrade their locks at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# "pages": the delegates' pages and files, kept under the data version (see
# reports.page_cache), so an entry can be unused but never stale. Files on disk, so
# every gunicorn worker shares them and a restart keeps them; several app servers
# share Redis or Memcached instead (docs/deploy.md). Off under DEBUG, so that an
# edited template shows at once. Each test run has a directory of its own.
PAGES_CACHE_DIR = (
    tempfile.mkdtemp(prefix="khoenon-pages-")
    if TESTING
    else env("PAGES_CACHE_DIR", default=str(BASE_DIR / "var" / "cache" / "pages"))
)
if TESTING:
    atexit.register(shutil.rmtree, PAGES_CACHE_DIR, ignore_errors=True)
# How many report files (PDF, xlsx) the machine builds at a time, whichever worker
# asks; the others wait their turn (reports.page_cache.kept_file). One leaves the
# second core to the pages on the 2-core server.
FILE_BUILDS = env.int("FILE_BUILDS", default=1)
# How many requests of one worker may build or wait for a report file at a time; the
# next ones are told to come back in a few seconds (503, Retry-After). Keep it two
# below GUNICORN_THREADS (gunicorn.conf.py: 8), so the pages always have threads.
FILE_WAITERS = env.int("FILE_WAITERS", default=6)
_LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
CACHES = {
    "default": {"BACKEND": _LOCMEM},
    "pages": {
        "BACKEND": "django.core.cache.backends.dummy.DummyCache"
        if DEBUG
        else "khoenon.cache.PagesCache",
        "LOCATION": PAGES_CACHE_DIR,
        "TIMEOUT": 7 * 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": 2000},
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
if TESTING:
    # The suite creates many users; production keeps Django's slow, safe default.
    # PBKDF2 stays available for tests that hand users to a production-settings server.
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock the (username, IP) pair, never a whole IP: a commune sits behind one
# NAT address, and one clerk's mistyped password must not lock out everyone else.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Behind nginx REMOTE_ADDR is the proxy for everyone: read X-Real-IP from it alone.
TRUSTED_PROXIES = env.list("DJANGO_TRUSTED_PROXIES", default=["127.0.0.1", "::1"])
AXES_CLIENT_IP_CALLABLE = "khoenon.middleware.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["khoenon.formats"]
# Our own Vietnamese for what Django's admin and django-axes still say in English
# (or say wrongly, "History" as "Bản ghi nhớ"). The compiled .mo is committed.
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")

IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12  # a working day
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
# nginx terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload commits the whole parent domain (often the province's) to HTTPS
    # forever; that is the domain owner's decision, so it is opt-in
    # (DJANGO_HSTS_PRELOAD=true) rather than a default.
    "security.W021",
]

# Content Security Policy: no inline script anywhere; scripts and styles from our own
# origin (Bootstrap and Chart.js are vendored). Inline style attributes are allowed for
# server-drawn progress bars; they cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# The API (/api/v1/, reports/api.py): named tokens (reports/tokens.py) or the
# session; JSON or CSV; anonymous requests throttled (API_ANON_RATE, per address).
API_ANON_RATE = env(
    "API_ANON_RATE", default="100000/minute" if TESTING else "120/minute"
)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "reports.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "reports.api_support.CSVRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["reports.api_support.AnonymousThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "reports.api_support.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API công khai – Theo dõi Nghị quyết HĐND xã Khoen On",
    "DESCRIPTION": (
        "Không đăng nhập: số liệu đã phê duyệt và đánh giá của các quý đã công bố. "
        "Với mã truy cập (Authorization: Bearer <mã>): những gì tài khoản được xem; "
        "cán bộ nhập liệu lưu nháp và gửi duyệt số liệu."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# Structured logs: one line per event, key=value pairs after the event name, to stderr
# (journald under systemd). The "khoenon.audit" logger records logins, failed logins,
# refused access, imports and approvals.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "khoenon.audit": {"level": "INFO"},
    },
}

# How far "on track" and "at risk" reach (targets.progress.thresholds): on track
# when the forecast covers at least PROGRESS_ON_TRACK of what the target needs, at
# risk from PROGRESS_AT_RISK, behind below that.
PROGRESS_THRESHOLDS = {
    "on_track": env("PROGRESS_ON_TRACK", default="0.95"),
    "at_risk": env("PROGRESS_AT_RISK", default="0.60"),
}

# Spreadsheet import limits, checked before a file is parsed.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=20_000)
IMPORT_MAX_UNCOMPRESSED_BYTES = env.int(
    "IMPORT_MAX_UNCOMPRESSED_BYTES", default=100 * 1024 * 1024
)
IMPORT_MAX_CELLS = env.int("IMPORT_MAX_CELLS", default=1_000_000)
# What reading one workbook may cost (a child process, see targets/spreadsheets.py).
IMPORT_MAX_SECONDS = env.float("IMPORT_MAX_SECONDS", default=30)
IMPORT_MAX_MEMORY_BYTES = env.int("IMPORT_MAX_MEMORY_BYTES", default=512 * 1024 * 1024)

# Email (the daily reminders of `manage.py send_reminders`). With no EMAIL_HOST the
# messages go to the log (console backend), as in the demo; set EMAIL_HOST (and the
# account) for a real mail server, or EMAIL_BACKEND for another backend.
EMAIL_HOST = env("EMAIL_HOST", default="")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
# STARTTLS on 587 by default; EMAIL_USE_SSL=true (port 465) instead of it.
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=not EMAIL_USE_SSL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env(
    "DEFAULT_FROM_EMAIL", default="Theo dõi Nghị quyết <khoenon@localhost>"
)
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# The portal's address as users reach it, for the links in emails.
PORTAL_URL = env("PORTAL_URL", default="http://127.0.0.1:8000")
# Clerks are reminded daily from this many days before a quarter's deadline.
REMINDER_DAYS_BEFORE = env.int("REMINDER_DAYS_BEFORE", default=14)

# Evidence files attached to figures.
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
CSRF_FAILURE_VIEW = "khoenon.views.csrf_failure"
