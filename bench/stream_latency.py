"""How long a change written by one process takes to reach the change streams of other web
processes: N `prwatch serve` processes on one PostgreSQL, a stream client on each, and this
process writing changes one transaction at a time (as a worker does). Prints the latency from
each COMMIT returning to the event arriving, per web process.

    python -m bench.stream_latency --database-url postgresql+asyncpg://USER@HOST/EMPTY_DB \
        --redis-url redis://127.0.0.1:6379/9 --web-processes 2 --changes 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from prwatch.access.tokens import new_token, token_hash
from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    InstallationSnapshot,
    RepositorySnapshot,
    Source,
)
from prwatch.store import Store, create_engine, upgrade_database

REPOSITORY_ID = 4242


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def prepare(store: Store) -> tuple[str, int]:
    """An installation and a repository to write changes for, an API token; the log's end."""
    token = new_token()
    async with store.transaction() as tx:
        await tx.upsert_installation(InstallationSnapshot(1, "bench", "Organization"))
        await tx.upsert_repositories([RepositorySnapshot(REPOSITORY_ID, 1, "bench/stream")])
        await tx.create_api_token("stream-bench", token_hash(token))
        last = await tx.last_change_cursor()
    return token, last


async def write_one(store: Store, value: int) -> tuple[int, float]:
    async with store.transaction() as tx:
        await tx.lock_repository(REPOSITORY_ID)
        change = Change(ChangeKind.REPOSITORY_RENAMED, REPOSITORY_ID, new=f"bench/{value}")
        [cursor] = await tx.write_change_set(ChangeSet(changes=(change,)), source=Source.SWEEP)
    return cursor, time.perf_counter()


async def follow(
    url: str,
    token: str,
    after: int,
    expected: int,
    arrivals: dict[int, float],
    ready: asyncio.Event,
) -> None:
    """Record each event's arrival time; return once ``expected`` events came."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx.Timeout(10.0, read=None)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        client.stream(
            "GET", f"{url}/api/changes/stream", params={"after": after}, headers=headers
        ) as response,
    ):
        response.raise_for_status()
        ready.set()
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                arrivals[json.loads(line[6:])["cursor"]] = time.perf_counter()
                if len(arrivals) >= expected:
                    return


def wait_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"prwatch serve at {url} exited")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"prwatch serve at {url} did not start")


def start_servers(
    args: argparse.Namespace, workdir: Path
) -> list[tuple[str, subprocess.Popen[bytes]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRWATCH_")}
    env |= {
        "PRWATCH_DATABASE_URL": args.database_url,
        "PRWATCH_REDIS_URL": args.redis_url,
        "PRWATCH_LOG_FORMAT": "text",
    }
    servers: list[tuple[str, subprocess.Popen[bytes]]] = []
    for index in range(args.web_processes):
        port = free_port()
        log = (workdir / f"serve-{index}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "prwatch.cli", "serve", "--port", str(port)],
            env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        servers.append((f"http://127.0.0.1:{port}", process))
    for url, process in servers:
        wait_serving(url, process)
    return servers


async def measure(
    args: argparse.Namespace, store: Store, token: str, after: int, urls: list[str]
) -> None:
    arrivals = [dict[int, float]() for _ in urls]
    ready = [asyncio.Event() for _ in urls]
    followers = [
        asyncio.create_task(follow(url, token, after, args.changes, arrivals[i], ready[i]))
        for i, url in enumerate(urls)
    ]
    await asyncio.gather(*(event.wait() for event in ready))
    await asyncio.sleep(1.0)  # the feeds' listeners connect on the first subscriber
    committed: dict[int, float] = {}
    for value in range(args.changes):
        cursor, at = await write_one(store, value)
        committed[cursor] = at
        await asyncio.sleep(args.gap_ms / 1000)
    await asyncio.wait(followers, timeout=15)
    for task in followers:
        task.cancel()
    print(
        f"{args.changes} changes, {args.web_processes} web processes, one change every "
        f"{args.gap_ms:g} ms, written by another process"
    )
    for index, got in enumerate(arrivals):
        latencies = sorted(
            (got[cursor] - at) * 1000 for cursor, at in committed.items() if cursor in got
        )
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        print(
            f"web process {index + 1}: received {len(latencies)} of {len(committed)}; "
            f"commit → event p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, "
            f"max {latencies[-1]:.1f} ms"
        )


async def prepared(args: argparse.Namespace) -> tuple[str, int]:
    await upgrade_database(args.database_url)
    store = Store(create_engine(args.database_url))
    try:
        return await prepare(store)
    finally:
        await store.engine.dispose()


async def run(
    args: argparse.Namespace, urls: list[str], store: Store, token: str, after: int
) -> None:
    try:
        await measure(args, store, token, after, urls)
    finally:
        await store.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--redis-url", required=True, help="so that serve runs no queue of its own")
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    args = parser.parse_args()
    token, after = asyncio.run(prepared(args))
    servers = start_servers(args, Path(tempfile.mkdtemp(prefix="stream-bench-")))
    try:
        store = Store(create_engine(args.database_url))
        asyncio.run(run(args, [url for url, _ in servers], store, token, after))
    finally:
        for _, process in servers:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
