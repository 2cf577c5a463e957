"""The webhook scenarios: sustained deliveries/s acknowledged, ack latency, delivery →
committed change latency and lost deliveries, in the embedded mode (SQLite, in-process queue)
and with Redis + PostgreSQL (``prwatch serve`` with a Redis URL plus ``prwatch worker``)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from statistics import quantiles
from typing import Any

import httpx
import redis
from sqlalchemy import select

from bench.databases import drop_database, fresh_database
from bench.simulator import cpu_seconds, free_port
from prwatch.store import create_engine
from prwatch.store.schema import webhook_deliveries

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"
REDIS_URL = "redis://127.0.0.1:6379/9"  # the bench's own database (the tests use 15)
FINISHED = {"done", "ignored"}


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "prwatch.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prwatch serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("prwatch serve did not become healthy within 60 s")


async def _processed(database_url: str, guids: set[str], wait_seconds: float) -> dict[str, Any]:
    """Each delivery's status and processed_at, waiting until all acknowledged ones finish."""
    engine = create_engine(database_url)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(
                        webhook_deliveries.c.guid,
                        webhook_deliveries.c.status,
                        webhook_deliveries.c.processed_at,
                    )
                )
                found = {row.guid: row for row in rows if row.guid in guids}
            finished = sum(1 for row in found.values() if row.status in FINISHED)
            if finished == len(guids) or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


def _unused_app_credentials(workdir: Path) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = workdir / "app.private-key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return {
        "PRWATCH_APP_ID": "1",
        "PRWATCH_PRIVATE_KEY_PATH": str(path),
        "PRWATCH_GITHUB_API_URL": "http://127.0.0.1:9",  # nothing listens: no call leaves
    }


def _pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[q - 1]


def measure(mode: str, workdir: Path, *, count: int, concurrency: int) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    dialect = "sqlite" if mode == "embedded" else "postgres"
    database_url = fresh_database(dialect, workdir, "webhooks")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRWATCH_")},
        "PRWATCH_DATABASE_URL": database_url,
        "PRWATCH_WEBHOOK_SECRET": SECRET,
        "PRWATCH_PORT": str(port),
        "PRWATCH_SWEEP_INTERVAL_SECONDS": "86400",
        "PRWATCH_LOG_FORMAT": "json",
    }
    # A worker refuses to start without App credentials; these deliveries never call GitHub.
    env |= _unused_app_credentials(workdir)
    processes = []
    if mode != "embedded":
        redis.Redis.from_url(REDIS_URL).flushdb()
        env["PRWATCH_REDIS_URL"] = REDIS_URL
    try:
        server = _start(["serve"], env, workdir / "serve.log")
        processes.append(server)
        if mode != "embedded":
            processes.append(
                _start(["worker", "--ledger-interval", "0"], env, workdir / "worker.log")
            )
        _wait_healthy(url, server)
        cpu_before = {p.pid: cpu_seconds(p.pid) for p in processes}
        done = subprocess.run(
            [
                sys.executable, "-m", "bench.loadgen", f"{url}/webhooks", SECRET,
                "--count", str(count), "--concurrency", str(concurrency), "--max-seconds", "60",
            ],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
        load = json.loads(done.stdout)
        acked = {r["guid"]: r for r in load["results"] if r["status"] in (200, 202)}
        rows = asyncio.run(_processed(database_url, set(acked), wait_seconds=120))
        cpu = {p.pid: cpu_seconds(p.pid) - cpu_before[p.pid] for p in processes}
    finally:
        for process in processes:
            _stop(process)
        drop_database(database_url)
    e2e = [
        (row.processed_at.timestamp() - acked[guid]["sent_at"]) * 1000
        for guid, row in rows.items()
        if row.status in FINISHED and row.processed_at is not None
    ]
    acks = [r["ack_ms"] for r in acked.values()]
    statuses: dict[str, int] = {}
    for r in load["results"]:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    result = {
        "mode": "embedded: SQLite, in-process queue"
        if mode == "embedded"
        else "Redis + PostgreSQL, 1 serve + 1 worker",
        "sent": len(load["results"]),
        "unsent_at_time_limit": load["unsent"],
        "responses": statuses,
        "acked": len(acked),
        "acked_per_second": len(acked) / load["elapsed_seconds"],
        "ack_p50_ms": _pct(acks, 50),
        "ack_p99_ms": _pct(acks, 99),
        "e2e_p50_ms": _pct(e2e, 50),
        "e2e_p99_ms": _pct(e2e, 99),
        "lost": len(acked) - len(e2e),
        "payload_bytes_mean": load["payload_bytes_mean"],
        "concurrency": concurrency,
        "cpu_seconds": {"serve": cpu[processes[0].pid], "total": sum(cpu.values())},
        "elapsed_seconds": load["elapsed_seconds"],
    }
    print(
        f"  webhooks {mode}: {result['acked_per_second']:.0f}/s acked, ack p99 "
        f"{result['ack_p99_ms']:.1f} ms, e2e p99 {result['e2e_p99_ms']:.0f} ms, "
        f"lost {result['lost']}",
        flush=True,
    )
    return result


def run_webhook_scenarios(workdir: Path, *, quick: bool) -> list[dict[str, Any]]:
    count = 500 if quick else 5000
    results = []
    for mode in ("embedded", "redis"):
        print(f"webhooks ({mode})", flush=True)
        try:
            results.append(measure(mode, workdir / f"webhooks-{mode}", count=count, concurrency=32))
        except Exception as error:  # one mode failing must not hide the other's figures
            results.append({"mode": mode, "error": f"{type(error).__name__}: {error}"})
            print(f"  webhooks {mode} failed: {error}", flush=True)
    return results
