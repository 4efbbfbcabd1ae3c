"""Settings come from the environment; a bad value stops start-up naming the variable."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from factu import env

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("name", "value", "reader"),
    [
        ("DEBUG", "maybe", lambda: env.env_bool("DEBUG", False)),
        ("PORT", "eighty", lambda: env.env_int("PORT", 8000)),
        (
            "DATABASE_URL",
            "mysql://x@y/z",
            lambda: env.database_config("DATABASE_URL", Path("/tmp/x")),
        ),
        (
            "DATABASE_URL",
            "sqlite://:memory:",
            lambda: env.database_config("DATABASE_URL", Path("/tmp/x")),
        ),
        (
            "CACHE_URL",
            "memcached://127.0.0.1",
            lambda: env.cache_config("CACHE_URL", Path("/tmp/x")),
        ),
        ("CELERY_BROKER_URL", "sqs://queue", lambda: env.broker_url("CELERY_BROKER_URL")),
    ],
)
def test_bad_values_name_the_variable(monkeypatch, name, value, reader):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        reader()


def test_production_requires_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        env.secret_key("SECRET_KEY", tmp_path, debug=False, production=True)


def test_development_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = env.secret_key("SECRET_KEY", tmp_path, debug=False, production=False)
    assert len(first) >= 50
    assert env.secret_key("SECRET_KEY", tmp_path, debug=False, production=False) == first


def test_defaults_are_embedded(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    db = env.database_config("DATABASE_URL", tmp_path / "f.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    cache = env.cache_config("CACHE_URL", tmp_path / "cache")
    assert cache["BACKEND"].endswith("FileBasedCache")
    assert env.broker_url("CELERY_BROKER_URL") == "filesystem://"


def test_redis_and_postgres_urls_switch_backends(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/1")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    db = env.database_config("DATABASE_URL", tmp_path)
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"]) == (60, True)
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "0")
    assert env.database_config("DATABASE_URL", tmp_path)["CONN_MAX_AGE"] == 0
    assert env.cache_config("CACHE_URL", tmp_path)["BACKEND"].endswith("RedisCache")
    assert env.broker_url("CELERY_BROKER_URL") == "redis://127.0.0.1:6379/0"


def test_postgresql_connections_are_never_jit_compiled_and_url_options_are_kept(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    assert env.database_config("DATABASE_URL", tmp_path)["OPTIONS"]["options"] == "-c jit=off"
    monkeypatch.setenv(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?options=-c%20work_mem%3D8MB"
    )
    options = env.database_config("DATABASE_URL", tmp_path)["OPTIONS"]["options"]
    assert options == "-c work_mem=8MB -c jit=off"


def test_the_live_postgresql_connection_runs_without_jit(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_start_up_fails_loudly_on_a_bad_value(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "maybe", "FACTU_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_sqlite_runs_in_wal_mode_when_it_is_the_database(db):
    if connection.vendor != "sqlite":
        pytest.skip("only meaningful on SQLite (the embedded default)")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 30000


def test_times_are_stored_in_utc_and_shown_in_madrid(settings):
    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "Europe/Madrid"
    assert settings.LANGUAGE_CODE == "es"


def test_error_reports_mask_passwords_inside_urls(settings):
    from django.views.debug import get_default_exception_reporter_filter

    settings.CELERY_BROKER_URL = "redis://:br0ker-pw@redis.internal:6379/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://cache:c4che-pw@redis.internal:6379/1",
        }
    }
    settings.AEAT_ENDPOINT = "https://www1.agenciatributaria.gob.es/wlpl/x"
    shown = get_default_exception_reporter_filter().get_safe_settings()
    text = repr(shown)
    assert "br0ker-pw" not in text and "c4che-pw" not in text
    assert shown["CELERY_BROKER_URL"] == "redis://:********************@redis.internal:6379/0"
    assert shown["CACHES"]["default"]["LOCATION"].startswith("redis://cache:****")
    assert shown["AEAT_ENDPOINT"] == settings.AEAT_ENDPOINT


def test_a_redis_cache_url_selects_the_backend_that_shares_its_redis_client(monkeypatch):
    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/3")
    assert env.cache_config("CACHE_URL", Path("/tmp/x"))["BACKEND"] == "factu.cache.RedisCache"


@pytest.mark.redis
def test_the_redis_cache_reuses_one_client_and_still_counts_exactly():
    import uuid

    from factu.cache import RedisCache
    from tests.conftest import redis_url

    cache = RedisCache(redis_url(), {"KEY_PREFIX": f"factu-test-{uuid.uuid4().hex[:8]}"})
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    assert cache.add("hits", 0, timeout=60) is True
    assert [cache.incr("hits") for _ in range(3)] == [1, 2, 3]
    assert cache.get("hits") == 3
    assert cache._cache.get_client() is client
    cache.delete("hits")


@pytest.mark.redis
def test_the_redis_cache_increments_in_one_command_and_never_creates_a_missing_key(
    monkeypatch,
):
    import uuid

    from factu.cache import RedisCache
    from tests.conftest import redis_url

    cache = RedisCache(redis_url(), {"KEY_PREFIX": f"factu-test-{uuid.uuid4().hex[:8]}"})
    cache.add("hits", 5, timeout=60)
    assert cache.incr("hits", 2) == 7  # loads the script
    client = cache._cache.get_client(write=True)
    sent = []
    execute = client.execute_command
    monkeypatch.setattr(
        client, "execute_command", lambda *args, **kw: sent.append(args[0]) or execute(*args, **kw)
    )
    assert cache.incr("hits") == 8
    assert sent == ["EVALSHA"]
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")
    monkeypatch.undo()
    assert cache.get("missing") is None
    assert client.ttl(cache.make_key("hits")) > 0  # the increment kept the key's expiry
    cache.delete("hits")


FROZEN_PROBE = """
import gc, json
import factu.wsgi
from django.urls import get_resolver
print(json.dumps({"frozen": gc.get_freeze_count(), "urls": get_resolver()._populated,
                  "young": len(gc.get_objects())}))
"""


def test_a_web_worker_freezes_what_it_builds_at_start_up(tmp_path):
    """The objects made at start-up (URL patterns included) are frozen for the collector,
    so its full passes walk only what requests create (see factu/wsgi.py)."""
    import json

    from tests.processes import child_env

    result = subprocess.run(
        [sys.executable, "-c", FROZEN_PROBE],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["urls"] is True
    assert probe["frozen"] > 50_000 and probe["young"] < probe["frozen"] / 10, probe
