"""A command that cannot do its work says why in one line and exits non-zero; --debug adds
the traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.keys import sample_private_key

UNREACHABLE_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/prwatch"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def prwatch(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRWATCH_")}
    env.update(settings)
    return subprocess.run(
        [sys.executable, "-m", "prwatch.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *names: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("prwatch: ")
    for name in names:
        assert name in result.stderr, result.stderr


def test_an_unreachable_or_missing_database_is_one_line(tmp_path: Path) -> None:
    assert_one_line(
        prwatch("db", "current", PRWATCH_DATABASE_URL=UNREACHABLE_POSTGRES),
        "PRWATCH_DATABASE_URL",
    )
    missing = f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/prwatch.db"
    assert_one_line(prwatch("db", "upgrade", PRWATCH_DATABASE_URL=missing), "PRWATCH_DATABASE_URL")


def test_a_worker_without_its_services_or_with_a_bad_key_is_one_line(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'prwatch.db'}"
    settings = {"PRWATCH_DATABASE_URL": database, "PRWATCH_APP_ID": "1"}
    malformed = prwatch(
        "worker",
        **settings,
        PRWATCH_REDIS_URL=UNREACHABLE_REDIS,
        PRWATCH_PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\nnot a key\n",
    )
    assert_one_line(malformed, "PRWATCH_PRIVATE_KEY", "PEM")
    assert malformed.returncode == 2
    no_redis = prwatch(
        "worker",
        **settings,
        PRWATCH_REDIS_URL=UNREACHABLE_REDIS,
        PRWATCH_PRIVATE_KEY=sample_private_key(),
    )
    assert_one_line(no_redis, "PRWATCH_REDIS_URL")
    no_database = prwatch(
        "worker",
        PRWATCH_DATABASE_URL=UNREACHABLE_POSTGRES,
        PRWATCH_APP_ID="1",
        PRWATCH_PRIVATE_KEY=sample_private_key(),
        PRWATCH_REDIS_URL=UNREACHABLE_REDIS,
    )
    assert_one_line(no_database, "PRWATCH_DATABASE_URL")
    debug = prwatch("--debug", "db", "current", PRWATCH_DATABASE_URL=UNREACHABLE_POSTGRES)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_a_closed_output_is_one_line_and_exit_141() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRWATCH_")}
    # `prwatch config | head -0`: the reader is gone before the first line is written.
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "prwatch.cli", "config"],
            env=env,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(writer)
    assert result.returncode == 141
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
