"""The scale-up run: many installations, several ``prwatch worker`` processes, Redis + PostgreSQL.

The simulator runs as its own process (default: 1,000 repositories x 1,000 PRs over 10
installations, 100 ms per request, secondary limits on, 304s counted), prwatch as N
``prwatch worker`` processes on a fresh PostgreSQL database and a dedicated Redis database,
exactly as deployed, except that the workers keep no schedule: the bench asks for each sweep
(``prwatch.sync.distributed.request_sweep``) and waits for its record to finish, whichever
worker records the last repository. Each scenario (cold, no-change, 1% churn) reports the
sweep record's figures, the simulator's requests by route, rows written, correctness against
the simulator's truth, each worker's peak RSS, and the CPU seconds of the simulator, the
workers and the PostgreSQL backends serving them (the three share the machine's cores).

The truth of a million PRs is read one installation at a time and kept as digests
(``bench.correctness.digest_view``), so that the bench itself stays within a few hundred MB.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import redis

from bench import correctness as c
from bench.limits import Shape, changed_repositories, cold_limit_of, later_limit_of, shape_of
from bench.simulator import Scale, SimulatorProcess, cpu_seconds
from bench.sweeps import churn
from prwatch.queue.arq_queue import ArqQueue
from prwatch.store import Store, create_engine
from prwatch.sync.distributed import latest_sweep_id, request_sweep, wait_for_sweep

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/8"  # the scale-up's own database (webhooks use 9, tests 15)
GITHUB_CONCURRENCY = 100  # GitHub's secondary limit on requests in flight, shared by all workers


@dataclass(frozen=True, slots=True)
class ScaleUpPlan:
    repos: int = 1000
    prs: int = 1000
    installations: int = 10
    workers: int = 4
    # Repositories one worker sweeps at once. The simulator serves from one process: with
    # more requests in flight than it answers in 10 s (GitHub's and prwatch's timeout), a
    # CPU-starved simulator times requests out that GitHub would answer.
    max_jobs: int = 5
    latency_ms: float = 100.0
    seed: int = 1
    sweep_timeout_seconds: float = 2400.0
    profile_dir: Path | None = None  # py-spy each worker during each sweep (collapsed stacks)

    def scale(self) -> Scale:
        return Scale(
            repos=self.repos,
            prs=self.prs,
            installations=self.installations,
            latency_ms=self.latency_ms,
            seed=self.seed,
        )

    def describe(self) -> str:
        return (
            f"{self.installations} installations, {self.repos} repositories x {self.prs} PRs, "
            f"{self.workers} workers x {self.max_jobs} jobs, Redis + PostgreSQL, "
            f"{self.latency_ms:.0f} ms latency, secondary limits on (304s counted)"
        )


def vm_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


class WorkerProcesses:
    """``prwatch worker`` processes, their logs in the work folder."""

    def __init__(self, count: int, env: dict[str, str], workdir: Path, *, max_jobs: int) -> None:
        self.logs = [workdir / f"worker-{n}.log" for n in range(count)]
        self.processes: list[subprocess.Popen[bytes]] = []
        args = [
            sys.executable, "-m", "prwatch.cli", "worker",
            "--no-schedule", "--max-jobs", str(max_jobs), "--job-timeout", "600",
        ]  # fmt: skip
        for log in self.logs:
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(
                        args,
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def wait_started(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(range(len(self.processes)))
        while pending:
            self.check_alive()
            pending = {n for n in pending if "worker started" not in self.logs[n].read_text()}
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers {sorted(pending)} did not start: see {self.logs[0]}")
            time.sleep(0.2)

    def check_alive(self) -> None:
        for log, process in zip(self.logs, self.processes, strict=True):
            if process.poll() is not None:
                tail = log.read_text()[-2000:]
                raise RuntimeError(f"worker exited with {process.returncode}: {tail}")

    def cpu_seconds(self) -> list[float]:
        return [cpu_seconds(pid) for pid in self.pids]

    def reset_peaks(self) -> None:
        """Start a new peak RSS (VmHWM) per worker (Linux: clear_refs value 5)."""
        for pid in self.pids:
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")

    def peaks_mb(self) -> list[float]:
        return [vm_kb(pid, "VmHWM") / 1024 for pid in self.pids]

    def profile(self, folder: Path, scenario: str) -> list[subprocess.Popen[bytes]]:
        """Start ``py-spy record`` on every worker; stop them with ``stop_profiles``."""
        folder.mkdir(parents=True, exist_ok=True)
        spy = str(Path(sys.executable).with_name("py-spy"))
        commands = [
            [
                spy, "record", "--pid", str(pid), "--rate", "50", "--nonblocking",
                "--format", "raw", "--output", str(folder / f"{scenario}-worker-{n}.txt"),
            ]
            for n, pid in enumerate(self.pids)
        ]  # fmt: skip
        return [
            subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for command in commands
        ]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def postgres_backend_pids(database_url: str) -> list[int]:
    """The PostgreSQL server processes serving this database (the workers' connections)."""
    name = database_url.rsplit("/", 1)[1]
    admin = database_url.replace("postgresql+asyncpg://", "postgresql://", 1).rsplit("/", 1)[0]
    conn = await asyncpg.connect(f"{admin}/postgres")
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
        )
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy since boot (Linux /proc/stat): what
    the bench's processes used, and what everything else on the machine took from them."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            found[pid] = cpu_seconds(pid)
    return found


@dataclass(slots=True)
class TruthSnapshot:
    """The simulator's truth as digests, with what the physical limit needs per installation."""

    view: c.View
    shapes: dict[int, Shape]  # installation id -> its watched repositories
    installation_of: dict[int, int]  # repository id -> installation id
    repositories: list[dict[str, Any]]


def read_truth(sim: SimulatorProcess) -> TruthSnapshot:
    installations = [
        inst for inst in sim.admin("GET", "/_sim/app")["installations"] if inst.get("id")
    ]
    snapshot = TruthSnapshot({}, {}, {}, [])
    for inst in sorted(installations, key=lambda i: int(i["id"])):
        installation_id = int(inst["id"])
        truth = sim.admin("GET", f"/_sim/truth?installation_id={installation_id}")
        view = c.truth_view(truth)
        snapshot.shapes[installation_id] = shape_of(view)
        snapshot.view.update(c.digest_view(view))
        for repo in truth["repositories"]:
            snapshot.installation_of[int(repo["id"])] = installation_id
        snapshot.repositories += truth["repositories"]
        del truth, view
    snapshot.repositories.sort(key=lambda repo: int(repo["id"]))
    return snapshot


class _ChurnTarget:
    """What ``bench.sweeps.churn`` needs of the simulator. Its truth is cut to the repository
    list read last: churning PRs and check runs leaves repositories as they were, and the whole
    truth of a million PRs is not needed to pick one repository to remove and one to rename."""

    def __init__(self, sim: SimulatorProcess, repositories: list[dict[str, Any]]) -> None:
        self._sim = sim
        self._repositories = repositories

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._sim.admin(method, path, body)

    def truth(self) -> dict[str, Any]:
        return {"repositories": self._repositories}


def _changed_installation_indexes(
    expected: set[tuple[Any, ...]], before: TruthSnapshot, after: TruthSnapshot
) -> list[int]:
    order = sorted(after.shapes)
    changed = set()
    for key in expected:
        if key[0] != "repo":
            continue
        for snapshot in (before, after):
            installation = snapshot.installation_of.get(int(key[1]))
            if installation in after.shapes:
                changed.add(order.index(installation))
    return sorted(changed)


class ScaleUpRun:
    def __init__(
        self,
        plan: ScaleUpPlan,
        sim: SimulatorProcess,
        workers: WorkerProcesses,
        database_url: str,
        redis_url: str,
    ) -> None:
        self.plan = plan
        self.sim = sim
        self.workers = workers
        self.database_url = database_url
        self.redis_url = redis_url

    async def scenarios(self) -> list[dict[str, Any]]:
        engine = create_engine(self.database_url, pool_size=2)
        queue = await ArqQueue.connect(self.redis_url)
        store = Store(engine)
        results = []
        before = TruthSnapshot({}, {}, {}, [])
        cursor = 0
        try:
            for name in ("cold", "no-change", "churn"):
                churned = None
                if name == "churn":
                    churned = churn(_ChurnTarget(self.sim, before.repositories), self.plan.seed)
                figures, before, cursor = await self.scenario(store, queue, name, before, cursor)
                if churned:
                    figures["churn"] = churned
                print(line(figures), flush=True)
                results.append(figures)
        finally:
            await queue.aclose()
            await engine.dispose()
        return results

    async def scenario(
        self, store: Store, queue: ArqQueue, name: str, before: TruthSnapshot, cursor: int
    ) -> tuple[dict[str, Any], TruthSnapshot, int]:
        sim, workers = self.sim, self.workers
        sim.reset_stats()
        await asyncio.sleep(1.1)  # rows synced before fall before `since`, at any resolution
        since = datetime.now(UTC)
        after_id = await latest_sweep_id(store)
        backends = await postgres_backend_pids(self.database_url)
        pg_before = cpu_by_pid(backends)
        sim_before, workers_before = sim.cpu_seconds(), workers.cpu_seconds()
        machine_before = machine_busy_seconds()
        workers.reset_peaks()
        profiles = workers.profile(self.plan.profile_dir, name) if self.plan.profile_dir else []
        started = time.monotonic()
        job_id = await request_sweep(queue)
        if job_id is None:
            raise RuntimeError("the sweep could not be queued: an equal job id exists")
        record = await self._wait(store, after_id)
        observed = time.monotonic() - started
        stop_profiles(profiles)
        sim_cpu = sim.cpu_seconds() - sim_before
        machine_cpu = machine_busy_seconds() - machine_before
        worker_cpu = [a - b for a, b in zip(workers.cpu_seconds(), workers_before, strict=True)]
        peaks = workers.peaks_mb()
        backends = await postgres_backend_pids(self.database_url)
        pg_after = cpu_by_pid(backends)
        pg_cpu = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items())
        stats = sim.stats()

        after = await asyncio.to_thread(read_truth, sim)
        stored = await c.store_view(store.engine, after.view, digest=True)
        detected, logged = await c.logged_keys(store.engine, cursor)
        upserts = await c.rows_synced_since(store.engine, since)
        next_cursor = await c.change_cursor(store.engine)
        expected = c.changed_keys(before.view, after.view)
        shapes = [after.shapes[i] for i in sorted(after.shapes)]
        limit = (
            cold_limit_of(shapes)
            if name == "cold"
            else later_limit_of(
                shapes,
                changed_installations=_changed_installation_indexes(expected, before, after),
                changed_repos=len(changed_repositories(expected, after.view)),
            )
        )
        result = record.result
        figures: dict[str, Any] = {
            "scenario": name,
            "prwatch": {
                "sweep_id": record.id,
                "status": result.status.value,
                "error": result.error,
                "repositories": result.repositories_total,
                "repositories_failed": result.repositories_failed,
                "prs_seen": result.prs_seen,
                "changes_by_kind": dict(result.changes_by_kind),
                "requests_by_outcome": dict(result.requests_by_outcome),
                "points_core": result.points_spent_core,
                "points_graphql": result.points_spent_graphql,
                # The sweep record's own duration: planned by one worker, finished by the one
                # that recorded the last repository.
                "wall_seconds": record.duration_seconds,
                "requested_to_observed_seconds": observed,
                "cpu_seconds": sum(worker_cpu),
                "cpu_seconds_by_worker": worker_cpu,
                "peak_rss_mb": max(peaks),
                "peak_rss_mb_sum": sum(peaks),
                "peak_rss_mb_by_worker": peaks,
            },
            "simulator": {"stats": stats, "cpu_seconds": sim_cpu},
            "postgres": {"cpu_seconds": pg_cpu, "backends": len(pg_after)},
            # Every process of the machine, the bench's and anyone else's, in the same window.
            "machine": {"busy_cpu_seconds": machine_cpu, "cores": os.cpu_count()},
            "rows_written": {"change_log": logged, **upserts},
            "correctness": c.judge(expected, detected, after.view, stored),
            "limit": limit.as_dict(),
            "open_prs": sum(shape.open_prs for shape in shapes),
        }
        return figures, after, next_cursor

    async def _wait(self, store: Store, after_id: int) -> Any:
        wait = asyncio.create_task(
            wait_for_sweep(
                store, after_id=after_id, timeout_seconds=self.plan.sweep_timeout_seconds
            )
        )
        try:
            while not wait.done():
                self.workers.check_alive()  # a worker that died leaves its jobs to recovery
                await asyncio.wait({wait}, timeout=2.0)
            return wait.result()
        finally:
            wait.cancel()


def stop_profiles(profiles: list[subprocess.Popen[bytes]]) -> None:
    for spy in profiles:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
    for spy in profiles:
        try:
            spy.wait(60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()


def flush_redis(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def run_scale_up(
    plan: ScaleUpPlan, workdir: Path, database_url: str, redis_url: str = REDIS_URL
) -> dict[str, Any]:
    """Start the simulator and the workers, run the three scenarios, stop everything. The
    database is migrated already (``bench.databases.fresh_database``); the Redis database is
    emptied first and last."""
    workdir.mkdir(parents=True, exist_ok=True)
    flush_redis(redis_url)
    print(f"scale-up: starting the simulator ({plan.describe()})", flush=True)
    sim = SimulatorProcess(plan.scale(), workdir)
    notes = [
        f"- scale-up simulator: generated in {sim.startup_seconds:.1f} s, RSS {sim.rss_mb():.0f} MB"
    ]
    workers = None
    try:
        env = {
            **os.environ,
            **sim.env(),
            "PRWATCH_DATABASE_URL": database_url,
            "PRWATCH_REDIS_URL": redis_url,
            "PRWATCH_GITHUB_MAX_CONCURRENCY": str(max(1, GITHUB_CONCURRENCY // plan.workers)),
            "PRWATCH_LOG_FORMAT": "json",
        }
        workers = WorkerProcesses(plan.workers, env, workdir, max_jobs=plan.max_jobs)
        workers.wait_started()
        print(f"scale-up: {plan.workers} workers started", flush=True)
        run = ScaleUpRun(plan, sim, workers, database_url, redis_url)
        scenarios = asyncio.run(run.scenarios())
        notes.append(f"- scale-up simulator RSS after the run: {sim.rss_mb():.0f} MB")
    finally:
        if workers is not None:
            workers.stop()
        sim.stop()
        flush_redis(redis_url)
    return {
        "label": f"scale-up, {plan.workers} workers",
        "scale_up": True,
        "scale": plan.describe(),
        "scenarios": scenarios,
        "notes": notes,
    }


def _short_route(route: str) -> str:
    method, _, path = route.partition(" ")
    tail = path.rstrip("/").rsplit("/", 1)[-1]
    return f"{method} {tail}"


def routes(stats: dict[str, Any]) -> str:
    """The simulator's requests by route and outcome, short: ``GET pulls 304: 1000``."""
    return ", ".join(
        f"{_short_route(route)} {outcome}: {count}"
        for route, outcomes in sorted(stats.get("requests", {}).items())
        for outcome, count in sorted(outcomes.items())
    )


def line(f: dict[str, Any]) -> str:
    p, k = f["prwatch"], f["correctness"]
    return (
        f"  {f['scenario']:<10} {p['wall_seconds']:7.2f} s  status={p['status']}  "
        f"requests={sum(p['requests_by_outcome'].values())} "
        f"points={p['points_core']}+{p['points_graphql']}gql  "
        f"rss max {p['peak_rss_mb']:.0f} / sum {p['peak_rss_mb_sum']:.0f} MB  "
        f"cpu workers {p['cpu_seconds']:.1f} s sim {f['simulator']['cpu_seconds']:.1f} s "
        f"pg {f['postgres']['cpu_seconds']:.1f} s  "
        f"found {k['found']}/{k['expected_changes']} invented {k['invented']} "
        f"mismatches {k['store_mismatches']}"
    )
