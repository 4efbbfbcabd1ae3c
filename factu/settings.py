"""Factu settings: everything that differs between machines comes from the environment.

The defaults run the whole product on one machine with nothing installed beside Python:
SQLite and a file cache under ``.data/`` and an embedded (filesystem) Celery broker.
``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``CACHE_URL`` switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from pathlib import Path

from factu import env

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("FACTU_DATA_DIR") or BASE_DIR / ".data").resolve()

PRODUCTION = env.env_bool("FACTU_PRODUCTION", False)
DEBUG = env.env_bool("DEBUG", False)
SECRET_KEY = env.secret_key("SECRET_KEY", DATA_DIR, DEBUG, PRODUCTION)
# Encrypts uploaded certificates and their passwords at rest; production must set it so that
# rotating SECRET_KEY never makes stored certificates unreadable.
FACTU_ENCRYPTION_KEY = env.encryption_key("FACTU_ENCRYPTION_KEY", SECRET_KEY, PRODUCTION)
ALLOWED_HOSTS = env.env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "factu",
    "clients",
    "invoicing",
    "expenses",
    "verifactu",
    "api",
    "desk",
    "transfers",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_ratelimit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "api.middleware.ApiMiddleware",  # /api/ only: rate limit, 413, JSON 500
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "factu.urls"
WSGI_APPLICATION = "factu.wsgi.application"

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
                "factu.context_processors.tenancy",
            ],
        },
    },
]

DATABASES = {"default": env.database_config("DATABASE_URL", DATA_DIR / "factu.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = {"default": env.cache_config("CACHE_URL", DATA_DIR / "cache")}
# django-ratelimit's checks only know django_redis: Django's own RedisCache (ours) also
# counts with an atomic INCR, so its "not officially supported" warning is noise.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
if CACHES["default"]["BACKEND"].endswith(".FileBasedCache") and not PRODUCTION:
    # The one-machine default: its incr is read-then-write, so concurrent requests may
    # under-count a little (a lenient limit, never a wrong 429). Production uses Redis, and
    # there (or with locmem/dummy) the error stays loud.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

AUTH_USER_MODEL = "factu.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "es"
LANGUAGES = [("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_THOUSAND_SEPARATOR = True
TIME_ZONE = "Europe/Madrid"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("FACTU_MEDIA_ROOT") or DATA_DIR / "media")

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

EMAIL_BACKEND = env.env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = env.env_str("DEFAULT_FROM_EMAIL", "Factu <no-reply@factu.test>")

# Celery: tasks are sent on commit and carry ids; acks_late so a killed worker's task is
# delivered again instead of being lost.
CELERY_BROKER_URL = env.broker_url("CELERY_BROKER_URL")
if CELERY_BROKER_URL.startswith("redis://"):
    # kombu's Redis transport, fixed so that a worker survives Redis going away (factu.broker).
    CELERY_BROKER_TRANSPORT = "factu.broker:RedisTransport"
BROKER_DIR = DATA_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "factu.tasks.heartbeat", "schedule": 30.0},
    "invoicing-overdue": {"task": "invoicing.mark_overdue", "schedule": 3600.0},
    "verifactu-reclaim": {
        "task": "verifactu.reclaim_and_kick",
        "schedule": float(env.env_int("VERIFACTU_RECLAIM_INTERVAL", 60, minimum=1)),
    },
    # NO VERI*FACTU: sign what was chained, and the periodic anomaly-detection run.
    "verifactu-sign": {"task": "verifactu.sign_pending", "schedule": 60.0},
    "verifactu-anomalies": {"task": "verifactu.anomaly_check", "schedule": 6 * 3600.0},
    "verifactu-summary": {"task": "verifactu.event_summary", "schedule": 6 * 3600.0},
    # A switch to NO VERI*FACTU asked for during a VERI*FACTU year takes effect on 1 January.
    "verifactu-modes": {"task": "verifactu.apply_mode_changes", "schedule": 3600.0},
}
WORKER_STALE_AFTER_SECONDS = env.env_int("WORKER_STALE_AFTER_SECONDS", 120, minimum=10)

# VERI*FACTU: where records go, with which certificate, and at what pace.
SIMULATOR_PORT = env.env_int("SIMULATOR_PORT", 8001, minimum=1)
SIMULATOR_WAIT_SECONDS = env.env_int("SIMULATOR_WAIT_SECONDS", 60, minimum=0)
AEAT_ENDPOINT = env.env_str(
    "AEAT_ENDPOINT",
    f"http://127.0.0.1:{SIMULATOR_PORT}/wlpl/TIKE-CONT/ws/SistemaFacturacion/VerifactuSOAP",
)
AEAT_CERT_FILE = env.env_str("AEAT_CERT_FILE", "")
AEAT_CERT_PASSWORD = env.env_str("AEAT_CERT_PASSWORD", "")
AEAT_CA_FILE = env.env_str("AEAT_CA_FILE", "")
AEAT_TIMEOUT = env.env_int("AEAT_TIMEOUT", 30, minimum=1)
AEAT_QR_PRODUCTION = env.env_bool("AEAT_QR_PRODUCTION", False)
# The deployment's SistemaInformatico, stated by every record (verifactu.installations); the
# producer's declaración responsable names these. Each account's installations of it are
# numbered from the account's id (NumeroInstalacion), never chosen by a tenant.
_SIF = env.sistema_informatico()
FACTU_SIF_PRODUCER_NAME = _SIF["producer_name"]
FACTU_SIF_PRODUCER_NIF = _SIF["producer_nif"]
FACTU_SIF_NAME = _SIF["name"]
FACTU_SIF_ID = _SIF["system_id"]
FACTU_SIF_VERSION = _SIF["version"]
VERIFACTU_BATCH_SIZE = env.env_int("VERIFACTU_BATCH_SIZE", 1000, minimum=1)
VERIFACTU_DEFAULT_WAIT = env.env_int("VERIFACTU_DEFAULT_WAIT", 60, minimum=0)
VERIFACTU_SENDING_LEASE = env.env_int("VERIFACTU_SENDING_LEASE", 300, minimum=5)
# After a fault the AEAT's service may heal by itself (verifactu.faults): retried after
# BACKOFF_BASE seconds, doubling up to MAX_BACKOFF (at most an hour: art. 16.4 wants retries
# at least hourly), with jitter; after FAULT_FLAG_AFTER seconds of faults, a person is told.
VERIFACTU_BACKOFF_BASE = env.env_int("VERIFACTU_BACKOFF_BASE", 15, minimum=1)
VERIFACTU_MAX_BACKOFF = env.env_int("VERIFACTU_MAX_BACKOFF", 3600, minimum=1, maximum=3600)
VERIFACTU_FAULT_FLAG_AFTER = env.env_int("VERIFACTU_FAULT_FLAG_AFTER", 86400, minimum=1)

# The REST APIs (api/): Bearer tokens only (no session, so no CSRF), JSON only, one error
# handler for both envelopes; the per-token rate limit lives in api.middleware.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.AccountTokenPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.AccountPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # ``?format=png|svg`` selects the QR image in the v1 API, not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Factu API",
    "DESCRIPTION": (
        "The account API (`/api/...`) and the VERI*FACTU API (`/api/v1/...`). Every request "
        "sends `Authorization: Bearer kf_...` (Settings → API tokens); 100 requests per "
        "minute per token; POSTs accept an `Idempotency-Key` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api(/v1)?",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
API_RATE_LIMIT = env.env_int("API_RATE_LIMIT", 100, minimum=1)
API_RATE_WINDOW = env.env_int("API_RATE_WINDOW", 60, minimum=1)

# Error reports mask the password inside broker, cache and database URLs too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "factu.reporting.CredentialsFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.env_str("LOG_LEVEL", "INFO")},
}
