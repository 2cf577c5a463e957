from __future__ import annotations

import os
import subprocess
import sys

import pytest

from prwatch.cli import main


def test_config_error_is_one_line_and_exit_2() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRWATCH_")}
    env["PRWATCH_DATABASE_URL"] = "mysql://nowhere/db"
    result = subprocess.run(
        [sys.executable, "-m", "prwatch.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "PRWATCH_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["no-such-command"])
    assert raised.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
