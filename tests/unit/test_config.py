from __future__ import annotations

from pathlib import Path

import pytest

from prwatch.config import ConfigError, load_settings
from tests.keys import sample_private_key


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("PRWATCH_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_embedded_mode() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./prwatch.db"
    assert settings.redis_url is None
    assert settings.github_api_url == "https://api.github.com"
    assert settings.sweep_interval_seconds == 300
    assert settings.webhook_secret == ()


def test_reads_every_public_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text(sample_private_key())
    monkeypatch.setenv("PRWATCH_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("PRWATCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("PRWATCH_GITHUB_API_URL", "http://127.0.0.1:9000/")
    monkeypatch.setenv("PRWATCH_APP_ID", "42")
    monkeypatch.setenv("PRWATCH_PRIVATE_KEY_PATH", str(key))
    monkeypatch.setenv("PRWATCH_WEBHOOK_SECRET", "new-secret-0123456789, old-secret-0123456789")
    monkeypatch.setenv("PRWATCH_SWEEP_INTERVAL_SECONDS", "60")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.github_api_url == "http://127.0.0.1:9000"
    assert settings.require_app_credentials() == (42, sample_private_key())
    assert settings.webhook_secret == ("new-secret-0123456789", "old-secret-0123456789")
    assert settings.sweep_interval_seconds == 60


def test_inline_private_key_wins_over_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRWATCH_APP_ID", "7")
    monkeypatch.setenv("PRWATCH_PRIVATE_KEY", sample_private_key())
    assert load_settings().require_app_credentials() == (7, sample_private_key())


def test_empty_redis_url_means_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRWATCH_REDIS_URL", "")
    assert load_settings().redis_url is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PRWATCH_DATABASE_URL", "mysql://localhost/db"),
        ("PRWATCH_REDIS_URL", "http://localhost"),
        ("PRWATCH_GITHUB_API_URL", "api.github.com"),
        ("PRWATCH_APP_ID", "not-a-number"),
        ("PRWATCH_PRIVATE_KEY_PATH", "/no/such/key.pem"),
        ("PRWATCH_SWEEP_INTERVAL_SECONDS", "0"),
        ("PRWATCH_SWEEP_INTERVAL_SECONDS", "often"),
    ],
)
def test_bad_values_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert variable in str(raised.value)
    assert "Traceback" not in str(raised.value)


def test_every_bad_variable_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRWATCH_APP_ID", "x")
    monkeypatch.setenv("PRWATCH_SWEEP_INTERVAL_SECONDS", "-1")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "PRWATCH_APP_ID" in str(raised.value)
    assert "PRWATCH_SWEEP_INTERVAL_SECONDS" in str(raised.value)


def test_missing_app_credentials_are_named() -> None:
    with pytest.raises(ConfigError, match="PRWATCH_APP_ID"):
        load_settings().require_app_credentials()


def test_nothing_is_read_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import prwatch.config

    monkeypatch.setenv("PRWATCH_APP_ID", "not-a-number")
    importlib.reload(prwatch.config)  # importing must not validate the environment


def test_config_masks_passwords_in_urls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prwatch.cli import main

    monkeypatch.setenv("PRWATCH_DATABASE_URL", "postgresql+asyncpg://prwatch:hunter2@db/prwatch")
    monkeypatch.setenv("PRWATCH_REDIS_URL", "redis://:redis-pass@cache:6379/0")
    monkeypatch.setenv("PRWATCH_CLIENT_SECRET", "client-secret-value")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "redis-pass" not in out and "client-secret-value" not in out
    assert "PRWATCH_DATABASE_URL=postgresql+asyncpg://prwatch:***@db/prwatch" in out
    assert "PRWATCH_REDIS_URL=redis://:***@cache:6379/0" in out


def test_a_short_webhook_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from prwatch import config  # as now imported (another test reloads the module)

    monkeypatch.setenv("PRWATCH_WEBHOOK_SECRET", "long-enough-secret-1,x")
    with pytest.raises(
        config.ConfigError, match="PRWATCH_WEBHOOK_SECRET: each secret must be at least 16"
    ):
        config.load_settings()
