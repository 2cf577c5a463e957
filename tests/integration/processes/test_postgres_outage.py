"""``prwatch serve`` and ``prwatch worker`` (Redis mode) through a PostgreSQL outage, and a
worker started before its services: private PostgreSQL and Redis servers, killed and started
again on the same port."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import httpx
import redis as redis_client
from sqlalchemy import select

from prwatch.queue.keys import WORKER_HEARTBEATS_KEY
from prwatch.store import create_engine
from prwatch.store.schema import pull_requests
from tests.integration.processes.harness import (
    Process,
    base_environment,
    free_port,
    processes,
    run_prwatch,
    start_serve,
    wait_for,
)
from tests.integration.webhooks.harness import SECRET, payload, signed_headers
from tests.keys import sample_private_key
from tests.private_services import private_postgres, private_redis

WORKER = ["worker", "--ledger-interval", "0"]
WAITING = "database unreachable: waiting"
BACK = "database back"


def environment(database_url: str, redis_port: int) -> dict[str, str]:
    return base_environment(
        PRWATCH_DATABASE_URL=database_url,
        PRWATCH_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        PRWATCH_WEBHOOK_SECRET=SECRET,
        PRWATCH_APP_ID="1",
        PRWATCH_PRIVATE_KEY=sample_private_key(),
        PRWATCH_GITHUB_API_URL="http://127.0.0.1:1",  # pull_request deliveries need none
    )


def send(url: str, number: int) -> int:
    """Post a signed ``pull_request.opened`` delivery for PR ``number``; the answer's status."""
    body = payload("pull_request", "opened")
    body["pull_request"]["number"] = number
    body["pull_request"]["id"] = 50_000 + number
    raw = json.dumps(body).encode()
    headers = signed_headers("pull_request", raw)
    return httpx.post(f"{url}/webhooks", content=raw, headers=headers, timeout=15).status_code


async def _applied(database_url: str) -> set[int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(select(pull_requests.c.number))
            return {int(n) for n in result.scalars()}
    finally:
        await engine.dispose()


def applied(database_url: str) -> set[int]:
    # A loop of its own, never set as the current one: asyncio.run would unset the loop the
    # async tests of the session share, leaving it to be collected unclosed.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_applied(database_url))
    except Exception:  # the database is down
        return set()
    finally:
        loop.close()


def readiness(port: int) -> tuple[int, dict[str, object]]:
    """``/readyz`` with its details, from a process's operators' listener (the main one tells
    an anonymous caller only whether it is ready, and no token can be checked without the
    database)."""
    response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
    return response.status_code, response.json()


def database_reason(port: int) -> str:
    status, body = readiness(port)
    assert status == 503, body
    checks = body["checks"]
    assert isinstance(checks, dict)
    return str(checks["database"].get("reason"))


def live_workers(redis_port: int) -> int:
    client = redis_client.Redis(port=redis_port)
    try:
        oldest = float(client.time()[0]) - 35
        return int(client.zcount(WORKER_HEARTBEATS_KEY, oldest, "+inf"))
    finally:
        client.close()


def alive(process: Process) -> bool:
    return process.popen.poll() is None


def test_serve_and_worker_outlive_a_postgres_outage(tmp_path: Path) -> None:
    with (
        private_redis() as redis,
        private_postgres() as (postgres, database_url),
        processes(tmp_path) as group,
    ):
        env = environment(database_url, redis.port)
        upgraded = run_prwatch(["db", "upgrade"], env, tmp_path)
        assert upgraded.returncode == 0, upgraded.stderr
        serve_probe, worker_probe = free_port(), free_port()
        url = start_serve(group, {**env, "PRWATCH_METRICS_PORT": str(serve_probe)}, free_port())
        worker = group.start("worker", WORKER, {**env, "PRWATCH_METRICS_PORT": str(worker_probe)})
        wait_for(lambda: live_workers(redis.port) == 1, 30, "the worker's heartbeat")

        assert [send(url, n) for n in (1, 2)] == [202, 202]
        wait_for(lambda: {1, 2} <= applied(database_url), 30, "the first deliveries applied")
        wait_for(lambda: readiness(serve_probe)[0] == 200, 30, "ready before the outage")

        # Acknowledged and queued, but not applied before PostgreSQL goes away: the worker is
        # frozen meanwhile, and finds the database gone when it picks their job.
        os.kill(worker.popen.pid, signal.SIGSTOP)
        try:
            assert [send(url, n) for n in (3, 4, 5)] == [202, 202, 202]
            postgres.kill()
        finally:
            os.kill(worker.popen.pid, signal.SIGCONT)
        wait_for(lambda: WAITING in worker.output(), 30, "the worker to notice the outage")

        assert [send(url, n) for n in (6, 7)] == [503, 503]  # not stored: redelivered later
        for probe in (serve_probe, worker_probe):
            assert "database unreachable" in database_reason(probe)
        assert httpx.get(f"{url}/readyz", timeout=30).json() == {"ready": False}
        assert live_workers(redis.port) == 1  # the heartbeat goes on
        time.sleep(2)  # longer than a few probes
        assert alive(worker) and worker.output().count(WAITING) == 1

        postgres.start()
        wait_for(lambda: BACK in worker.output(), 60, "the worker to see the database back")
        assert [send(url, n) for n in (8, 9)] == [202, 202]
        wait_for(
            lambda: {1, 2, 3, 4, 5, 8, 9} <= applied(database_url),
            60,
            "every acknowledged delivery applied",
        )
        assert not {6, 7} & applied(database_url)
        wait_for(lambda: readiness(serve_probe)[0] == 200, 30, "ready after the outage")
        log = worker.output()
        assert log.count(WAITING) == 1 and log.count(BACK) == 1, log[-3000:]
        assert "job failed" not in log, log[-3000:]
        served = group.started[0].output()
        for line in ("deliveries answered 503 until it is back", "deliveries stored again"):
            assert served.count(line) == 1, served[-3000:]
        assert all(alive(process) for process in group.started)


def test_a_worker_started_before_its_services_waits_for_them(tmp_path: Path) -> None:
    with (
        private_redis() as redis,
        private_postgres() as (postgres, database_url),
        processes(tmp_path) as group,
    ):
        env = environment(database_url, redis.port)
        upgraded = run_prwatch(["db", "upgrade"], env, tmp_path)
        assert upgraded.returncode == 0, upgraded.stderr
        postgres.kill()
        redis.kill()
        worker = group.start("worker", WORKER, env)
        wait_for(lambda: "database unreachable: waiting" in worker.output(), 30, "the wait")
        time.sleep(2)
        assert alive(worker)
        postgres.start()
        wait_for(lambda: "Redis unreachable: waiting" in worker.output(), 30, "the next wait")
        assert "database answers" in worker.output()
        redis.start()
        wait_for(lambda: live_workers(redis.port) == 1, 30, "the worker's heartbeat")
        url = start_serve(group, env, free_port())
        assert send(url, 1) == 202
        wait_for(lambda: 1 in applied(database_url), 30, "the delivery applied")
        log = worker.output()
        for line in ("database unreachable", "database answers", "Redis unreachable"):
            assert log.count(line) == 1, log[-3000:]
        assert log.count("Redis answers") == 1, log[-3000:]

        worker.popen.send_signal(signal.SIGTERM)
        assert worker.popen.wait(timeout=30) == 0


def test_a_worker_with_a_misconfigured_database_exits_with_one_line(tmp_path: Path) -> None:
    with private_postgres() as (_, database_url):
        unknown = database_url.rsplit("/", 1)[0] + "/no_such_database"
        result = run_prwatch(["worker"], environment(unknown, free_port()), tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert "no_such_database" in result.stderr and "PRWATCH_DATABASE_URL" in result.stderr
