"""What the demo reports at the end, and the check that prwatch agrees with the simulator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.table import Table

from prwatch.sim.statuses import latest_statuses
from prwatch.sim.world import World
from prwatch.store import Store


@dataclass(slots=True)
class DemoSummary:
    repositories: int = 0
    pull_requests: int = 0
    cold_sync_changes: int = 0
    live_changes_by_source: dict[str, int] = field(default_factory=dict)
    changes_by_source: dict[str, int] = field(default_factory=dict)
    change_log_size: int = 0
    activity_steps: dict[str, int] = field(default_factory=dict)
    # Commit statuses, reviews and merge signals logged (the whole merge signal).
    merge_signal_changes: dict[str, int] = field(default_factory=dict)
    deliveries_sent: int = 0
    deliveries_dropped: int = 0
    deliveries_stored: int = 0
    ledger_failed_seen: int = 0
    ledger_redelivered: int = 0
    ledger_recovered: int = 0
    final_sweep_changes: int = 0
    quiet_sweep_requests: int = 0  # the last sweep, after nothing changed
    quiet_sweep_not_modified: int = 0
    quiet_sweep_changes: int = 0
    quiet_sweep_points_core: int = 0
    api_requests: int = 0
    api_not_modified: int = 0
    api_points: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    @property
    def not_modified_ratio(self) -> float:
        return self.api_not_modified / self.api_requests if self.api_requests else 0.0

    @property
    def converged(self) -> bool:
        return not self.mismatches

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "not_modified_ratio": round(self.not_modified_ratio, 4),
            "converged": self.converged,
        }

    def table(self) -> Table:
        table = Table(title="prwatch demo: summary", show_header=False)
        table.add_column("what", style="bold")
        table.add_column("value", justify="right")
        table.add_row("repositories / pull requests", f"{self.repositories} / {self.pull_requests}")
        table.add_row("changes at the cold sync", str(self.cold_sync_changes))
        table.add_row("changes since, by source", _counts(self.live_changes_by_source))
        table.add_row("change log, by source", _counts(self.changes_by_source))
        table.add_row(
            "webhook deliveries sent / dropped",
            f"{self.deliveries_sent} / {self.deliveries_dropped}",
        )
        table.add_row(
            "delivery ledger: failed seen / redelivered / recovered",
            f"{self.ledger_failed_seen} / {self.ledger_redelivered} / {self.ledger_recovered}",
        )
        table.add_row("statuses, reviews, merge signals logged", _counts(self.merge_signal_changes))
        table.add_row("changes the final sweep caught", str(self.final_sweep_changes))
        table.add_row(
            "no-change sweep: requests / 304 / changes",
            f"{self.quiet_sweep_requests} / {self.quiet_sweep_not_modified} / "
            f"{self.quiet_sweep_changes}",
        )
        table.add_row("API requests (simulator)", str(self.api_requests))
        table.add_row("rate-limit points (simulator)", _counts(self.api_points))
        table.add_row("304 Not Modified ratio", f"{self.not_modified_ratio:.1%}")
        table.add_row(
            "prwatch agrees with the simulator",
            "yes" if self.converged else f"no: {len(self.mismatches)} differences",
        )
        return table


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "none"


async def compare_with_world(store: Store, world: World) -> list[str]:
    """Differences between each watched repository's open PRs in the store and in the world."""
    mismatches: list[str] = []
    async with store.transaction(read_only=True) as tx:
        for repo in sorted(world.repositories.values(), key=lambda r: r.id):
            if repo.deleted or repo.installation_id is None or repo.fork_of is not None:
                continue
            stored = {
                pr.number: (pr.head_sha, pr.title, pr.draft, sorted(pr.labels))
                for pr in await tx.list_pull_requests(repo.full_name, "open")
            }
            truth = {
                pr.number: (pr.head_sha, pr.title, pr.draft, sorted(pr.labels))
                for pr in repo.pulls
                if pr.state == "open"
            }
            for number in sorted(stored.keys() | truth.keys()):
                if stored.get(number) != truth.get(number):
                    mismatches.append(f"{repo.full_name}#{number}")
            heads = {pr.number: pr.head_sha for pr in repo.pulls if pr.state == "open"}
            statuses = await tx.load_commit_statuses(repo.id, heads.values())
            for number, sha in sorted(heads.items()):
                kept = sorted((c, s.state) for (h, c), s in statuses.items() if h == sha)
                want = sorted((s.context, s.state) for s in latest_statuses(world, repo.id, sha))
                if kept != want:
                    mismatches.append(f"{repo.full_name}#{number} statuses")
    return mismatches
