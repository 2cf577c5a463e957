"""``prwatch token create|list|revoke`` as a user runs them (subprocesses)."""

from __future__ import annotations

import re
from pathlib import Path

from prwatch.access.tokens import is_well_formed
from tests.integration.processes.harness import base_environment, run_prwatch


def test_create_list_revoke(tmp_path: Path) -> None:
    env = base_environment(PRWATCH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    created = run_prwatch(["token", "create", "ci", "--installation", "11"], env, tmp_path)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert is_well_formed(token) and len(token) >= 40
    other = run_prwatch(["token", "create", "grafana", "--expires-in", "30"], env, tmp_path)
    assert other.stdout.strip().splitlines()[-1] != token

    again = run_prwatch(["token", "create", "ci"], env, tmp_path)
    assert again.returncode == 1 and "exists already" in again.stderr

    listed = run_prwatch(["token", "list"], env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert token not in listed.stdout and "prwatch_" not in listed.stdout
    ci = next(line for line in listed.stdout.splitlines() if line.startswith("ci "))
    assert re.search(r"\b11\b", ci) and "never" in ci
    grafana = next(line for line in listed.stdout.splitlines() if line.startswith("grafana "))
    assert re.search(r"\ball\b", grafana) and "never" not in grafana
    for stored in tmp_path.glob("p.db*"):  # the database and its WAL keep only a hash
        assert token.encode() not in stored.read_bytes()

    revoked = run_prwatch(["token", "revoke", "ci"], env, tmp_path)
    assert revoked.returncode == 0
    assert "ci " not in run_prwatch(["token", "list"], env, tmp_path).stdout
    unknown = run_prwatch(["token", "revoke", "ci"], env, tmp_path)
    assert unknown.returncode == 1 and "no token named 'ci'" in unknown.stderr


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    env = base_environment(PRWATCH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    for args in (
        ["token", "create", "x", "--installation", "0"],
        ["token", "create", "x", "--expires-in", "-1"],
        ["token", "create", " padded "],
    ):
        result = run_prwatch(args, env, tmp_path)
        assert result.returncode == 2 and result.stdout == "", (args, result.stderr)
