"""One env-driven settings module.

With no environment set it runs a development instance on SQLite with an embedded (filesystem)
Celery broker. With DATABASE_URL and REDIS_URL it runs on PostgreSQL and Redis. Every variable
is listed in .env.example.
"""

from __future__ import annotations

import os
import secrets
import sys
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url

from marketplace.env import (
    ConfigurationError,
    env_bool,
    env_int,
    env_list,
    env_rate,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

TESTING = "pytest" in sys.modules or env_bool("TESTING", False)
# ENVIRONMENT=production turns on every production safeguard (secure cookies, HSTS, HTTPS-only
# outbound calls, a required SECRET_KEY, no DEBUG). Anything else is a laptop or a test run.
ENVIRONMENT = env_str("ENVIRONMENT", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ConfigurationError(
        "ENVIRONMENT", f"must be development or production, got {ENVIRONMENT!r}"
    )
DEVELOPMENT = ENVIRONMENT == "development"
DEBUG = env_bool("DEBUG", DEVELOPMENT and not TESTING)
# With DEBUG on, a server error still shows visitors the friendly 500 page (the traceback goes
# to the log); a developer who wants Django's technical 500 page in the browser opts in here.
MARKETPLACE_DEBUG_TECHNICAL_500 = env_bool("MARKETPLACE_DEBUG_TECHNICAL_500", False)


def _development_key(name: str, filename: str, generate) -> str:
    """The value of `name` from the environment; in development, without it, a key generated
    once into the data folder (with one calm line, not a warning with a stack frame); in
    production, a refusal to start. The one rule for every secret key the marketplace holds."""
    value = env_str(name)
    if value:
        return value
    if not DEVELOPMENT:
        raise ConfigurationError(name, "is required when ENVIRONMENT=production")
    key_file = DATA_DIR / filename
    if not key_file.exists():
        sys.stderr.write(f"{name} not set: generated a development key in {key_file}\n")
        key_file.write_text(generate())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _secret_key() -> str:
    key = _development_key("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
    if len(key) < 32:
        raise ConfigurationError("SECRET_KEY", "must be at least 32 characters")
    return key


SECRET_KEY = _secret_key()
# Keys derived for separate purposes so that a leak of one never unlocks another.
TOKEN_HMAC_KEY = env_str("TOKEN_HMAC_KEY") or SECRET_KEY

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEVELOPMENT else ""
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", f"http://localhost:{env_int('PORT', 8000)}")
SITE_NAME = env_str("SITE_NAME", "Plugin Marketplace")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "marketplace",
    "accounts",
    "plugins",
    "plugins.installations",
    "plugins.credentials",
]

MIDDLEWARE = [
    "marketplace.limits.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "marketplace.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "marketplace.middleware.JsonErrorsForApiMiddleware",
    "marketplace.error_pages.FriendlyErrorPagesMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
CSRF_FAILURE_VIEW = "marketplace.views.csrf_failure"
ASGI_APPLICATION = "marketplace.asgi.application"

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
                "accounts.context_processors.organizations",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Tests always run on PostgreSQL and Redis (the defaults below are the ones every machine has).
_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/marketplace"
_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
DATABASE_URL = env_url(
    "DATABASE_URL", {"postgres", "postgresql", "sqlite"}, _TEST_DATABASE_URL if TESTING else ""
)
# PostgreSQL connections come from a pool in each process (psycopg_pool, through Django's
# OPTIONS["pool"]): a request or task borrows one and gives it back when it ends, so a process
# never holds more than DB_POOL_MAX_SIZE however many requests run at once; a request that finds
# them all busy waits up to DB_POOL_TIMEOUT seconds. Size it so that (web processes + worker
# processes) x DB_POOL_MAX_SIZE stays under the server's max_connections. DB_POOL=false falls
# back to one persistent connection per thread (DB_CONN_MAX_AGE).
DB_POOL = env_bool("DB_POOL", True)
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 1, minimum=0)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 8, minimum=1)
DB_POOL_TIMEOUT = env_int("DB_POOL_TIMEOUT", 10, minimum=1)
if DB_POOL_MIN_SIZE > DB_POOL_MAX_SIZE:
    raise ConfigurationError(
        "DB_POOL_MIN_SIZE", f"must not exceed DB_POOL_MAX_SIZE ({DB_POOL_MAX_SIZE})"
    )
if DATABASE_URL:
    try:
        _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    except ValueError as exc:
        raise ConfigurationError("DATABASE_URL", f"is not a valid database URL ({exc})") from None
    if _db["ENGINE"].endswith("postgresql"):
        _db["CONN_HEALTH_CHECKS"] = True
        _db.setdefault("OPTIONS", {})
        _db["OPTIONS"].setdefault("connect_timeout", 5)
        if DB_POOL:
            _db["CONN_MAX_AGE"] = 0  # the pool keeps the connections, not the threads
            _db["OPTIONS"]["pool"] = {
                "min_size": DB_POOL_MIN_SIZE,
                "max_size": DB_POOL_MAX_SIZE,
                "timeout": DB_POOL_TIMEOUT,
                "max_idle": 300,
            }
else:
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "marketplace.sqlite3")}
    _db["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and cache ---------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", {"redis", "rediss"}, _TEST_REDIS_URL if TESTING else "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }
    _queue_dir = DATA_DIR / "broker"
    for _sub in ("out", "processed"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "out"),
        "data_folder_out": str(_queue_dir / "out"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Celery's Django fixup closes the database connections before and after every task, and in a
# prefork worker with the pool on it closes the whole pool as well: every task opened a new
# PostgreSQL connection (and the pool's threads). With a reuse count it does so only every that
# many tasks (still always in a freshly forked child); each task gives its connection back to
# the pool when it ends, as a request does (marketplace/celery.py).
CELERY_DB_REUSE_MAX = 1000

# --- Auth ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SITE_ID = 1
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEVELOPMENT else "https"

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEVELOPMENT
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "marketplace@localhost")

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "marketplace.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "marketplace.schema.AutoSchema",
    "EXCEPTION_HANDLER": "marketplace.api_errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Plugin Marketplace API",
    "DESCRIPTION": "Register and validate AI plugins; look up what an organization has installed.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
    },
}

# --- Static, i18n ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEVELOPMENT
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEVELOPMENT
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEVELOPMENT:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Scripts only from our own origin: no inline script, no eval, nothing from a CDN. Plugin
# names and descriptions are third-party text; this is the backstop behind autoescaping.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- Marketplace -----------------------------------------------------------------------------
# host:port ranges on private addresses that the outbound client may reach (dev and tests only).
# MARKETPLACE_OUTBOUND_ALLOWLIST is its old name, still read (with a warning) when the new one
# is unset.
_PRIVATE_DESTINATIONS_DEFAULT = "127.0.0.1:8100-8199,localhost:8100-8199" if DEVELOPMENT else ""
if "MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS" not in os.environ and (
    "MARKETPLACE_OUTBOUND_ALLOWLIST" in os.environ
):
    warnings.warn(
        "MARKETPLACE_OUTBOUND_ALLOWLIST is deprecated: rename it to "
        "MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS",
        FutureWarning,  # shown by default, unlike DeprecationWarning: operators must see it
        stacklevel=1,
    )
    _PRIVATE_DESTINATIONS_DEFAULT = env_str("MARKETPLACE_OUTBOUND_ALLOWLIST", "")
MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS = env_list(
    "MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS", _PRIVATE_DESTINATIONS_DEFAULT
)
MARKETPLACE_REQUIRE_HTTPS = env_bool("MARKETPLACE_REQUIRE_HTTPS", not DEVELOPMENT)
# The demo plugins' server in `make run` (marketplace/demo_plugin.py; Procfile `demo`).
DEMO_PLUGIN_PORT = env_int("DEMO_PLUGIN_PORT", 8101, minimum=1)
MARKETPLACE_CORPUS_DIR = Path(
    env_str("MARKETPLACE_CORPUS_DIR", str(BASE_DIR.parent / "shared" / "corpus"))
)
# Fair validation (plugins/ingest/budget.py): each run gets its verdict within
# VALIDATION_RUN_DEADLINE seconds of its first start and spends at most
# VALIDATION_RUN_NETWORK_BUDGET seconds of worker time waiting on the network, retries
# included; an organization has at most VALIDATION_MAX_RUNS_PER_ORGANIZATION runs in a worker
# at once (keep it below the worker count so one publisher can't fill them all).
VALIDATION_RUN_DEADLINE = env_int("VALIDATION_RUN_DEADLINE", 60, minimum=10)
VALIDATION_RUN_NETWORK_BUDGET = env_int("VALIDATION_RUN_NETWORK_BUDGET", 30, minimum=5)
VALIDATION_MAX_RUNS_PER_ORGANIZATION = env_int("VALIDATION_MAX_RUNS_PER_ORGANIZATION", 1, minimum=1)


def _encryption_keys() -> str:
    """The vault's key ring (`kid:<base64>,…`, the first encrypts)."""
    from plugins.vault.keyring import VaultMisconfigured, generate_key, parse_key_ring

    raw = _development_key(
        "MARKETPLACE_ENCRYPTION_KEYS", "encryption_keys", lambda: generate_key("dev1")
    )
    try:
        parse_key_ring(raw)
    except VaultMisconfigured as exc:
        raise ConfigurationError("MARKETPLACE_ENCRYPTION_KEYS", str(exc).split(" ", 1)[1]) from None
    return raw


MARKETPLACE_ENCRYPTION_KEYS = _encryption_keys()


def _assertion_keys() -> str:
    """PEM private keys (P-256) signing the caller assertion sent to plugins; the first signs,
    all are published at /.well-known/jwks.json."""
    from plugins.proxy.assertion import generate_pem, signing_keys

    raw = _development_key("MARKETPLACE_ASSERTION_KEYS", "assertion_keys.pem", generate_pem)
    try:
        signing_keys(raw)
    except ValueError as exc:
        raise ConfigurationError("MARKETPLACE_ASSERTION_KEYS", str(exc)) from None
    return raw


MARKETPLACE_ASSERTION_KEYS = _assertion_keys()
# Calls per minute through the proxy, per user and per installation.
PROXY_RATE_PER_USER = env_int("PROXY_RATE_PER_USER", 600, minimum=1)
PROXY_RATE_PER_INSTALLATION = env_int("PROXY_RATE_PER_INSTALLATION", 6000, minimum=1)
# Seconds for a whole upstream call, and characters of the answer given to the model.
PROXY_TIMEOUT = env_int("PROXY_TIMEOUT", 45, minimum=1)
PROXY_MAX_CHARS = env_int("PROXY_MAX_CHARS", 100_000, minimum=1000)
# Total deadline (seconds) of one OAuth token, refresh or revocation request.
MARKETPLACE_OAUTH_TIMEOUT = env_int("MARKETPLACE_OAUTH_TIMEOUT", 10, minimum=1)
# Seconds before the first retry of a failed webhook delivery (then 4 times longer each time).
MARKETPLACE_WEBHOOK_RETRY_BASE = env_int("MARKETPLACE_WEBHOOK_RETRY_BASE", 10, minimum=1)
VALIDATION_RUN_STALE_AFTER = timedelta(
    seconds=env_int("VALIDATION_RUN_STALE_AFTER", 600, minimum=30)
)

# Requests that queue a validation run (registrations and re-validations), counted per user
# (or per organization API key) and per organization in the cache (Redis when REDIS_URL is
# set). Over the limit: 429 with Retry-After, and nothing is created. `off` disables one.
MARKETPLACE_SUBMISSIONS_PER_USER = env_rate("MARKETPLACE_SUBMISSIONS_PER_USER", "20/10m")
MARKETPLACE_SUBMISSIONS_PER_ORGANIZATION = env_rate(
    "MARKETPLACE_SUBMISSIONS_PER_ORGANIZATION", "60/h"
)
RATELIMIT_USE_CACHE = "default"

# Request limits: answered 413/400 before any view runs (see marketplace.limits).
# The largest request body: an upload carries a spec and a manifest (their caps are in
# plugins/validation/parsing.py).
MARKETPLACE_MAX_REQUEST_BYTES = env_int(
    "MARKETPLACE_MAX_REQUEST_BYTES", 6 * 1024 * 1024, minimum=64 * 1024
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # non-file form fields and JSON bodies
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 200, minimum=10)
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 10, minimum=1)
# Deepest nesting accepted in a JSON request body.
MARKETPLACE_MAX_JSON_DEPTH = env_int("MARKETPLACE_MAX_JSON_DEPTH", 32, minimum=4)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Authlib logs PKCE verifiers and tokens at DEBUG: never let it go below INFO.
        "authlib": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # The filesystem broker of `make run` has no host name, and kombu says so on every
        # connection: noise, not a problem.
        "kombu.connection": {
            "level": "ERROR" if CELERY_BROKER_URL == "filesystem://" else "WARNING"
        },
        # In `make run` beat drains call events every few seconds: a line per task received,
        # run and scheduled would bury everything else. Deployments keep them.
        **{
            name: {"level": "WARNING"}
            for name in ("celery.beat", "celery.app.trace", "celery.worker.strategy")
            if CELERY_BROKER_URL == "filesystem://"
        },
    },
}
