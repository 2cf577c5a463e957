"""The scale-up bench in small: the simulator process, two ``prwatch worker`` processes on the
test's PostgreSQL and Redis, two installations; cold, no-change and churn sweeps asked for
through ``request_sweep`` and judged against the simulator's truth."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.scale_up import ScaleUpPlan, run_scale_up
from prwatch.store import upgrade_database


async def test_a_small_scale_up_run_is_exact(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    await upgrade_database(postgres_url)
    plan = ScaleUpPlan(
        repos=4, prs=20, installations=2, workers=2, max_jobs=2, latency_ms=5, seed=3,
        sweep_timeout_seconds=60,
    )  # fmt: skip
    run = await asyncio.to_thread(run_scale_up, plan, tmp_path, postgres_url, redis_url)

    assert run["scale_up"] is True
    by_name = {f["scenario"]: f for f in run["scenarios"]}
    assert list(by_name) == ["cold", "no-change", "churn"]
    for name, f in by_name.items():
        p, k = f["prwatch"], f["correctness"]
        assert p["status"] == "ok", (name, p["error"])
        assert (k["missed"], k["invented"], k["store_mismatches"]) == (0, 0, 0), (name, k)
        # Both workers ran and were measured; the record's requests are the simulator's, less
        # the installation tokens the client takes for itself.
        assert len(p["peak_rss_mb_by_worker"]) == 2 and min(p["peak_rss_mb_by_worker"]) > 0
        # CPU time is read in clock ticks (10 ms): a tiny scenario may round to none.
        assert p["cpu_seconds"] >= 0 and f["simulator"]["cpu_seconds"] >= 0
        assert f["machine"]["busy_cpu_seconds"] >= p["cpu_seconds"]
        stats = f["simulator"]["stats"]
        tokens = sum(
            stats["requests"]
            .get("POST /app/installations/{installation_id}/access_tokens", {})
            .values()
        )
        assert sum(p["requests_by_outcome"].values()) == stats["total"] - tokens
        assert p["points_graphql"] == stats["points"]["graphql"]
        # The physical limit is a lower bound.
        requests = sum(p["requests_by_outcome"].values()) + tokens
        assert requests >= f["limit"]["requests"]
        assert p["points_core"] + p["points_graphql"] >= f["limit"]["points"]
    assert by_name["cold"]["correctness"]["expected_changes"] > 80  # 4 x 20 PRs, 4 repos, runs
    assert by_name["cold"]["prwatch"]["repositories"] == 4
    assert by_name["cold"]["prwatch"]["cpu_seconds"] > 0
    assert by_name["cold"]["simulator"]["cpu_seconds"] > 0
    assert by_name["no-change"]["correctness"]["expected_changes"] == 0
    assert by_name["no-change"]["rows_written"]["change_log"] == 0
    # The workers share each installation's token through Redis, so every repository's
    # listing revalidates the ETag stored by whichever worker swept it last: all 304s, no
    # token minted, no core point spent.
    quiet = by_name["no-change"]
    quiet_requests = quiet["simulator"]["stats"]["requests"]
    assert quiet_requests["GET /repos/{owner}/{repo}/pulls"] == {"304": 4}
    assert "POST /app/installations/{installation_id}/access_tokens" not in quiet_requests
    assert quiet["prwatch"]["points_core"] == 0
    churned = by_name["churn"]
    assert churned["correctness"]["found"] == churned["correctness"]["expected_changes"] > 0
    # One repository left its installation and one was renamed: 3 left to sweep.
    assert churned["prwatch"]["repositories"] == 3
    assert churned["churn"]["removed"] != churned["churn"]["renamed"]
