"""The live change feed: the change log read with a cursor, one readable line per change."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape

from prwatch.domain.models import ChangeKind, Source
from prwatch.domain.webhook_coverage import is_sweep_only
from prwatch.store import Store, StoredChange
from prwatch.web.page_render import show_value

PAGE = 500

KIND_STYLES: dict[ChangeKind, str] = {
    ChangeKind.PR_OPENED: "green",
    ChangeKind.PR_DISCOVERED: "dim",
    ChangeKind.PR_CLOSED: "red",
    ChangeKind.PR_MERGED: "magenta",
    ChangeKind.PR_REOPENED: "green",
    ChangeKind.PR_HEAD_CHANGED: "yellow",
    ChangeKind.PR_TITLE_CHANGED: "yellow",
    ChangeKind.PR_DRAFT_CHANGED: "yellow",
    ChangeKind.PR_LABELS_CHANGED: "blue",
    ChangeKind.PR_BASE_CHANGED: "yellow",
    ChangeKind.PR_AUTO_MERGE_CHANGED: "blue",
    ChangeKind.PR_MERGE_QUEUE_CHANGED: "blue",
    ChangeKind.PR_REMOVED: "red",
    ChangeKind.CHECK_RUN_CREATED: "dim",
    ChangeKind.CHECK_RUN_STATUS_CHANGED: "cyan",
    ChangeKind.CHECK_RUN_CONCLUDED: "bold",
    ChangeKind.STATUS_CREATED: "dim",
    ChangeKind.STATUS_STATE_CHANGED: "cyan",
    ChangeKind.REVIEW_SUBMITTED: "blue",
    ChangeKind.REVIEW_DISMISSED: "yellow",
    ChangeKind.REVIEW_DECISION_CHANGED: "magenta",
    ChangeKind.MERGE_SIGNAL_CHANGED: "bold",
}
CONCLUSION_STYLES = {"success": "green", "failure": "red", "cancelled": "yellow"}
SOURCE_STYLES = {Source.WEBHOOK: "cyan", Source.SWEEP: "magenta"}


def describe(change: StoredChange, repository_names: dict[int, str]) -> str:
    """One line of rich markup for a change (text escaped)."""
    when = change.detected_at.strftime("%H:%M:%S")
    source_style = SOURCE_STYLES.get(change.source, "white")
    where = "-"
    if change.repository_id is not None:
        where = repository_names.get(change.repository_id, f"repository {change.repository_id}")
        if change.pr_number is not None:
            where += f"#{change.pr_number}"
    kind_style = KIND_STYLES.get(change.kind, "white")
    what = change.kind.value.replace("_", " ")
    if change.check_run_id is not None:
        detail = f"check run {change.check_run_id}: {show_value(change.new)}"
        if change.kind is ChangeKind.CHECK_RUN_CONCLUDED:
            style = CONCLUSION_STYLES.get(str(change.new), "white")
            detail = f"check run {change.check_run_id}: [{style}]{show_value(change.new)}[/]"
        else:
            detail = escape(detail)
    elif change.status_context is not None:
        detail = escape(
            f"{change.status_context}: {show_value(change.old)} → {show_value(change.new)}"
        )
    elif change.kind is ChangeKind.MERGE_SIGNAL_CHANGED:
        style = CONCLUSION_STYLES.get(str(change.new), "yellow")
        detail = f"{escape(show_value(change.old))} → [{style}]{escape(show_value(change.new))}[/]"
    elif change.field is not None and change.kind is not ChangeKind.PR_OPENED:
        detail = escape(f"{show_value(change.old)} → {show_value(change.new)}")
    else:
        detail = escape(show_value(change.new))
    if is_sweep_only(change.change):
        detail += " [dim](sweep-only: GitHub sends no webhook when a check run starts)[/]"
    return (
        f"[dim]{when}[/] [{source_style}]{change.source.value:<7}[/] "
        f"{escape(where):<28} [{kind_style}]{what:<24}[/] {detail}"
    )


@dataclass(slots=True)
class ChangeFeed:
    """Reads the change log after a cursor; prints each change and counts them by source."""

    store: Store
    console: Console
    cursor: int = 0
    printing: bool = True
    by_source: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    _names: dict[int, str] = field(default_factory=dict)
    # The follower task and the demo's own polls share the cursor: one reader at a time, or
    # both would read (and count) the same page.
    _reading: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def start_at_end(self) -> None:
        """Skip what is already logged (the cold sync), counting it but printing nothing."""
        printing, self.printing = self.printing, False
        try:
            await self.poll()
        finally:
            self.printing = printing

    async def poll(self) -> int:
        """Read everything logged since the last poll; the number of changes read."""
        async with self._reading:
            return await self._read_to_end()

    async def _read_to_end(self) -> int:
        total = 0
        while True:
            async with self.store.transaction(read_only=True) as tx:
                page = await tx.changes_after(self.cursor, PAGE)
                if any(c.repository_id not in self._names for c in page if c.repository_id):
                    for repo in await tx.list_repositories(include_removed=True):
                        self._names[repo.id] = repo.full_name
            self._take(page)
            total += len(page)
            if len(page) < PAGE:
                return total

    async def follow(self, interval: float = 0.3) -> None:
        """Poll until cancelled."""
        while True:
            await self.poll()
            await asyncio.sleep(interval)

    def _take(self, page: Sequence[StoredChange]) -> None:
        for change in page:
            self.by_source[change.source.value] += 1
            self.by_kind[change.kind.value] += 1
            if self.printing:
                self.console.print(describe(change, self._names), highlight=False, soft_wrap=True)
            self.cursor = change.cursor
