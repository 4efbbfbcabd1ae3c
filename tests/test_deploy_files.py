"""docker-compose.yml describes the production stack (no Docker engine runs here): the files
are read as data, and the settings they select are run for real in a subprocess."""

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.test_security import manage, production_env

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ["migrate", "web", "worker", "beat"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services(compose):
    assert set(compose["services"]) == {"proxy", "db", "redis", *APP_SERVICES}


@pytest.mark.parametrize("name", ["db", "redis", "web", "worker"])
def test_long_running_services_have_health_checks(compose, name):
    assert compose["services"][name]["healthcheck"]["test"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_get_the_production_environment(compose, name):
    environment = compose["services"][name]["environment"]
    assert environment["FACTU_PRODUCTION"] == "true"
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert environment["DATABASE_URL"].endswith("@db:5432/factu")
    assert environment["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert environment["CACHE_URL"].startswith("redis://redis:6379/")
    for required in (
        "SECRET_KEY",
        "FACTU_ENCRYPTION_KEY",
        "FACTU_SIF_PRODUCER_NAME",
        "FACTU_SIF_PRODUCER_NIF",
        "EMAIL_URL",
        "DEFAULT_FROM_EMAIL",
    ):
        assert ":?" in environment[required], f"{required} must be required, not defaulted"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_database_and_redis(compose, name):
    depends = compose["services"][name]["depends_on"]
    assert depends["db"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"


def test_app_services_run_the_right_commands(compose):
    services = compose["services"]
    assert services["web"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][:4] == ["celery", "-A", "factu", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "factu", "beat"]
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]


def test_dockerfile_installs_the_pinned_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert "collectstatic" in dockerfile


def test_requirements_are_all_pinned():
    for name in ("requirements.txt", "requirements-test.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r")):
                assert "==" in line, f"{name}: {line} is not pinned"


# -- the reverse proxy: TLS in front of gunicorn, and the one source of X-Forwarded-Proto ------


def test_only_the_proxy_publishes_ports_and_gunicorn_is_not_published(compose):
    published = {name: s.get("ports", []) for name, s in compose["services"].items()}
    assert {name for name, ports in published.items() if ports} == {"proxy"}, published
    assert sorted(published["proxy"]) == ["443:443", "80:80"]
    web = compose["services"]["web"]
    assert "ports" not in web and "network_mode" not in web
    assert web["expose"] == ["8000"]
    assert "0.0.0.0:8000" in web["command"]  # listens inside its networks only


def test_the_proxy_terminates_tls_and_forwards_to_gunicorn(compose):
    proxy = compose["services"]["proxy"]
    assert re.fullmatch(r"caddy:2\.\d+", proxy["image"]), proxy["image"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    lines = [line.strip() for line in caddyfile.splitlines() if not line.lstrip().startswith("#")]
    assert "tls {$FACTU_TLS:internal}" in lines
    assert proxy["environment"]["FACTU_TLS"] == "${FACTU_TLS:-internal}"
    assert "reverse_proxy web:8000" in lines
    # Caddy trusts no client's X-Forwarded-* unless told to: it must never be told.
    assert "trusted_proxies" not in "\n".join(lines)
    assert "header_up X-Forwarded-Proto" not in "\n".join(lines)


def test_the_forwarded_header_is_trusted_by_web_alone_and_only_the_proxy_reaches_web(compose):
    services = compose["services"]
    trusting = {n for n, s in services.items() if s.get("environment", {}).get("FACTU_TRUST_PROXY")}
    assert trusting == {"web"}
    assert services["web"]["environment"]["FACTU_TRUST_PROXY"] == "true"
    # The front network joins the proxy and web, nothing else.
    on_front = {n for n, s in services.items() if "front" in s.get("networks", [])}
    assert on_front == {"proxy", "web"}
    # Every service names its networks: none falls back to a default network shared by all.
    assert all(s.get("networks") for s in services.values())
    assert set(compose["networks"]) == {"front", "back"}


def request_scheme(env: dict[str, str]) -> dict:
    """How the configured app sees a plain-HTTP request claiming X-Forwarded-Proto: https."""
    script = (
        "import json; from django.conf import settings; from django.test import RequestFactory; "
        "from django.middleware.security import SecurityMiddleware; "
        "from django.http import HttpResponse; "
        "r = RequestFactory().get('/entrar/', HTTP_HOST='factu.example.com', "
        "HTTP_X_FORWARDED_PROTO='https'); "
        "answer = SecurityMiddleware(lambda q: HttpResponse('ok'))(r); "
        "print(json.dumps({'secure': r.is_secure(), 'status': answer.status_code, "
        "'location': answer.get('Location'), "
        "'header': getattr(settings, 'SECURE_PROXY_SSL_HEADER', None)}))"
    )
    result = manage(env, "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_the_proxy_a_forged_forwarded_proto_is_not_https(tmp_path):
    """The default production deployment (gunicorn reached directly) ignores the header: a
    client claiming HTTPS over plain HTTP is still redirected to HTTPS, never served."""
    seen = request_scheme(production_env(tmp_path))
    assert seen["header"] is None
    assert seen["secure"] is False
    assert seen["status"] == 301 and seen["location"] == "https://factu.example.com/entrar/"
    development = request_scheme(production_env(tmp_path, production=False))
    assert development["header"] is None and development["secure"] is False


def test_behind_the_proxy_its_forwarded_proto_is_trusted(tmp_path):
    seen = request_scheme({**production_env(tmp_path), "FACTU_TRUST_PROXY": "true"})
    assert seen["header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert seen["secure"] is True and seen["status"] == 200
