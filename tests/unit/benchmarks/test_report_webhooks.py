"""Webhook rows: CPU per delivery of every process, and the 1.5 ms target judged only where
every process was measured (web, workers and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from bench.report import webhook_rows
from bench.webhooks import cpu_per_delivery


def run(mode: str, per_delivery: dict[str, float]) -> dict[str, Any]:
    return {
        "mode": mode,
        "load": "open loop at 500/s",
        "sent": 1000,
        "acked": 1000,
        "acked_per_second": 500.0,
        "ack_p50_ms": 10.0,
        "ack_p99_ms": 40.0,
        "e2e_p99_ms": 400.0,
        "lost": 0,
        "backlog_at_load_end": 0,
        "drain_seconds": 0.1,
        "payload_bytes_mean": 24_000,
        "concurrency": 64,
        "cpu_ms_per_delivery": per_delivery,
    }


def test_cpu_per_delivery_shares_and_their_sum() -> None:
    per = cpu_per_delivery({"serve": 0.5, "worker1": 0.25}, 0.25, 1000)
    assert per == {"serve": 0.5, "worker1": 0.25, "postgres": 0.25, "all": 1.0}
    assert cpu_per_delivery({"serve": 1.0}, None, 0) == {"serve": 1000.0, "all": 1000.0}


def test_the_cpu_target_is_judged_with_postgres_measured() -> None:
    cheap = {"serve": 0.5, "worker1": 0.4, "postgres": 0.3, "all": 1.2}
    costly = {"serve": 1.0, "worker1": 0.8, "postgres": 0.6, "all": 2.4}
    (met,) = webhook_rows([run("Redis + PostgreSQL", cheap)])
    (missed,) = webhook_rows([run("Redis + PostgreSQL", costly)])
    assert "CPU per delivery 1.20 ms (serve 0.50, worker1 0.40, postgres 0.30)" in met
    assert "≤ 1.5 ms CPU per delivery: met" in met
    assert "≤ 1.5 ms CPU per delivery: **missed**" in missed


def test_an_embedded_run_shows_its_cpu_without_the_postgres_target() -> None:
    (row,) = webhook_rows([run("embedded", {"serve": 2.0, "all": 2.0})])
    assert "CPU per delivery 2.00 ms (serve 2.00)" in row
    assert "1.5 ms" not in row
    assert row.endswith("e2e p99 ≤ 1 s, lost 0: met | — |")
