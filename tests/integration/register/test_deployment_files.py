"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine): check their shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    result: dict[str, Any] = compose["services"]
    return result


def test_services_and_commands(services: dict[str, Any]) -> None:
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker"}
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["migrate"]["command"] == ["prwatch", "db", "upgrade"]
    assert services["web"]["command"] == ["prwatch", "serve"]
    assert services["worker"]["command"] == ["prwatch", "worker"]
    assert services["worker"]["deploy"]["replicas"] == 2


def test_migrations_run_before_web_and_workers(services: dict[str, Any]) -> None:
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


def test_prwatch_services_share_one_configuration(services: dict[str, Any]) -> None:
    for name in ("migrate", "web", "worker"):
        service = services[name]
        assert service["env_file"] == ".env"
        environment = service["environment"]
        assert environment["PRWATCH_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert environment["PRWATCH_DATABASE_URL"].endswith("@postgres:5432/prwatch")
        assert environment["PRWATCH_REDIS_URL"] == "redis://redis:6379/0"
        assert environment["PRWATCH_PRIVATE_KEY_PATH"] == "/run/secrets/github_app_key"
        assert service["secrets"] == ["github_app_key"]
        # Every process's metrics on a listener of its own, reachable in the compose network.
        assert environment["PRWATCH_METRICS_PORT"] == "9100"


def test_the_web_app_is_published_on_the_loopback_only(services: dict[str, Any]) -> None:
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert all("ports" not in services[name] for name in ("worker", "postgres", "redis"))


def test_dockerfile_installs_and_drops_root() -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    assert any(line.startswith("RUN pip install .") for line in lines)
    user = [line for line in lines if line.startswith("USER ")]
    assert user == ["USER prwatch"]
    assert lines.index(user[0]) > max(i for i, line in enumerate(lines) if line.startswith("RUN"))
    assert "PRWATCH_HOST=0.0.0.0" in (REPO_ROOT / "Dockerfile").read_text()
