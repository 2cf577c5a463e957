"""The ``prwatch`` command as a user runs it: ``sweep`` against a simulator process, ``db``."""

from __future__ import annotations

import re
from pathlib import Path

from prwatch.store import head_revision
from tests.integration.processes.harness import (
    base_environment,
    processes,
    run_prwatch,
    start_simulator,
)


def test_sweep_prints_its_summary_and_fails_when_a_repository_fails(tmp_path: Path) -> None:
    with processes(tmp_path) as group:
        sim = start_simulator(group, extra=("--repos", "3", "--prs", "6", "--seed", "5"))
        env = base_environment(
            **sim.settings,
            PRWATCH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'prwatch.db'}",
            PRWATCH_SWEEP_BACKOFF_SECONDS="0",
            PRWATCH_SWEEP_RETRY_ATTEMPTS="1",
        )

        first = run_prwatch(["sweep", "--no-progress"], env, tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "repositories ok / failed" in first.stdout
        assert "3 / 0" in first.stdout
        # 3 repositories of 6 pull requests, all new
        assert re.search(r"pull requests seen\W+18\b", first.stdout), first.stdout
        assert "failed" not in first.stderr

        repositories = [repo for repo in sim.truth()["repositories"] if not repo["deleted"]]
        broken = repositories[0]
        sim.configure(fault_5xx_rate=1.0, fault_repositories=[broken["id"]])
        second = run_prwatch(["sweep", "--no-progress"], env, tmp_path)
        assert second.returncode == 1, second.stdout + second.stderr
        assert "2 / 1" in second.stdout
        assert f"failed {broken['full_name']}" in second.stderr
        for healthy in repositories[1:]:
            assert f"failed {healthy['full_name']}" not in second.stderr

        sim.configure(fault_5xx_rate=0.0, fault_repositories=None)
        third = run_prwatch(["sweep", "--no-progress"], env, tmp_path)
        assert third.returncode == 0, third.stdout + third.stderr
        assert "3 / 0" in third.stdout


def test_sweep_without_app_credentials_names_the_missing_settings(tmp_path: Path) -> None:
    env = base_environment(PRWATCH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    result = run_prwatch(["sweep", "--no-progress"], env, tmp_path)
    assert result.returncode == 2
    assert "PRWATCH_APP_ID" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "p.db").exists()  # failed before opening anything


def test_db_upgrade_and_current_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    env = base_environment(PRWATCH_DATABASE_URL=f"sqlite+aiosqlite:///{database}")
    head = head_revision()

    before = run_prwatch(["db", "current"], env, tmp_path)
    assert before.returncode == 0, before.stderr
    assert before.stdout.strip() == f"empty (head: {head})"

    upgrade = run_prwatch(["db", "upgrade"], env, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.strip() == "database at head"
    assert database.is_file()

    after = run_prwatch(["db", "current"], env, tmp_path)
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == f"{head} (head: {head})"

    again = run_prwatch(["db", "upgrade"], env, tmp_path)  # idempotent
    assert again.returncode == 0, again.stderr
    assert run_prwatch(["db", "current"], env, tmp_path).stdout == after.stdout


def test_db_with_a_bad_database_url_exits_2_naming_the_variable(tmp_path: Path) -> None:
    env = base_environment(PRWATCH_DATABASE_URL="mysql://nowhere/db")
    result = run_prwatch(["db", "upgrade"], env, tmp_path)
    assert result.returncode == 2
    assert "PRWATCH_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_sweep_process_reuses_the_stored_token_and_gets_304s(tmp_path: Path) -> None:
    # GitHub's ETags vary by token: a process that minted its own token would miss them all.
    with processes(tmp_path) as group:
        sim = start_simulator(group, extra=("--repos", "3", "--prs", "6", "--seed", "5"))
        env = base_environment(
            **sim.settings,
            PRWATCH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'prwatch.db'}",
        )
        first = run_prwatch(["sweep", "--no-progress"], env, tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "304" not in first.stdout, first.stdout

        sim.admin("POST", "/_sim/stats/reset")
        second = run_prwatch(["sweep", "--no-progress"], env, tmp_path)
        assert second.returncode == 0, second.stdout + second.stderr
        # the installation's repositories and the 3 PR listings, all unchanged
        assert re.search(r"requests\W+200: \d+, 304: 4\b", second.stdout), second.stdout
        assert re.search(r"token changed\W+0\b", second.stdout), second.stdout
        assert re.search(r"points spent \(REST / GraphQL\)\W+0 /", second.stdout), second.stdout
        stats = sim.admin("GET", "/_sim/stats")["requests"]
        assert "POST /app/installations/{installation_id}/access_tokens" not in stats, stats
