"""Factu settings: everything that differs between machines comes from the environment.

The defaults run the whole product on one machine with nothing installed beside Python:
SQLite and a file cache under ``.data/`` and an embedded (filesystem) Celery broker.
``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``CACHE_URL`` switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from csp import constants as csp

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
    "catalogue",
    "invoicing",
    "quotes",
    "recurring",
    "expenses",
    "verifactu",
    "mailing",
    "api",
    "desk",
    "transfers",
    "einvoice",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_ratelimit",
    "csp",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "api.middleware.ApiMiddleware",  # /api/ only: rate limit, 413, JSON 500
    "factu.uploads.RequestSizeMiddleware",  # pages: 413 before a body over its cap is read
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out login into its 429 page
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
# django-axes first: it refuses a locked-out login before the password is even checked. It
# needs the request, which Django's login views (and the admin's) pass to authenticate(); the
# API authenticates tokens without authenticate() and is not counted.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login lockout (django-axes): LOGIN_FAILURE_LIMIT failures lock the pair (email, address) and,
# counted over all emails, the address, for LOGIN_COOLOFF_MINUTES. Never the email alone: a
# stranger elsewhere cannot lock anyone out. Reset by hand: `manage.py axes_reset_username
# <email>`, `axes_reset_ip <address>`, or the admin's "Access attempts" (docs/SECURITY.md).
AXES_FAILURE_LIMIT = env.env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1, maximum=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
# A success must not wipe the address's count: axes would delete it with the pair's, and a
# sprayer with an account of their own could reset it at will. Counts expire with the cool-off.
AXES_RESET_ON_SUCCESS = False
AXES_USERNAME_FORM_FIELD = "username"  # the login form's and the admin's field
AXES_USERNAME_CALLABLE = "factu.throttle.login_username"
AXES_CLIENT_IP_CALLABLE = "factu.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "factu.views.login_locked_out"
# Throttles of the anonymous pages that send email (django-ratelimit, factu.throttle), each
# counted per address and per (address, email), never per email alone (a stranger could use
# that up): "count/period" with s, m, h or d.
SIGN_UP_RATE_PER_ADDRESS = env.env_str("SIGN_UP_RATE_PER_ADDRESS", "20/h")
SIGN_UP_RATE_PER_ADDRESS_AND_EMAIL = env.env_str("SIGN_UP_RATE_PER_ADDRESS_AND_EMAIL", "5/h")
PASSWORD_RESET_RATE_PER_ADDRESS = env.env_str("PASSWORD_RESET_RATE_PER_ADDRESS", "20/h")
PASSWORD_RESET_RATE_PER_ADDRESS_AND_EMAIL = env.env_str(
    "PASSWORD_RESET_RATE_PER_ADDRESS_AND_EMAIL", "5/h"
)
# How long the link of a sign-up's confirmation email works.
SIGN_UP_LINK_MAX_AGE = env.env_int("SIGN_UP_LINK_MAX_AGE", 2 * 86400, minimum=60)
# The addresses of reverse proxies whose X-Forwarded-For names the client (empty: none; the
# client is REMOTE_ADDR). Used by the lockout and the throttles.
TRUSTED_PROXY_IPS = env.env_list("TRUSTED_PROXY_IPS", [])

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
# X-Forwarded-Proto says "this came over HTTPS" only when a reverse proxy we run sets it and
# nobody else can reach the app server (docker-compose: Caddy, gunicorn not published). Any
# other deployment leaves it off: a client could send the header itself.
FACTU_TRUST_PROXY = env.env_bool("FACTU_TRUST_PROXY", False)
if FACTU_TRUST_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy (django-csp): scripts only from our origin or carrying the
# per-response nonce (``request.csp_nonce``), no inline handlers, no inline style attributes;
# data: images for Swagger UI's icons. /api/docs serves its init script from a URL (the split
# view) and nonces its one <style> block (templates/drf_spectacular/swagger_ui.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "frame-ancestors": [csp.NONE],
        "form-action": [csp.SELF],
    },
}
FACTU_CSP_REPORT_URI = env.env_str("FACTU_CSP_REPORT_URI", "")
if FACTU_CSP_REPORT_URI:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [FACTU_CSP_REPORT_URI]

# All email, one setting: EMAIL_URL (smtp://, smtp+tls://, smtp+ssl://; unset: files under
# DATA_DIR/mail, shown by the development outbox; required in production, with
# DEFAULT_FROM_EMAIL). Every message goes From the platform's
# address; an account's mail carries its taxpayer's Reply-To (mailing).
_EMAIL = env.email_config("EMAIL_URL", DATA_DIR / "mail", production=PRODUCTION)
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_FILE_PATH = _EMAIL.get("EMAIL_FILE_PATH", DATA_DIR / "mail")
EMAIL_HOST = _EMAIL.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _EMAIL.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _EMAIL.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _EMAIL.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_EMAIL.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_EMAIL.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = _EMAIL.get("EMAIL_TIMEOUT") or 30
DEFAULT_FROM_EMAIL = env.default_from_email("DEFAULT_FROM_EMAIL", PRODUCTION)
# An account's emails (invoices, quotes, reminders; mailing): at most this many per hour, and
# a failed SMTP attempt is tried MAILING_MAX_ATTEMPTS times in all, MAILING_RETRY_SECONDS apart
# (doubling).
MAILING_HOURLY_LIMIT = env.env_int("MAILING_HOURLY_LIMIT", 60, minimum=1)
MAILING_MAX_ATTEMPTS = env.env_int("MAILING_MAX_ATTEMPTS", 4, minimum=1, maximum=10)
MAILING_RETRY_SECONDS = env.env_int("MAILING_RETRY_SECONDS", 60, minimum=0)

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
    # Sent quotes past their valid-until date become expired (computed meanwhile).
    "quotes-expire": {"task": "quotes.expire", "schedule": 3600.0},
    # Recurring plans: each day's invoices, at 06:00 (a run missed while beat was down is
    # made at its start; generation is idempotent, so a second run makes nothing).
    "recurring-generate": {
        "task": "recurring.generate_due",
        "schedule": crontab(hour=6, minute=0),
    },
    "verifactu-reclaim": {
        "task": "verifactu.reclaim_and_kick",
        "schedule": float(env.env_int("VERIFACTU_RECLAIM_INTERVAL", 60, minimum=1)),
    },
    # NO VERI*FACTU (records and events are signed at birth): the periodic anomaly-detection
    # run and the summary event.
    "verifactu-anomalies": {"task": "verifactu.anomaly_check", "schedule": 6 * 3600.0},
    "verifactu-summary": {"task": "verifactu.event_summary", "schedule": 6 * 3600.0},
    # A switch to NO VERI*FACTU asked for during a VERI*FACTU year takes effect on 1 January.
    "verifactu-modes": {"task": "verifactu.apply_mode_changes", "schedule": 3600.0},
    # Housekeeping: idempotency records past their 24 h, and uploaded CSVs and built ZIPs
    # past their retention (below) are deleted.
    "api-idempotency-purge": {"task": "api.purge_idempotency_records", "schedule": 3600.0},
    "transfers-purge-files": {"task": "transfers.purge_files", "schedule": 3600.0},
    # Background jobs still queued after their send failed (the broker was down) go again.
    "factu-requeue-jobs": {"task": "factu.requeue_jobs", "schedule": 300.0},
    # Emails still queued after their send failed (the broker was down) go again.
    "mailing-requeue": {"task": "mailing.requeue", "schedule": 300.0},
    # Payment reminders: once a day, each step of each invoice at most once.
    "invoicing-reminders": {
        "task": "invoicing.send_reminders",
        "schedule": crontab(hour=env.env_int("REMINDERS_HOUR", 9, minimum=0, maximum=23), minute=0),
    },
}
# How long an import's CSV and an export's ZIP are kept after their job finishes.
TRANSFERS_IMPORT_RETENTION_HOURS = env.env_int("TRANSFERS_IMPORT_RETENTION_HOURS", 24, minimum=1)
TRANSFERS_EXPORT_RETENTION_HOURS = env.env_int("TRANSFERS_EXPORT_RETENTION_HOURS", 168, minimum=1)
# Invoices per PDF task of the quarter close (transfers.quarter_close): small enough that
# every worker process gets some, large enough that a task's overhead does not count.
TRANSFERS_PDF_CHUNK = env.env_int("TRANSFERS_PDF_CHUNK", 100, minimum=1)
# Invoices (whole taxpayers, about this many) per books task of the quarter close.
TRANSFERS_BOOKS_CHUNK = env.env_int("TRANSFERS_BOOKS_CHUNK", 2000, minimum=1)
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
# Seal (sello de entidad) certificates go to AEAT's seal hosts (www10/prewww10); empty: the
# seal twin of AEAT_ENDPOINT (verifactu.representation.seal_endpoint).
AEAT_SEAL_ENDPOINT = env.env_str("AEAT_SEAL_ENDPOINT", "")
AEAT_REQUERIMIENTO_ENDPOINT = env.env_str("AEAT_REQUERIMIENTO_ENDPOINT", "")
# The (account, NIF) pairs the deployment-wide AEAT_CERT_FILE may present records for (the
# operator vouches for each): "<account uuid>:<NIF>,...". Any other needs its own proof
# (verifactu.representation).
AEAT_CERT_NIFS = env.deployment_certificate_allow_list("AEAT_CERT_NIFS")
# Against the simulator every NIF may send without proof; refused with any other endpoint.
VERIFACTU_SANDBOX = env.sandbox_setting(
    "VERIFACTU_SANDBOX",
    {
        "AEAT_ENDPOINT": AEAT_ENDPOINT,
        "AEAT_SEAL_ENDPOINT": AEAT_SEAL_ENDPOINT,
        "AEAT_REQUERIMIENTO_ENDPOINT": AEAT_REQUERIMIENTO_ENDPOINT,
    },
)
# The CA certificates (PEM bundle) a NO VERI*FACTU signature must chain to: checked when a
# taxpayer switches to NO VERI*FACTU and by every verification of a stored signature
# (verifactu.signers). Debian's bundle has AC RAIZ FNMT-RCM, the issuer of most Spanish
# certificates; an operator may point it at a narrower bundle.
VERIFACTU_SIGNATURE_CA_FILE = env.env_file(
    "VERIFACTU_SIGNATURE_CA_FILE", "/etc/ssl/certs/ca-certificates.crt"
)
# A held chain (no proof yet) is looked at again after this; proof arriving kicks it at once.
VERIFACTU_HELD_RECHECK = env.env_int("VERIFACTU_HELD_RECHECK", 900, minimum=10)
# The client's signed representation document (colaborador social), PDF or image: at most
# 2 MiB by default, under the API's body cap (DATA_UPLOAD_MAX_MEMORY_SIZE) so both ways take it.
REPRESENTATION_DOCUMENT_MAX_BYTES = env.env_int(
    "REPRESENTATION_DOCUMENT_MAX_BYTES", 2 * 1024 * 1024, minimum=1024
)
# The deployment's SistemaInformatico, stated by every record (verifactu.installations); the
# producer's declaración responsable names these. Each account's installations of it are
# numbered from the account's id (NumeroInstalacion), never chosen by a tenant.
_SIF = env.sistema_informatico(production=PRODUCTION)
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
# How far in the future (seconds) a record's or event's generation time may lie before the
# verifier calls it an anomaly (TipoAnomalia 13): the clocks of the machines that wrote it.
VERIFACTU_CLOCK_SKEW = env.env_int("VERIFACTU_CLOCK_SKEW", 300, minimum=0)

# The REST APIs (api/): Bearer tokens only (no session, so no CSRF), JSON only, one error
# handler for both envelopes; the per-token rate limit lives in api.middleware.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.AccountTokenPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],  # JSON depth bounded
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
        "minute per token and 500 per account; POSTs accept an `Idempotency-Key` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api(/v1)?",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Deep links put a link inside each operation's toggle button (nested controls, WCAG 4.1.2).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_DIST": "SIDECAR",
    # Two "status" enums (an invoice's; those a quote is set to by hand): each named, so the
    # invoice's keeps its name (else drf-spectacular renames both).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": ["draft", "sent", "paid", "overdue", "cancelled"],
        "AccountQuoteStatusInputEnum": ["sent", "accepted", "rejected"],
        "RecurringStatusEnum": "recurring.models.PlanStatus.choices",
        "B2BStatusEnum": "einvoice.status.B2BStatus.choices",
        "SupplierAnswerStatusEnum": ["accepted", "rejected", "paid"],
    },
}
API_RATE_LIMIT = env.env_int("API_RATE_LIMIT", 100, minimum=1)
API_RATE_WINDOW = env.env_int("API_RATE_WINDOW", 60, minimum=1)
# At most this many unrevoked tokens per account (api.services.create_token), and one
# account's tokens together make at most API_ACCOUNT_RATE_LIMIT requests per window.
API_MAX_ACTIVE_TOKENS = env.env_int("API_MAX_ACTIVE_TOKENS", 50, minimum=1)
API_ACCOUNT_RATE_LIMIT = env.env_int("API_ACCOUNT_RATE_LIMIT", 500, minimum=1)
# JSON bodies nesting deeper than this are a 400 before they are parsed (api.parsers).
API_JSON_MAX_DEPTH = env.env_int("API_JSON_MAX_DEPTH", 32, minimum=4)

# Error reports mask the password inside broker, cache and database URLs too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "factu.reporting.CredentialsFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.env_str("LOG_LEVEL", "INFO")},
    # axes logs every failed login at INFO; its warnings (lockouts) are what matter.
    "loggers": {"axes": {"level": env.env_str("AXES_LOG_LEVEL", "WARNING")}},
}
