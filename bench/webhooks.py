"""The webhook scenarios: sustained deliveries/s acknowledged, ack latency, delivery →
committed change latency and lost deliveries, in the embedded mode (SQLite, in-process queue)
and with Redis + PostgreSQL (``prwatch serve`` with a Redis URL plus ``prwatch worker``).

Each mode runs twice, because the issue's figures answer two questions that one load cannot:

* **closed loop** (32 connections, each sending its next delivery once the previous one is
  answered): the *sustained maximum* — how many deliveries/s prwatch acknowledges when it is
  never idle. Its latencies are those of a saturated receiver (32 requests always waiting:
  by Little's law ack latency ≈ 32 / rate), so they say nothing about the latency targets.
* **open loop at 500/s** (``OFFERED_RATE``; deliveries due at a fixed rate whatever the
  answers, as GitHub sends them): the *latencies at the target rate* — ack p50/p99 counted from
  the instant each delivery was due (so falling behind is charged too), delivery → committed
  change p99, and lost. This is the run the targets (≥ 500/s with ack p99 ≤ 50 ms and
  end-to-end p99 ≤ 1 s, lost 0) are judged on: a receiver that acknowledges 500/s in this run
  sustains them with those latencies; one that cannot shows a growing ack latency or backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
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
from bench.scale_up import cpu_by_pid, postgres_backend_pids
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


async def _drain(
    database_url: str, guids: set[str], *, max_seconds: float, stall_seconds: float
) -> tuple[dict[str, Any], float | None]:
    """Wait until every acknowledged delivery is finished (done or ignored), as long as the
    backlog keeps shrinking: the rows of the acknowledged deliveries, and how long the drain
    took (None when it stopped with deliveries unfinished: after ``stall_seconds`` without
    progress, or ``max_seconds`` in all)."""
    engine = create_engine(database_url)
    started = time.monotonic()
    last_progress, best = started, -1
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
            now = time.monotonic()
            if finished == len(guids):
                return found, now - started
            if finished > best:
                best, last_progress = finished, now
            if now - last_progress > stall_seconds or now - started > max_seconds:
                return found, None
            await asyncio.sleep(0.25)
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


def cpu_per_delivery(
    cpu: dict[str, float], postgres_cpu: float | None, deliveries: int
) -> dict[str, float]:
    """CPU ms per acknowledged delivery, from the first delivery until every one was applied:
    each process's, and all of them together (web, workers and PostgreSQL)."""
    shares = dict(cpu) if postgres_cpu is None else {**cpu, "postgres": postgres_cpu}
    per = {name: 1000 * seconds / max(1, deliveries) for name, seconds in shares.items()}
    return {**per, "all": sum(per.values())}


def _postgres_cpu(database_url: str) -> dict[int, float]:
    return cpu_by_pid(asyncio.run(postgres_backend_pids(database_url)))


def _pct(values: list[float], q: int) -> float | None:
    """The q-th percentile; None (printed as "—") when there is nothing to measure."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[q - 1]


def _profile(pid: int, seconds: float, path: Path) -> subprocess.Popen[bytes] | None:
    """py-spy sampling ``pid`` for ``seconds`` into collapsed stacks at ``path`` (py-spy must
    be installed: ``pip install py-spy``); None when it is not."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        print("  (py-spy not installed: no profile)", flush=True)
        return None
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
         "--rate", "200", "--nonblocking", "--gil", "--format", "raw", "--output", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def top_frames(collapsed: Path, count: int = 12) -> dict[str, list[tuple[str, float]]]:
    """The functions with the most samples in a collapsed-stack profile: on the CPU themselves
    ("self") and anywhere on the stack ("total"), as shares of all samples."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        n = int(number)
        samples += n
        frames = [_frame_name(frame) for frame in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n

    def top(counts: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:count]
        return [(name, round(100 * n / max(1, samples), 1)) for name, n in ranked]

    return {"self": top(own), "total": top(total), "samples": [("all", float(samples))]}


def _frame_name(frame: str) -> str:
    """``function (path/to/module.py:12)`` → ``function (module.py)``."""
    name, _, where = frame.partition(" (")
    module = where.rsplit(":", 1)[0].rsplit("/", 1)[-1].rstrip(")")
    return f"{name} ({module})" if module else name


def measure(
    mode: str,
    workdir: Path,
    *,
    count: int,
    concurrency: int,
    rate: float | None = None,
    workers: int = 1,
    max_jobs: int = 10,
    max_seconds: float = 60,
    profile: bool = False,
) -> dict[str, Any]:
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
    processes: dict[str, subprocess.Popen[bytes]] = {}
    profiles: dict[str, Path] = {}
    if mode != "embedded":
        redis.Redis.from_url(REDIS_URL).flushdb()
        env["PRWATCH_REDIS_URL"] = REDIS_URL
    try:
        processes["serve"] = _start(["serve"], env, workdir / "serve.log")
        for n in range(workers if mode != "embedded" else 0):
            processes[f"worker{n + 1}"] = _start(
                ["worker", "--ledger-interval", "0", "--max-jobs", str(max_jobs)],
                env,
                workdir / f"worker{n + 1}.log",
            )
        _wait_healthy(url, processes["serve"])
        time.sleep(1.0)  # workers connect and start polling
        cpu_before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
        # PostgreSQL's share: the server processes serving this database's connections.
        pg_before = _postgres_cpu(database_url) if dialect == "postgres" else {}
        postgres_cpu: float | None = None
        load_seconds = min(max_seconds, count / rate) if rate else max_seconds
        spies = []
        if profile:
            for name, process in processes.items():
                profiles[name] = workdir / f"profile-{name}.txt"
                spies.append(_profile(process.pid, load_seconds + 5, profiles[name]))
        loadgen = [
            sys.executable, "-m", "bench.loadgen", f"{url}/webhooks", SECRET,
            "--count", str(count), "--concurrency", str(concurrency),
            "--max-seconds", str(max_seconds),
        ]  # fmt: skip
        if rate:
            loadgen += ["--rate", str(rate)]
        done = subprocess.run(loadgen, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
        load = json.loads(done.stdout)
        load_ended = time.time()
        acked = {r["guid"]: r for r in load["results"] if r["status"] in (200, 202)}
        rows, drain_seconds = asyncio.run(
            _drain(database_url, set(acked), max_seconds=300, stall_seconds=30)
        )
        cpu = {name: cpu_seconds(p.pid) - cpu_before[name] for name, p in processes.items()}
        if dialect == "postgres":
            pg_after = _postgres_cpu(database_url)
            postgres_cpu = sum(now - pg_before.get(pid, 0.0) for pid, now in pg_after.items())
        for spy in spies:
            if spy is not None:
                spy.wait(timeout=120)
    finally:
        for process in processes.values():
            _stop(process)
        drop_database(database_url)
    finished = {g: row for g, row in rows.items() if row.status in FINISHED}
    e2e = [
        (row.processed_at.timestamp() - acked[guid]["sent_at"]) * 1000
        for guid, row in finished.items()
        if row.processed_at is not None
    ]
    # Not finished when the load ended: finished after it, or never.
    late = [row for row in finished.values() if row.processed_at is not None]
    backlog = sum(1 for row in late if row.processed_at.timestamp() > load_ended)
    backlog += len(acked) - len(finished)
    acks = [r["ack_ms"] for r in acked.values()]
    statuses: dict[str, int] = {}
    for r in load["results"]:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    not_stored = len(acked) - len(rows)
    unfinished = len(rows) - len(finished)
    label = (
        "embedded: SQLite, in-process queue"
        if mode == "embedded"
        else f"Redis + PostgreSQL, 1 serve + {workers} worker{'s' if workers > 1 else ''}"
    )
    result = {
        "mode": label,
        "load": "closed loop" if not rate else f"open loop at {rate:.0f}/s",
        "sent": len(load["results"]),
        "unsent_at_time_limit": load["unsent"],
        "responses": statuses,
        "acked": len(acked),
        "acked_per_second": len(acked) / load["elapsed_seconds"],
        "ack_p50_ms": _pct(acks, 50),
        "ack_p99_ms": _pct(acks, 99),
        "e2e_p50_ms": _pct(e2e, 50),
        "e2e_p99_ms": _pct(e2e, 99),
        # Lost: acknowledged, and not stored, or stored but still not applied once the
        # backlog stopped draining. A backlog that drains is not loss: see drain_seconds.
        "lost": not_stored + unfinished,
        "lost_not_stored": not_stored,
        "lost_not_applied": unfinished,
        "backlog_at_load_end": backlog,
        "drain_seconds": drain_seconds,
        "payload_bytes_mean": load["payload_bytes_mean"],
        "concurrency": concurrency,
        "max_jobs": max_jobs if mode != "embedded" else None,
        "cpu_seconds": {
            **cpu,
            **({} if postgres_cpu is None else {"postgres": postgres_cpu}),
            "loadgen": load["cpu_seconds"],
            "prwatch": sum(cpu.values()),
        },
        "cpu_ms_per_delivery": cpu_per_delivery(cpu, postgres_cpu, len(acked)),
        "elapsed_seconds": load["elapsed_seconds"],
    }
    if profile:
        result["profiles"] = {
            name: top_frames(path) for name, path in profiles.items() if path.exists()
        }
    print("  " + summary(mode, result), flush=True)
    return result


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def summary(mode: str, r: dict[str, Any]) -> str:
    drain = "—" if r["drain_seconds"] is None else f"{r['drain_seconds']:.1f} s"
    cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in r["cpu_seconds"].items())
    per_delivery = ", ".join(
        f"{name} {ms:.2f}" for name, ms in r.get("cpu_ms_per_delivery", {}).items()
    )
    return (
        f"webhooks {mode} ({r['load']}): {r['acked_per_second']:.0f}/s acked of {r['sent']}, "
        f"ack p50/p99 {_ms(r['ack_p50_ms'])}/{_ms(r['ack_p99_ms'])}, e2e p50/p99 "
        f"{_ms(r['e2e_p50_ms'])}/{_ms(r['e2e_p99_ms'])}, backlog at load end "
        f"{r['backlog_at_load_end']}, drained in {drain}, lost {r['lost']} "
        f"(not stored {r['lost_not_stored']}, not applied {r['lost_not_applied']}); "
        f"CPU s: {cpu}; CPU ms per delivery: {per_delivery}"
    )


# The Redis mode's worker processes and the jobs each runs at once. A worker applies the
# delivery jobs it runs together, in one batch at a time, and spends most of a batch waiting
# on PostgreSQL round trips: two workers overlap those waits on the machine's 2 cores, and 40
# jobs per worker (each job holds the deliveries of one receipt transaction) make batches big
# enough that the round trips are shared. Measured at 500/s offered: e2e p99 2.2 s with one
# worker and 40 jobs, 0.77 s with two.
REDIS_WORKERS = 2
REDIS_MAX_JOBS = 40
OFFERED_RATE = 500.0  # the target: deliveries/s GitHub sends, acknowledged within 50 ms at p99
# Open loop: enough connections that a slow answer never delays the next due delivery's send
# (at 500/s and 50 ms, 25 are in flight).
OPEN_LOOP_CONNECTIONS = 64


def run_webhook_scenarios(workdir: Path, *, quick: bool) -> list[dict[str, Any]]:
    """Per mode: the sustained maximum (closed loop), then the latencies at 500/s offered
    (open loop; 5 s of load with ``quick``, 20 s without)."""
    closed_count = 500 if quick else 5000
    open_seconds = 5 if quick else 20
    results = []
    for mode in ("embedded", "redis"):
        for rate in (None, OFFERED_RATE):
            load = "closed loop" if rate is None else f"open loop at {rate:.0f}/s"
            print(f"webhooks ({mode}, {load})", flush=True)
            try:
                results.append(
                    measure(
                        mode,
                        workdir / f"webhooks-{mode}",
                        count=closed_count if rate is None else int(rate * open_seconds),
                        concurrency=32 if rate is None else OPEN_LOOP_CONNECTIONS,
                        rate=rate,
                        workers=REDIS_WORKERS,
                        max_jobs=REDIS_MAX_JOBS,
                        max_seconds=60 if rate is None else open_seconds + 10,
                    )
                )
            except Exception as error:  # one run failing must not hide the others' figures
                results.append(
                    {"mode": mode, "load": load, "error": f"{type(error).__name__}: {error}"}
                )
                print(f"  webhooks {mode} ({load}) failed: {error}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhooks", description="one webhook scenario, printed as JSON"
    )
    parser.add_argument("--mode", choices=("embedded", "redis"), default="embedded")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=None, help="open loop at R deliveries/s")
    parser.add_argument("--workers", type=int, default=REDIS_WORKERS)
    parser.add_argument("--max-jobs", type=int, default=REDIS_MAX_JOBS)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--profile", action="store_true", help="py-spy every prwatch process")
    args = parser.parse_args(argv)
    result = measure(
        args.mode,
        ROOT / "bench" / ".work" / f"webhooks-{args.mode}",
        count=args.count,
        concurrency=args.concurrency,
        rate=args.rate,
        workers=args.workers,
        max_jobs=args.max_jobs,
        max_seconds=args.max_seconds,
        profile=args.profile,
    )
    json.dump(result, sys.stdout, indent=1, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
