"""Reading settings from the environment.

Every reader names the variable in its error, so a bad deployment stops at start-up with a
message an operator can act on instead of failing later in some request.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import uuid
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_file(name: str, default: str) -> str:
    """A path to a file; set explicitly, it must name a readable file (the default may be
    missing on a development machine: its users find out where the file is read)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.strip() or not os.path.isfile(raw) or not os.access(raw, os.R_OK):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a readable file.")
    return raw


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of true/false, 1/0, yes/no, on/off."
    )


def env_int(name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at most {maximum}.")
    return value


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (where ``make run`` starts the simulator)."""
    try:
        host = (urlparse(url).hostname or "").lower()
    except ValueError:
        return False
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: only those of LOOPBACK_HOSTS are this machine
        return False


def sandbox_setting(name: str, endpoints: dict[str, str]) -> bool:
    """``VERIFACTU_SANDBOX``: every NIF may send without proof of representation.

    On by default only when every AEAT endpoint is on loopback (the simulator); refused at
    start-up when any of them is elsewhere, since a real AEAT (or anything in front of it)
    must never receive records nobody proved the right to send.
    """
    local = all(is_loopback_url(url) for url in endpoints.values() if url)
    value = env_bool(name, local)
    if value and not local:
        remote = ", ".join(f"{k}={v}" for k, v in endpoints.items() if v and not is_loopback_url(v))
        raise ImproperlyConfigured(
            f"{name} is on but {remote} is not the local simulator: the sandbox (sending "
            f"under any NIF without proof of representation) is only allowed on loopback. "
            f"Unset {name} or point the AEAT endpoints at the simulator."
        )
    return value


def deployment_certificate_allow_list(name: str) -> frozenset[tuple[str, str]]:
    """``AEAT_CERT_NIFS``: which account may send under which NIF with ``AEAT_CERT_FILE``,
    as comma-separated ``<account id>:<NIF>`` pairs (the account's UUID, shown in the admin).

    Per account, because a NIF is unique only within an account: a bare NIF would let any
    account that registers it send under it with the operator's certificate. A bare NIF is
    refused at start-up rather than read as "every account".
    """
    pairs = set()
    for item in env_list(name, []):
        account, _, nif = item.partition(":")
        try:
            account_id = str(uuid.UUID(account.strip()))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not '<account id>:<NIF>' (the account's UUID, a colon "
                "and the NIF); the deployment certificate is allowed per account."
            ) from None
        if not nif.strip():
            raise ImproperlyConfigured(f"{name}: {item!r} names no NIF after the colon.")
        pairs.add((account_id, nif.strip().upper()))
    return frozenset(pairs)


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_config(name: str, default_sqlite_path: Path) -> dict:
    """A Django DATABASES entry from ``DATABASE_URL`` (PostgreSQL or SQLite).

    SQLite is tuned for several processes at once (web, worker and beat under ``make run``):
    WAL so readers never block the writer, a busy timeout so a writer waits for the lock
    instead of failing, and ``BEGIN IMMEDIATE`` so a transaction takes the write lock when it
    starts rather than failing to upgrade a read lock half-way ("database is locked").
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        raw = f"sqlite:///{default_sqlite_path}"
    try:
        config = dj_database_url.parse(raw, conn_max_age=0)
    except Exception as exc:  # dj_database_url raises several types
        raise ImproperlyConfigured(f"{name} could not be parsed: {exc}") from None
    engine = config.get("ENGINE", "")
    if engine == "django.db.backends.sqlite3":
        if not config.get("NAME") or config["NAME"] == ":memory:":
            raise ImproperlyConfigured(
                f"{name} must name a SQLite file: the web server, the worker and beat "
                "share it, which an in-memory database cannot do."
            )
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA busy_timeout=30000;"
                "PRAGMA foreign_keys=ON;"
            ),
        }
        # One test database per test run, so that two runs on one machine never share it.
        test_name = Path(config["NAME"]).with_suffix(f".test-{os.getpid()}.sqlite3")
        config["TEST"] = {"NAME": str(test_name)}
    elif engine in ("django.db.backends.postgresql",):
        config.setdefault("OPTIONS", {})
        # A connection per request costs more than the request itself (bench/README.md): keep
        # it for a while, checked before reuse so a restarted server costs one retry, no error.
        config["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
        config["CONN_HEALTH_CHECKS"] = True
        # No JIT compiling: PostgreSQL compiles any query whose estimated cost passes
        # jit_above_cost, and stale statistics can give that estimate to any query; compiling
        # takes hundreds of milliseconds where this app's queries run in a few
        # (bench/README.md, "The desk and PostgreSQL's JIT"). Options the URL gives are kept.
        options = config["OPTIONS"].get("options", "")
        if "jit" not in options:
            config["OPTIONS"]["options"] = f"{options} -c jit=off".strip()
    else:
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// or sqlite:/// URL, not {raw.split(':', 1)[0]!r}."
        )
    return config


def cache_config(name: str, default_dir: Path) -> dict:
    """A Django CACHES entry from ``CACHE_URL``.

    The default is a file cache under ``.data/``: unlike per-process memory it is shared by
    every process of ``make run``, which rate limits and the taxpayer switcher rely on.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        default_dir.mkdir(parents=True, exist_ok=True)
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(default_dir),
        }
    parsed = urlparse(raw)
    if parsed.scheme in ("redis", "rediss"):
        return {
            "BACKEND": "factu.cache.RedisCache",
            "LOCATION": raw,
            "KEY_PREFIX": "factu",
        }
    if parsed.scheme == "file":
        if not parsed.path:
            raise ImproperlyConfigured(f"{name}={raw!r} must name a folder: file:///path")
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": parsed.path,
        }
    if parsed.scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ImproperlyConfigured(
        f"{name}={raw!r}: the scheme must be redis://, rediss://, file:// or locmem://."
    )


EMAIL_SCHEMES = {"smtp": ("", 25), "smtp+tls": ("tls", 587), "smtp+ssl": ("ssl", 465)}


def email_config(name: str, default_dir: Path, production: bool = False) -> dict:
    """Django's ``EMAIL_*`` settings from ``EMAIL_URL`` (parsed by dj-email-url).

    Required in production: unset, mail would only be written to files that nobody reads,
    while the invoices' history says "sent". The ``EMAIL_BACKEND`` variable of earlier
    versions is refused rather than ignored, so an upgrade never silently stops the mail.

    ``smtp://user:pass@host:port`` (plain, or STARTTLS with ``?tls=1``), ``smtp+tls://…``
    (STARTTLS, port 587 by default) and ``smtp+ssl://…`` (implicit TLS, 465); ``file:///path``
    writes each message to a file there. Unset: the file backend writing to ``default_dir``,
    whose messages the development outbox shows (:mod:`mailing.outbox`).
    """
    if os.environ.get("EMAIL_BACKEND", "").strip():
        raise ImproperlyConfigured(
            f"EMAIL_BACKEND is no longer read: give the whole configuration as {name} "
            "(smtp+tls://user:pass@host, smtp+ssl://…, smtp://…, file:///path)."
        )
    raw = os.environ.get(name, "").strip()
    if not raw and production:
        raise ImproperlyConfigured(
            f"{name} is required in production (smtp+tls://user:pass@host): without it the "
            "email would only be written to files."
        )
    if not raw:
        default_dir.mkdir(parents=True, exist_ok=True)
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": default_dir,
        }
    try:
        parsed = urlparse(raw)
        scheme = parsed.scheme.lower()
        port = parsed.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} could not be parsed: {exc}") from None
    if scheme in EMAIL_SCHEMES:
        security, default_port = EMAIL_SCHEMES[scheme]
        config = dj_email_url.parse(parsed._replace(scheme="smtp").geturl())
        if security:
            config["EMAIL_USE_TLS"] = security == "tls"
            config["EMAIL_USE_SSL"] = security == "ssl"
        config["EMAIL_PORT"] = port or default_port
        if not parsed.hostname:
            raise ImproperlyConfigured(f"{name} must name the SMTP host: {scheme}://host:port")
    elif scheme == "file":
        config = dj_email_url.parse(raw)
        if not parsed.path:
            raise ImproperlyConfigured(f"{name}={raw!r} must name a folder: file:///path")
        config["EMAIL_FILE_PATH"] = Path(parsed.path)
        config["EMAIL_FILE_PATH"].mkdir(parents=True, exist_ok=True)
    elif scheme in ("console", "memory", "dummy"):
        config = dj_email_url.parse(raw)
    else:
        raise ImproperlyConfigured(
            f"{name}: the scheme must be smtp://, smtp+tls://, smtp+ssl:// or file://, "
            f"not {scheme!r}."
        )
    return {key: value for key, value in config.items() if key.startswith("EMAIL_")}


def default_from_email(name: str, production: bool) -> str:
    """The platform's sender (every email goes From it); required in production, where the
    development default's ``factu.test`` domain would be refused or marked as spam."""
    raw = os.environ.get(name, "").strip()
    if production and (not raw or raw.lower().rstrip(">").endswith(".test")):
        raise ImproperlyConfigured(
            f"{name} is required in production: the platform's address, e.g. "
            "'Factu <facturas@example.com>' (not a .test domain)."
        )
    return raw or "Factu <no-reply@factu.test>"


def broker_url(name: str) -> str:
    """``CELERY_BROKER_URL``; empty means the embedded broker under ``.data/``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return "filesystem://"
    scheme = urlparse(raw).scheme
    if scheme not in ("redis", "rediss", "amqp", "amqps", "filesystem"):
        raise ImproperlyConfigured(
            f"{name}={raw!r}: use redis://, amqp:// or leave it empty for the embedded broker."
        )
    return raw


def secret_key(name: str, data_dir: Path, debug: bool, production: bool) -> str:
    """``SECRET_KEY``, required in production; elsewhere a key kept in ``.data/``.

    A key generated once and kept on disk survives restarts (sessions stay valid) and is never
    a constant shared by every checkout.
    """
    raw = os.environ.get(name, "").strip()
    if raw:
        if production and len(raw) < 32:
            raise ImproperlyConfigured(f"{name} must be at least 32 characters in production.")
        return raw
    if production:
        raise ImproperlyConfigured(f"{name} is required when FACTU_PRODUCTION is set.")
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def encryption_key(name: str, secret: str, production: bool) -> str:
    raw = os.environ.get(name, "").strip()
    if raw:
        if len(raw) < 32:
            raise ImproperlyConfigured(f"{name} must be at least 32 characters.")
        return raw
    if production:
        raise ImproperlyConfigured(f"{name} is required when FACTU_PRODUCTION is set.")
    return "derived-from-secret-key:" + secret


# Names of these settings before FACTU_SIF_*: set, they would silently be ignored, and the
# defaults would take the producer NIF and id that key every chain (new chains at the AEAT).
RENAMED_SIF_SETTINGS = {
    "FACTU_PRODUCER_NAME": "FACTU_SIF_PRODUCER_NAME",
    "FACTU_PRODUCER_NIF": "FACTU_SIF_PRODUCER_NIF",
    "FACTU_SYSTEM_ID": "FACTU_SIF_ID",
    "FACTU_VERSION": "FACTU_SIF_VERSION",
}


def sistema_informatico(prefix: str = "FACTU_SIF_", production: bool = False) -> dict[str, str]:
    """The deployment's SistemaInformatico, which every record states (SPEC §SistemaInformatico).

    Set once by the operator: the producer's name and NIF (the one on the producer's
    declaración responsable), the software's name, its two-character IdSistemaInformatico and
    its version. The defaults describe a development build; each value is checked here so a
    deployment whose records the AEAT would refuse never starts.
    """
    from factu.nif import validate_nif  # no models: safe while settings load

    for old, new in RENAMED_SIF_SETTINGS.items():
        if old in os.environ:
            raise ImproperlyConfigured(f"{old} is now {new}: rename it (it is no longer read).")
    if production:
        for required in ("PRODUCER_NAME", "PRODUCER_NIF"):
            if not os.environ.get(prefix + required, "").strip():
                raise ImproperlyConfigured(
                    f"{prefix}{required} is required in production: every record states the "
                    "producer of the software (the development default is not one)."
                )
    values = {
        "producer_name": env_str(f"{prefix}PRODUCER_NAME", "Factu Software SL").strip(),
        "producer_nif": env_str(f"{prefix}PRODUCER_NIF", "B87654323").strip(),
        "name": env_str(f"{prefix}NAME", "Factu").strip(),
        "system_id": env_str(f"{prefix}ID", "FA").strip(),
        "version": env_str(f"{prefix}VERSION", "1.0").strip(),
    }
    limits = {"producer_name": 120, "name": 30, "version": 50}
    variables = {
        "producer_name": "PRODUCER_NAME",
        "producer_nif": "PRODUCER_NIF",
        "name": "NAME",
        "system_id": "ID",
        "version": "VERSION",
    }
    for key, value in values.items():
        name = prefix + variables[key]
        if not value:
            raise ImproperlyConfigured(f"{name} must not be empty.")
        if any(ord(ch) < 32 or ch in "<>\"'=" for ch in value):
            raise ImproperlyConfigured(f"{name}={value!r} has a character the AEAT refuses.")
        if key in limits and len(value) > limits[key]:
            raise ImproperlyConfigured(f"{name} is at most {limits[key]} characters.")
    try:
        values["producer_nif"] = validate_nif(values["producer_nif"])
    except Exception:  # django's ValidationError, with a Spanish message
        raise ImproperlyConfigured(
            f"{prefix}PRODUCER_NIF={values['producer_nif']!r} is not a valid NIF."
        ) from None
    if not (len(values["system_id"]) == 2 and values["system_id"].isascii()):
        raise ImproperlyConfigured(
            f"{prefix}ID={values['system_id']!r} must be two characters "
            "(IdSistemaInformatico, assigned by the producer)."
        )
    if not values["system_id"].isalnum():
        raise ImproperlyConfigured(f"{prefix}ID={values['system_id']!r} must be letters or digits.")
    return values
