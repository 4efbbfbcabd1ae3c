"""docker-compose.yml describes the production stack (no Docker engine runs here)."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ["migrate", "web", "worker", "beat"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services(compose):
    assert set(compose["services"]) == {"db", "redis", *APP_SERVICES}


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
