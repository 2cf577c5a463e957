"""``PRWATCH_METRICS_PORT``: ``prwatch serve`` and ``prwatch worker`` each serve ``/metrics``
without a credential on a listener of their own, while the main listener keeps asking for one."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.processes.harness import (
    api_headers,
    base_environment,
    free_port,
    processes,
    run_prwatch,
    start_serve,
    start_simulator,
    wait_until_serving,
)


def test_serve_and_worker_expose_their_metrics(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    with processes(tmp_path) as group:
        sim = start_simulator(group, extra=("--repos", "1", "--prs", "2"))
        env = base_environment(
            **sim.settings, PRWATCH_DATABASE_URL=postgres_url, PRWATCH_REDIS_URL=redis_url
        )
        assert run_prwatch(["db", "upgrade"], env, tmp_path).returncode == 0
        serve_metrics, worker_metrics = free_port(), free_port()
        url = start_serve(group, {**env, "PRWATCH_METRICS_PORT": str(serve_metrics)}, free_port())
        worker = group.start(
            "worker",
            ["worker", "--no-schedule"],
            {**env, "PRWATCH_METRICS_PORT": str(worker_metrics)},
        )
        wait_until_serving(worker, f"http://127.0.0.1:{worker_metrics}/metrics")

        assert httpx.get(f"{url}/metrics", timeout=10).status_code == 401
        assert httpx.get(f"{url}/metrics", headers=api_headers(url), timeout=10).status_code == 200
        for port in (serve_metrics, worker_metrics):
            scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
            assert scraped.status_code == 200 and "process_resident_memory_bytes" in scraped.text
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()
            assert "checks" in ready  # the details, for operators
            # Only metrics and readiness there: nothing of the read API.
            assert httpx.get(f"http://127.0.0.1:{port}/api/changes", timeout=10).status_code == 404
