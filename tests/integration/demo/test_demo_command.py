"""``prwatch demo`` end to end, as a user runs it: a subprocess that must exit 0 with a
summary whose counts agree with each other and with the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_a_short_demo_exits_cleanly_with_a_consistent_summary(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "prwatch.cli",
            "demo",
            "--duration",
            "5",
            "--repos",
            "2",
            "--prs",
            "20",
            "--port",
            "0",
            "--drop-rate",
            "0.2",
            "--data-dir",
            str(tmp_path / "data"),
            "--summary-json",
            str(summary_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "prwatch demo: summary" in result.stdout
    assert "Traceback" not in result.stderr
    summary = json.loads(summary_path.read_text())

    # the change log adds up, whichever way it is counted
    assert sum(summary["changes_by_source"].values()) == summary["change_log_size"]
    live = sum(summary["live_changes_by_source"].values())
    assert summary["cold_sync_changes"] + live == summary["change_log_size"]
    assert summary["cold_sync_changes"] > 0
    assert summary["live_changes_by_source"].get("webhook", 0) > 0

    # deliveries were dropped, and the ledger got each one redelivered and stored
    assert summary["deliveries_dropped"] > 0
    assert summary["ledger_failed_seen"] == summary["deliveries_dropped"]
    assert summary["ledger_redelivered"] == summary["deliveries_dropped"]
    assert summary["ledger_recovered"] == summary["ledger_redelivered"]
    assert summary["deliveries_stored"] == summary["deliveries_sent"]
    assert summary["activity_steps"].get("remove_repository") == 1

    # the simulator's accounting, and the end state equals the simulator's truth
    assert summary["api_requests"] > 0
    assert 0 <= summary["api_not_modified"] <= summary["api_requests"]
    assert 0.0 <= summary["not_modified_ratio"] <= 1.0
    assert summary["converged"] is True, summary["mismatches"]
    assert summary["final_sweep_changes"] == summary["live_changes_by_source"].get("sweep", 0)
    # The last sweep, over a world that did not change: every repository's listing is a 304.
    assert summary["quiet_sweep_changes"] == 0
    assert summary["quiet_sweep_not_modified"] >= summary["repositories"]
    assert summary["quiet_sweep_points_core"] == 0
    assert "no-change sweep:" in result.stdout and "304 Not Modified" in result.stdout


def test_bad_options_are_refused_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "prwatch.cli", "demo", "--duration", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "prwatch demo: duration must be positive"
