"""The terminal side of ``prwatch sweep``: progress while it runs, a table when it is done."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from prwatch.commands.serve import is_embedded
from prwatch.config import Settings
from prwatch.context import create_job_context, sweep_options
from prwatch.store.migrations import upgrade_database
from prwatch.sync.processor import SweepReport, run_sweep
from prwatch.sync.repository_sweep import RepositoryOutcome


async def sweep_with_progress(settings: Settings, *, show_progress: bool) -> SweepReport:
    console = Console(stderr=True)
    if is_embedded(settings):
        await upgrade_database(settings.database_url)
    context = await create_job_context(settings)
    try:
        with Progress(
            TextColumn("[bold]sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "repositories · {task.fields[changes]} changes · {task.fields[failed]} failed"
            ),
            TimeElapsedColumn(),
            console=console,
            disable=not show_progress,
            transient=True,
        ) as bar:
            task = bar.add_task("sweep", total=None, changes=0, failed=0)
            changes = failed = 0

            def advance(outcome: RepositoryOutcome, done: int, total: int) -> None:
                nonlocal changes, failed
                changes += sum(outcome.changes_by_kind.values())
                failed += not outcome.ok
                bar.update(task, completed=done, total=total, changes=changes, failed=failed)

            report = await run_sweep(
                context.store, context.github, options=sweep_options(settings), progress=advance
            )
    finally:
        await context.aclose()
    Console().print(summary_table(report))
    for outcome in report.failed:
        console.print(f"[red]failed[/red] {outcome.full_name}: {outcome.error}")
    for outcome in report.repositories:
        for item in outcome.skipped[:10]:  # GitHub answered an item out of its documented shape
            console.print(f"[yellow]skipped[/yellow] {outcome.full_name}: {escape(item.note)}")
    if report.error:
        console.print(f"[red]error[/red] {report.error}")
    return report


def summary_table(report: SweepReport) -> Table:
    table = Table(title=f"sweep {report.sweep_id}: {report.status.value}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    ok = len(report.repositories) - len(report.failed)
    table.add_row("repositories ok / failed", f"{ok} / {len(report.failed)}")
    table.add_row("pull requests seen", str(report.prs_seen))
    changes = ", ".join(f"{kind} {n}" for kind, n in sorted(report.changes_by_kind.items()))
    table.add_row("changes", changes or "none")
    outcomes = ", ".join(
        f"{status}: {n}" for status, n in sorted(report.requests_by_outcome.items())
    )
    table.add_row("requests", outcomes or "none")
    table.add_row(
        "conditional requests missed: token changed", str(report.conditional_misses_token_changed)
    )
    table.add_row(
        "points spent (REST / GraphQL)", f"{report.points_core} / {report.points_graphql}"
    )
    remaining = report.rate_limit_remaining
    table.add_row("rate limit remaining", "unknown" if remaining is None else str(remaining))
    table.add_row("duration", f"{report.duration_seconds:.2f} s")
    return table
