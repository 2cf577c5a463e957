"""The outage matrix: signed deliveries sent to ``prwatch serve`` (PostgreSQL + Redis, one
``prwatch worker``) before, during and after a Redis outage and a PostgreSQL outage, each
server a private one killed (SIGKILL) and started again; what was acknowledged (2xx) and what
was applied (the PR is in the database) per phase. The deliveries of the phase before the
PostgreSQL outage are acknowledged and queued while the worker is frozen (SIGSTOP), and the
server is killed before it thaws: the worker meets the outage with their jobs in hand. The
worker's outage lines are counted, and whether it is still running at the end.

    python -m bench.outages

Needs redis-server and the PostgreSQL server binaries (run as the ``postgres`` user). Takes
about two minutes: deliveries acknowledged while Redis is away are queued again by recovery,
which leaves a delivery 30 s before it presumes its job lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from prwatch.queue.keys import WORKER_HEARTBEATS_KEY
from prwatch.store import create_engine
from prwatch.store.schema import pull_requests
from tests.integration.processes.harness import (
    base_environment,
    free_port,
    processes,
    run_prwatch,
    start_serve,
)
from tests.integration.webhooks.harness import SECRET, payload, signed_headers
from tests.keys import sample_private_key
from tests.private_services import private_postgres, private_redis

PER_PHASE = 20
APPLY_WITHIN_S = 120.0


def delivery(number: int) -> tuple[bytes, dict[str, str]]:
    body = payload("pull_request", "opened")
    body["pull_request"]["number"] = number
    body["pull_request"]["id"] = 10_000 + number
    raw = json.dumps(body).encode()
    headers = signed_headers("pull_request", raw)
    return raw, headers


def send_phase(url: str, first: int, count: int) -> list[int]:
    """Send ``count`` deliveries; the PR numbers whose delivery was acknowledged."""
    acknowledged = []
    for number in range(first, first + count):
        raw, headers = delivery(number)
        try:
            response = httpx.post(f"{url}/webhooks", content=raw, headers=headers, timeout=15)
        except httpx.HTTPError:
            continue
        if 200 <= response.status_code < 300:
            acknowledged.append(number)
    return acknowledged


async def applied_numbers(database_url: str) -> set[int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(select(pull_requests.c.number))
            return {int(n) for n in result.scalars()}
    finally:
        await engine.dispose()


def wait_applied(database_url: str, wanted: set[int]) -> set[int]:
    deadline = time.monotonic() + APPLY_WITHIN_S
    while True:
        try:
            found = asyncio.run(applied_numbers(database_url))
        except Exception:
            found = set()
        if wanted <= found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def wait_for_worker(port: int) -> None:
    """Until the worker's first heartbeat."""
    import redis as redis_client

    client = redis_client.Redis(port=port)
    deadline = time.monotonic() + 60
    try:
        while not client.zcard(WORKER_HEARTBEATS_KEY):
            if time.monotonic() > deadline:
                raise TimeoutError("the worker never sent a heartbeat")
            time.sleep(0.2)
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.outages", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--per-phase", type=int, default=PER_PHASE, help=f"deliveries per phase ({PER_PHASE})"
    )
    per_phase = parser.parse_args(argv).per_phase
    if per_phase < 1:
        parser.error("--per-phase must be at least 1")
    rows: list[tuple[str, int, int]] = []
    with (
        tempfile.TemporaryDirectory() as folder,
        private_redis() as redis,
        private_postgres() as (postgres, database_url),
        processes(Path(folder)) as group,
    ):
        env = base_environment(
            PRWATCH_DATABASE_URL=database_url,
            PRWATCH_REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
            PRWATCH_WEBHOOK_SECRET=SECRET,
            PRWATCH_APP_ID="1",
            PRWATCH_PRIVATE_KEY=sample_private_key(),
            PRWATCH_GITHUB_API_URL="http://127.0.0.1:1",  # pull_request deliveries need none
        )
        upgraded = run_prwatch(["db", "upgrade"], env, Path(folder))
        assert upgraded.returncode == 0, upgraded.stderr
        url = start_serve(group, env, free_port())
        worker = group.start("worker", ["worker", "--ledger-interval", "0"], env)
        wait_for_worker(redis.port)

        def freeze() -> None:
            os.kill(worker.popen.pid, signal.SIGSTOP)

        def kill_postgres_and_thaw() -> None:
            postgres.kill()
            os.kill(worker.popen.pid, signal.SIGCONT)

        # (phase, what happens before its deliveries, what happens after them)
        phases: list[tuple[str, Any, Any]] = [
            ("before any outage", None, None),
            ("Redis down", redis.kill, None),
            ("Redis back", redis.start, None),
            ("just before PG down", freeze, kill_postgres_and_thaw),
            ("PostgreSQL down", None, None),
            ("PostgreSQL back", postgres.start, None),
        ]
        sent: dict[str, list[int]] = {}
        for index, (name, before, after) in enumerate(phases):
            if before is not None:
                before()
                time.sleep(2)  # the processes notice
            sent[name] = send_phase(url, 1 + index * per_phase, per_phase)
            if after is not None:
                after()
                time.sleep(2)
        everything = {n for numbers in sent.values() for n in numbers}
        found = wait_applied(database_url, everything)
        for name, numbers in sent.items():
            rows.append((name, len(numbers), len(set(numbers) & found)))
        print(group.logs()[-3000:] if not everything <= found else "", file=sys.stderr)
        log = worker.output()
        worker_lines = {
            line: log.count(line)
            for line in (
                "worker lost its connection",
                "worker reconnected",
                "database unreachable: waiting",
                "database back",
            )
        }
        worker_running = worker.popen.poll() is None
    print(f"{'phase':<20} {'sent':>5} {'acknowledged':>13} {'applied':>8}")
    for name, acknowledged, applied in rows:
        print(f"{name:<20} {per_phase:>5} {acknowledged:>13} {applied:>8}")
    lost = sum(acknowledged - applied for _, acknowledged, applied in rows)
    print(f"acknowledged but not applied: {lost}")
    print("worker log lines: " + ", ".join(f"{line!r} x{n}" for line, n in worker_lines.items()))
    print(f"worker still running at the end: {'yes' if worker_running else 'no'}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
