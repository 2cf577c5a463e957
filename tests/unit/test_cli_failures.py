"""A command that cannot do its work says why in one line and exits non-zero; --debug adds
the traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def test_a_worker_with_a_bad_key_is_one_line(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'prwatch.db'}"
    malformed = prwatch(
        "worker",
        PRWATCH_DATABASE_URL=database,
        PRWATCH_APP_ID="1",
        PRWATCH_REDIS_URL=UNREACHABLE_REDIS,
        PRWATCH_PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\nnot a key\n",
    )
    assert_one_line(malformed, "PRWATCH_PRIVATE_KEY", "PEM")
    assert malformed.returncode == 2
    debug = prwatch("--debug", "db", "current", PRWATCH_DATABASE_URL=UNREACHABLE_POSTGRES)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


@pytest.mark.parametrize(
    ("database", "waiting_for"),
    [(UNREACHABLE_POSTGRES, "database"), (None, "Redis")],
    ids=["database", "redis"],
)
def test_a_worker_waits_for_a_service_that_does_not_answer_until_stopped(
    tmp_path: Path, database: str | None, waiting_for: str
) -> None:
    """As in docker compose, where a worker may start before its services: it waits (one
    line), and a SIGTERM ends the wait with status 0. ``prwatch sweep`` and ``prwatch db``
    keep failing at once (above)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRWATCH_")}
    env.update(
        PRWATCH_DATABASE_URL=database or f"sqlite+aiosqlite:///{tmp_path / 'prwatch.db'}",
        PRWATCH_APP_ID="1",
        PRWATCH_PRIVATE_KEY=sample_private_key(),
        PRWATCH_REDIS_URL=UNREACHABLE_REDIS,
        PRWATCH_LOG_FORMAT="json",
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "prwatch.cli", "worker"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while f"{waiting_for} unreachable: waiting" not in log.read_text():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        time.sleep(1.0)  # several attempts: still one line
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
    output = log.read_text()
    assert output.count("unreachable: waiting") == 1, output
    assert "Traceback" not in output, output


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
