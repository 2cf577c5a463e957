"""The demo, start to end: simulator and prwatch served side by side, cold sync, live activity
through real signed webhooks (some dropped), recovery by the delivery ledger and the sweep, and
a summary. Afterwards the web UI stays up until Ctrl-C, unless told not to."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prwatch.config import Settings
from prwatch.context import ProcessContext, create_context, sweep_options
from prwatch.demo.activity import ActivityDriver
from prwatch.demo.feed import ChangeFeed
from prwatch.demo.servers import RunningServer, bind, serve, url_of
from prwatch.demo.summary import DemoSummary, compare_with_world
from prwatch.ledger.check import check_delivery_ledger
from prwatch.queue.inprocess import InProcessQueue
from prwatch.queue.scheduler import run_periodic
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.config import SimConfig
from prwatch.store import upgrade_database
from prwatch.sync.processor import SweepReport, run_sweep
from prwatch.sync.repository_sweep import RepositoryOutcome
from prwatch.web.app import create_app

# Share of the duration spent on activity; the rest is for recovery and the summary.
ACTIVITY_SHARE = 0.75
STEP_INTERVAL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class DemoOptions:
    duration: float = 60.0
    host: str = "127.0.0.1"
    port: int = 8000
    sim_port: int = 0
    repos: int = 5
    prs: int = 200
    drop_rate: float = 0.1
    seed: int = 0
    data_dir: Path | None = None  # None: a temporary folder, removed at the end
    stay_up: bool = True  # keep serving the web UI after the summary, until Ctrl-C

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise ValueError("duration must be positive")
        if self.repos < 1 or self.prs < 0:
            raise ValueError("repos must be at least 1 and prs at least 0")
        if not 0.0 <= self.drop_rate < 1.0:
            raise ValueError("drop rate must be within [0, 1)")


async def run_demo(options: DemoOptions, console: Console) -> DemoSummary:
    with _data_dir(options.data_dir) as folder:
        database = folder / "prwatch.db"
        for stale in folder.glob("prwatch.db*"):  # a fresh start every time
            stale.unlink()
        database_url = f"sqlite+aiosqlite:///{database}"
        sim_socket = bind(options.host, options.sim_port)
        web_socket = bind(options.host, options.port)
        sim_url, web_url = url_of(sim_socket), url_of(web_socket)
        sim = create_simulator(
            SimConfig(
                repos=options.repos,
                prs=options.prs,
                seed=options.seed,
                webhook_seed=options.seed,
                api_url=sim_url,
            )
        )
        await upgrade_database(database_url)
        settings = Settings(
            database_url=database_url,
            redis_url=None,
            github_api_url=sim_url,
            app_id=sim.config.app_id,
            private_key=sim.private_key_pem,
            webhook_secret=(sim.config.webhook_secret,),
            client_id=sim.client_id,  # Sign in with GitHub, against the simulator
            client_secret=sim.client_secret,
            host=options.host,
            port=int(web_url.rsplit(":", 1)[1]),
        )
        context = await create_context(settings)
        try:
            async with _served(sim, context, sim_socket, web_socket):
                console.print(f"[bold]simulated GitHub[/] at {sim_url}")
                console.print(f"[bold]prwatch[/] at [link={web_url}/]{web_url}/[/link]  ")
                console.print(
                    f"sign in: [link={web_url}/login]{web_url}/login[/link] (the simulated GitHub "
                    "signs the browser in as octocat at once)"
                )
                summary = await _demonstrate(options, console, sim, context, web_url)
                console.print(summary.table())
                if options.stay_up:
                    await _stay_up(context, console, web_url)
        finally:
            await context.aclose()
    return summary


@contextlib.contextmanager
def _data_dir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="prwatch-demo-") as name:
        yield Path(name)


@asynccontextmanager
async def _served(
    sim: Simulator, context: ProcessContext, sim_socket: socket.socket, web_socket: socket.socket
) -> AsyncIterator[None]:
    running: list[RunningServer] = []
    try:
        running.append(await serve(sim.app, sim_socket, name="simulator"))
        app = create_app(context.settings, context=context)
        running.append(await serve(app, web_socket, name="prwatch"))
        yield
    finally:
        for server in reversed(running):
            await server.stop()
        sim_socket.close()
        web_socket.close()


async def _demonstrate(
    options: DemoOptions, console: Console, sim: Simulator, context: ProcessContext, web_url: str
) -> DemoSummary:
    started = time.monotonic()
    summary = DemoSummary()
    cold = await _sweep_with_progress(context, console, "cold sync")
    feed = ChangeFeed(context.store, console)
    await feed.start_at_end()
    summary.cold_sync_changes = feed.cursor
    console.print(
        f"cold sync: {len(cold.repositories)} repositories, {cold.prs_seen} pull requests, "
        f"{sum(cold.changes_by_kind.values())} changes in {cold.duration_seconds:.1f} s"
    )
    cold_by_source = dict(feed.by_source)

    # Activity: every mutation becomes a signed webhook POSTed to prwatch; some get lost.
    sim.configure({"hook_url": f"{web_url}/webhooks", "webhook_drop_rate": options.drop_rate})
    console.rule(
        f"live activity for {options.duration * ACTIVITY_SHARE:.0f} s "
        f"({options.drop_rate:.0%} of deliveries dropped on purpose)"
    )
    driver = ActivityDriver(sim.world, seed=options.seed)
    follower = asyncio.create_task(feed.follow(), name="demo-feed")
    try:
        await _drive(driver, options.duration * ACTIVITY_SHARE, console)
        sim.configure({"webhook_drop_rate": 0.0})  # redeliveries get through
        await _settle(sim, context, feed)

        attempts = sim.webhooks.attempts
        dropped = [a for a in attempts if a.status_code == 0]
        console.rule(f"recovery: {len(dropped)} of {len(attempts)} deliveries never arrived")
        first = await check_delivery_ledger(context.store, context.github)
        await _settle(sim, context, feed)
        second = await check_delivery_ledger(context.store, context.github)
        console.print(
            f"delivery ledger: {first.failed_seen} failed deliveries seen, "
            f"{first.redelivered} redelivered, {first.recovered + second.recovered} now stored"
        )
        before_sweep = feed.cursor
        final = await _sweep_with_progress(context, console, "sweep")
        await feed.poll()
        console.print(
            f"sweep: {sum(final.changes_by_kind.values())} changes caught that no delivery "
            f"brought ({feed.cursor - before_sweep} logged)"
        )
        # Nothing changed since: GitHub answers the conditional listings 304 (free).
        quiet = await _sweep_with_progress(context, console, "no-change sweep")
        await feed.poll()
        console.print(describe_quiet_sweep(quiet))
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
    await feed.poll()

    summary.repositories = len(driver.live_repository_ids())
    summary.pull_requests = sum(
        len(sim.world.repository(rid).pulls) for rid in driver.live_repository_ids()
    )
    summary.changes_by_source = dict(feed.by_source)
    summary.live_changes_by_source = {
        source: n - cold_by_source.get(source, 0)
        for source, n in feed.by_source.items()
        if n - cold_by_source.get(source, 0)
    }
    summary.change_log_size = feed.cursor
    summary.activity_steps = dict(driver.performed)
    summary.merge_signal_changes = {
        kind: count
        for kind, count in feed.by_kind.items()
        if kind.startswith(("status_", "review_", "merge_signal"))
    }
    summary.deliveries_sent = len({a.delivery.guid for a in sim.webhooks.attempts})
    summary.deliveries_dropped = len(dropped)
    async with context.store.transaction(read_only=True) as tx:
        counts = await tx.delivery_counts()
    summary.deliveries_stored = sum(counts.values())
    summary.ledger_failed_seen = first.failed_seen
    summary.ledger_redelivered = first.redelivered + second.redelivered
    summary.ledger_recovered = first.recovered + second.recovered
    summary.final_sweep_changes = sum(final.changes_by_kind.values())
    summary.quiet_sweep_requests = sum(quiet.requests_by_outcome.values())
    summary.quiet_sweep_not_modified = quiet.requests_by_outcome.get("304", 0)
    summary.quiet_sweep_changes = sum(quiet.changes_by_kind.values())
    summary.quiet_sweep_points_core = quiet.points_core
    stats = sim.stats.snapshot()
    summary.api_requests = int(stats["total"])
    summary.api_not_modified = sim.stats.total("304")
    summary.api_points = dict(stats["points"])
    summary.mismatches = await compare_with_world(context.store, sim.world)
    console.print(f"[dim]demo ran {time.monotonic() - started:.1f} s[/]")
    return summary


def describe_quiet_sweep(report: SweepReport) -> str:
    requests = sum(report.requests_by_outcome.values())
    not_modified = report.requests_by_outcome.get("304", 0)
    return (
        f"no-change sweep: {not_modified} of {requests} requests answered 304 Not Modified "
        f"(free), {report.points_core} REST points, {report.points_graphql} GraphQL "
        f"(the check runs are read every sweep), {sum(report.changes_by_kind.values())} changes"
    )


async def _drive(driver: ActivityDriver, seconds: float, console: Console) -> None:
    deadline = time.monotonic() + seconds
    removal_at = time.monotonic() + seconds / 2
    removed = False
    while time.monotonic() < deadline:
        for _ in range(2):
            driver.step()
        if not removed and time.monotonic() >= removal_at:
            removed = True
            repository_id = driver.remove_one_repository()
            if repository_id is not None:
                name = driver.world.repository(repository_id).full_name
                console.print(f"[bold red]{name} removed from the installation[/]")
        await asyncio.sleep(STEP_INTERVAL_SECONDS)


async def _settle(sim: Simulator, context: ProcessContext, feed: ChangeFeed) -> None:
    """Every queued delivery sent, every stored one applied, every change printed."""
    await sim.webhooks.drain()
    if isinstance(context.queue, InProcessQueue):
        await context.queue.drain()
    await feed.poll()


async def _sweep_with_progress(
    context: ProcessContext, console: Console, label: str
) -> SweepReport:
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("repositories · {task.fields[changes]} changes"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None, changes=0)
        changes = 0

        def advance(outcome: RepositoryOutcome, done: int, total: int) -> None:
            nonlocal changes
            changes += sum(outcome.changes_by_kind.values())
            bar.update(task, completed=done, total=total, changes=changes)

        return await run_sweep(
            context.store,
            context.github,
            options=sweep_options(context.settings),
            progress=advance,
        )


async def _stay_up(context: ProcessContext, console: Console, web_url: str) -> None:
    """Serve the web UI (with the periodic sweep) until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    schedule = asyncio.create_task(run_periodic(context), name="prwatch-scheduler")
    console.print(
        f"\nThe status page stays up at {web_url}/ (sign in: {web_url}/login) — press Ctrl-C "
        "to stop."
    )
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        schedule.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await schedule
