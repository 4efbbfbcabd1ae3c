"""The per-token rate limit: fixed window, 429 with Retry-After, headers on every response,
and an exact count across processes on Redis."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.test import override_settings
from django_ratelimit import core as ratelimit_core

from api import ratelimit
from api.services import create_token, hash_token
from tests.conftest import redis_url

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
PING = "/api/ping"
HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture(autouse=True)
def _private_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


class Clock:
    """Stands in for ``time`` inside django_ratelimit.core: tests move it, never sleep."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(1_800_000_000.0)
    monkeypatch.setattr(ratelimit_core, "time", fake)
    return fake


@pytest.fixture
def raw(account, owner):
    return create_token(account, owner, "ERP")[1]


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def window_start(clock: Clock, raw: str, period: int) -> None:
    """Move the clock to the first second of a window of this token's key."""
    ts = int(clock.now)
    while ratelimit_core._get_window(hash_token(raw), period) != ts + period - 1:
        ts += 1
        clock.now = float(ts)


def test_the_default_is_100_per_minute(settings):
    assert settings.API_RATE_LIMIT == 100
    assert settings.API_RATE_WINDOW == 60


def test_request_n_plus_1_is_429_and_the_next_window_admits_again(client, raw, settings, clock):
    settings.API_RATE_LIMIT = 3
    settings.API_RATE_WINDOW = 60
    window_start(clock, raw, 60)
    for remaining in (2, 1, 0):
        response = client.get(PING, headers=bearer(raw))
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "3"
        assert response["X-RateLimit-Remaining"] == str(remaining)
        assert response["X-RateLimit-Reset"] == "60"
    clock.now += 59
    refused = client.get(PING, headers=bearer(raw))
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["X-RateLimit-Reset"] == "1"
    assert refused.json()["error"]["code"] == "rate_limited"
    clock.now += 1
    again = client.get(PING, headers=bearer(raw))
    assert again.status_code == 200
    assert again["X-RateLimit-Remaining"] == "2"
    assert again["X-RateLimit-Reset"] == "60"


def test_refused_requests_do_no_work(client, raw, settings, clock):
    from api.models import ApiPing

    settings.API_RATE_LIMIT = 1
    window_start(clock, raw, 60)
    first = client.post(PING, {}, content_type="application/json", headers=bearer(raw))
    assert first.status_code == 201
    refused = client.post(PING, {}, content_type="application/json", headers=bearer(raw))
    assert refused.status_code == 429
    assert ApiPing.objects.count() == 1


def test_each_token_has_its_own_counter(client, raw, account, owner, settings, clock):
    settings.API_RATE_LIMIT = 1
    other = create_token(account, owner, "Otro")[1]
    assert client.get(PING, headers=bearer(raw)).status_code == 200
    assert client.get(PING, headers=bearer(other)).status_code == 200
    assert client.get(PING, headers=bearer(raw)).status_code == 429


def test_headers_on_every_response_that_presented_a_token(client, raw):
    responses = [
        client.get(PING, headers=bearer(raw)),  # 200
        client.get(PING, headers=bearer("kf_" + "Z" * 32)),  # 401 unknown
        client.get(PING, headers={"Authorization": "Bearer nonsense"}),  # 401 malformed
        client.get("/api/nothing-here", headers=bearer(raw)),  # 404
        client.delete(PING, headers=bearer(raw)),  # 405
        client.post(PING, "{", content_type="application/json", headers=bearer(raw)),  # 400
    ]
    assert [r.status_code for r in responses] == [200, 401, 401, 404, 405, 400]
    for response in responses:
        for name in HEADERS:
            assert response.has_header(name), (response.status_code, name)
    assert responses[0]["X-RateLimit-Limit"] == "100"
    assert 1 <= int(responses[0]["X-RateLimit-Reset"]) <= 60
    # no token presented: nothing to count against
    assert not client.get(PING).has_header("X-RateLimit-Limit")
    # pages outside /api/ are never counted
    assert not client.get("/entrar/", headers=bearer(raw)).has_header("X-RateLimit-Limit")


def test_unknown_tokens_are_limited_too(client, settings):
    settings.API_RATE_LIMIT = 2
    guess = bearer("kf_" + "Q" * 32)
    assert [client.get(PING, headers=guess).status_code for _ in range(3)] == [401, 401, 429]


def test_a_short_window_resets_on_the_clock(client, raw, settings, time_machine):
    """A 2-second window on the real ``time.time`` (moved by time-machine, never slept
    through): N+1 is refused, the next window admits again."""
    settings.API_RATE_LIMIT = 2
    settings.API_RATE_WINDOW = 2
    time_machine.move_to(1_900_000_000.0, tick=False)
    first = client.get(PING, headers=bearer(raw))
    time_machine.shift(int(first["X-RateLimit-Reset"]))  # the first second of a fresh window
    statuses = [client.get(PING, headers=bearer(raw)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    refused = statuses[-1]
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 2
    time_machine.shift(retry_after - 0.5)
    assert client.get(PING, headers=bearer(raw)).status_code == 429  # not yet
    time_machine.shift(0.5)
    assert client.get(PING, headers=bearer(raw)).status_code == 200


# -- Redis: atomic across processes ---------------------------------------------------------

CHILD = """
import json, sys
import django
django.setup()
from django.http import HttpRequest
from api import ratelimit
key, n = sys.argv[1], int(sys.argv[2])
counts = [ratelimit.hit(HttpRequest(), key).count for _ in range(n)]
print(json.dumps(counts))
"""


def redis_cache(url: str, prefix: str) -> dict:
    return {
        "default": {
            "BACKEND": "factu.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }


def in_two_processes(env: dict, script: str, *args: str) -> list[str]:
    """Run ``python -c script args`` in two processes at once; their outputs, each exited 0."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outputs.append(out)
    return outputs


@pytest.mark.redis
def test_two_processes_share_an_exact_count_on_redis(tmp_path):
    url = redis_url()
    per_process, window = 300, 3600
    # a key whose window does not end during the test
    while True:
        key = uuid.uuid4().hex
        if ratelimit_core._get_window(key, window) - time.time() > 120:
            break
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "factu.settings",
        "CACHE_URL": url,
        "API_RATE_LIMIT": "100000",
        "API_RATE_WINDOW": str(window),
        "FACTU_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    with override_settings(
        CACHES=redis_cache(url, "factu"), API_RATE_LIMIT=100000, API_RATE_WINDOW=window
    ):
        counts = []
        for out in in_two_processes(env, CHILD, key, str(per_process)):
            counts.extend(json.loads(out))
        # every INCR saw a distinct value: none lost, none doubled
        assert sorted(counts) == list(range(1, 2 * per_process + 1))
        from django.http import HttpRequest

        assert ratelimit.hit(HttpRequest(), key).count == 2 * per_process + 1


@pytest.mark.redis
def test_the_api_counts_on_redis(client, raw, settings, clock):
    settings.CACHES = redis_cache(redis_url(), f"factu-test-{uuid.uuid4().hex[:8]}")
    settings.API_RATE_LIMIT = 2
    window_start(clock, raw, 60)
    statuses = [client.get(PING, headers=bearer(raw)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[-1]["Retry-After"] == "60"


def test_an_unreachable_counter_is_a_json_503_not_a_crash(client, raw, monkeypatch):
    def down(request, key):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(ratelimit, "hit", down)
    response = client.get(PING, headers=bearer(raw))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response["Retry-After"] == "5"


def test_an_outage_logs_one_traceback_per_interval_not_one_per_request(
    client, raw, monkeypatch, caplog
):
    from api import middleware

    def down(request, key):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(ratelimit, "hit", down)
    monkeypatch.setattr(middleware, "_outage_logged_at", float("-inf"))
    with caplog.at_level("DEBUG", logger="api"):
        statuses = [client.get(PING, headers=bearer(raw)).status_code for _ in range(5)]
    assert statuses == [503] * 5
    ours = [r for r in caplog.records if r.name == "api"]
    errors = [r for r in ours if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert sum(r.levelname == "DEBUG" for r in ours) == 4
    monkeypatch.setattr(middleware, "_outage_logged_at", float("-inf"))  # the interval passed
    client.get(PING, headers=bearer(raw))
    assert sum(r.name == "api" and r.levelname == "ERROR" for r in caplog.records) == 2


HTTP_CHILD = """
import json, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factu.settings")
django.setup()
from django.test import Client
raw, n = sys.argv[1], int(sys.argv[2])
client = Client()
statuses = [
    client.get("/api/ping", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code for _ in range(n)
]
print(json.dumps(statuses))
"""


@pytest.mark.redis
@pytest.mark.slow
def test_two_processes_share_one_limit_and_request_101_is_429(transactional_db, account, owner):
    from tests.processes import child_env

    url, window = redis_url(), 3600
    while True:  # a token whose hour-long window does not end during the test
        token, raw = create_token(account, owner, f"ERP {uuid.uuid4().hex[:6]}")
        if ratelimit_core._get_window(hash_token(raw), window) - time.time() > 120:
            break
    env = child_env(
        CACHE_URL=url, API_RATE_LIMIT="100", API_RATE_WINDOW=str(window), ALLOWED_HOSTS="testserver"
    )
    statuses = []
    for out in in_two_processes(env, HTTP_CHILD, raw, "50"):
        statuses += json.loads(out.strip().splitlines()[-1])
    assert statuses == [200] * 100
    with override_settings(
        CACHES=redis_cache(url, "factu"), API_RATE_LIMIT=100, API_RATE_WINDOW=window
    ):
        from django.test import Client

        refused = Client().get(PING, headers=bearer(raw))
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= window
    assert refused["X-RateLimit-Remaining"] == "0"


class TickingClock(Clock):
    """A clock whose second ends between two readings, as it does for a request counted
    across the last tick of its window."""

    def time(self) -> float:
        now = self.now
        self.now += 1
        return now


def test_a_request_counted_across_the_windows_last_tick_is_not_refused(
    client, raw, settings, monkeypatch
):
    settings.API_RATE_LIMIT = 1000
    start = Clock(1_800_000_000.0)
    monkeypatch.setattr(ratelimit_core, "time", start)
    window_start(start, raw, 60)
    ticking = TickingClock(start.now + 59)  # the window's last second, then the next
    monkeypatch.setattr(ratelimit_core, "time", ticking)
    response = client.get(PING, headers=bearer(raw))
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "999"
    assert response["X-RateLimit-Reset"] == "1"
