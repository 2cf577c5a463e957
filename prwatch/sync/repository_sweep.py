"""Sweep one repository: list what changed, verify its open PRs' checks, apply in one
transaction. A failure rolls back this repository only and is retried with backoff."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from prwatch.domain.changes import pr_lifecycle
from prwatch.domain.check_runs import CheckRunRow
from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    CommitStatusSnapshot,
    PullRequestSnapshot,
    RemovalReason,
    Source,
)
from prwatch.domain.statuses import fold_statuses
from prwatch.github.errors import BudgetReserved, RateLimited, RetryableGitHubError
from prwatch.store.errors import RetryableStoreError
from prwatch.store.records import RepositoryRecord, SyncState
from prwatch.store.store import Store, StoreTransaction
from prwatch.sync.apply import Observation, apply_observation
from prwatch.sync.check_discovery import CheckApi, CommitChecks, discover_checks
from prwatch.sync.check_query import RepositoryCommits
from prwatch.sync.options import SweepOptions
from prwatch.sync.pull_listing import (
    ListingOutcome,
    PullListing,
    list_pull_requests,
    pulls_etag_key,
)
from prwatch.sync.review_query import PullReviews, read_reviews
from prwatch.sync.shared_check_queries import SharedCheckQueries
from prwatch.sync.skipped import SkippedItem, count_skipped, notes

log = logging.getLogger(__name__)
_COMMIT_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(slots=True)
class RepositoryOutcome:
    repository_id: int
    full_name: str
    ok: bool = False
    listing: str = ""
    prs_seen: int = 0
    open_prs_checked: int = 0
    changes_by_kind: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    error: str | None = None
    # Conditional requests that missed because the stored ETag belonged to another token.
    conditional_misses_token_changed: int = 0
    # Items GitHub answered that are not as it documents them (a status state outside its
    # enum, …): left out of the apply, the rest of the repository applied.
    skipped: list[SkippedItem] = field(default_factory=list)
    # Nothing changed and nothing was written: the caller records ``last_swept_at`` (in one
    # statement for the whole sweep, see ``StoreTransaction.mark_swept``).
    unchanged: bool = False


async def sweep_repository(
    store: Store,
    api: CheckApi,
    repository: RepositoryRecord,
    *,
    options: SweepOptions,
    now: datetime,
    checks: SharedCheckQueries | None = None,
) -> RepositoryOutcome:
    """Bring one repository up to date; never raises for GitHub or database trouble.

    ``checks`` shares check queries with the other repositories swept meanwhile."""
    outcome = RepositoryOutcome(repository.id, repository.full_name)
    checks = checks if checks is not None else SharedCheckQueries()
    for attempt in range(1, options.retry_attempts + 1):
        outcome.attempts = attempt
        outcome.skipped = []  # what the last attempt skipped is what is reported and counted
        try:
            await _sweep_once(
                store, api, repository, options=options, now=now, outcome=outcome, checks=checks
            )
            outcome.ok, outcome.error = True, None
            count_skipped(outcome.skipped)
            return outcome
        except (RateLimited, BudgetReserved) as error:
            # Waiting here would stall the sweep: leave this repository to the next one.
            outcome.error = f"{type(error).__name__}: {error}"
            break
        except (RetryableGitHubError, RetryableStoreError, TimeoutError) as error:
            outcome.error = f"{type(error).__name__}: {error}"
            if attempt < options.retry_attempts:
                await asyncio.sleep(options.backoff_factor_seconds * 2 ** (attempt - 1))
        except Exception as error:  # a job boundary: isolate this repository, log with context
            outcome.error = f"{type(error).__name__}: {error}"
            log.exception(
                "repository sweep failed",
                extra={
                    "repository_id": repository.id,
                    "installation_id": repository.installation_id,
                },
            )
            break
    outcome.changes_by_kind.clear()
    count_skipped(outcome.skipped)
    await _record_failure(store, repository.id, outcome.error or "failed")
    return outcome


async def _sweep_once(
    store: Store,
    api: CheckApi,
    repository: RepositoryRecord,
    *,
    options: SweepOptions,
    now: datetime,
    outcome: RepositoryOutcome,
    checks: SharedCheckQueries,
) -> None:
    # Until its checks are asked for, this sweep may add commits to a shared check query.
    async with checks.taking_part():
        state, stored_etag, stored_open, listing = await _list(
            store, api, repository, options=options, now=now
        )
        outcome.listing = listing.outcome.value
        outcome.conditional_misses_token_changed = int(listing.missed_for_token)
        outcome.prs_seen = len(listing.pull_requests)
        if listing.outcome is ListingOutcome.GONE:
            async with asyncio.timeout(options.transaction_timeout_seconds):
                async with store.transaction() as tx:
                    await _remove_repository(tx, repository, RemovalReason.NOT_FOUND, outcome)
            return
        full_name = listing.new_full_name or repository.full_name
        heads = _open_heads(stored_open, listing.pull_requests)
        outcome.open_prs_checked = len(heads)
        found = CommitChecks({}, {})
        if heads:
            owner, name = full_name.split("/", 1)
            found = await discover_checks(
                api,
                installation_id=repository.installation_id,
                commits=RepositoryCommits(repository.id, owner, name, tuple(sorted(heads))),
                shared=checks,
                status_etags=_StoredEtags(store),
            )
        check_runs = [run for runs in found.runs.values() for run in runs]
        statuses = [status for listed in found.statuses.values() for status in listed]
        outcome.skipped = list(found.skipped)
    # One unreadable PR of the listing fails alone: the others are applied, it is reported.
    outcome.skipped[:0] = listing.bad_items

    # Reviews only of the open PRs the listing says changed (a review moves `updated_at`).
    changed_open = [pr.number for pr in listing.pull_requests if pr.state == "open"]
    reviews = PullReviews()
    if changed_open:
        owner, name = full_name.split("/", 1)
        reviews = await read_reviews(
            api,
            installation_id=repository.installation_id,
            repository_id=repository.id,
            owner=owner,
            name=name,
            numbers=changed_open,
        )
        outcome.skipped += reviews.skipped
    if outcome.skipped:
        log.warning(
            "sweep skipped items GitHub answered out of its documented shape",
            extra={"repository_id": repository.id, "skipped": notes(outcome.skipped[:20])},
        )

    if _nothing_to_remember(state, listing, stored_etag):
        async with store.transaction(read_only=True) as tx:
            unchanged = await _stored_as_observed(tx, repository.id, check_runs, statuses, found)
        if unchanged:
            # No write transaction: on SQLite every one of them queues for the write lock.
            outcome.unchanged = True
            return

    async with asyncio.timeout(options.transaction_timeout_seconds):
        async with store.transaction() as tx:
            applied = await apply_observation(
                tx,
                Observation(
                    repository.id,
                    listing.pull_requests,
                    [row.snapshot() for row in check_runs],
                    statuses,
                    reviews=reviews.reviews,
                    review_decisions=reviews.decisions,
                ),
                source=Source.SWEEP,
                installation_id=repository.installation_id,
            )
            outcome.changes_by_kind.update(c.kind.value for c in applied.change_set.changes)
            if listing.new_full_name is not None:  # after the apply: it locked the repository
                await _rename_repository(tx, repository, listing.new_full_name, outcome)
            await _remember_progress(tx, state, listing, options=options, now=now)
            if found.etags and options.use_etags:
                await tx.put_etags([(key, *etag) for key, etag in sorted(found.etags.items())])


async def _stored_as_observed(
    tx: StoreTransaction,
    repository_id: int,
    check_runs: list[CheckRunRow],
    statuses: list[CommitStatusSnapshot],
    found: CommitChecks,
) -> bool:
    """Whether applying what the checks discovery found would write nothing: every check run
    and status stored as observed, and its ETags stored already."""
    if not await tx.check_runs_stored_as(repository_id, check_runs):
        return False
    if statuses:
        stored = await tx.load_commit_statuses(repository_id, {s.sha for s in statuses})
        rows, changes = fold_statuses(stored, statuses, {})
        if rows or changes:
            return False
    if found.etags:
        stored_etags = await tx.get_etags(found.etags)
        if any(stored_etags.get(key) != etag for key, etag in found.etags.items()):
            return False
    return True


class _StoredEtags:
    """The stored ETags a discovery asks for, read when (and only if) it asks."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, keys: list[str]) -> dict[str, str]:
        async with self._store.transaction(read_only=True) as tx:
            found = await tx.get_etags(keys)
        return {key: etag for key, (etag, _fingerprint) in found.items()}


async def _list(
    store: Store,
    api: CheckApi,
    repository: RepositoryRecord,
    *,
    options: SweepOptions,
    now: datetime,
) -> tuple[SyncState, tuple[str, str] | None, dict[int, tuple[str, datetime]], PullListing]:
    """What is stored of the repository (sync state, page 1's ETag and its token's
    fingerprint, open PRs' heads), and the listing of what changed since."""
    async with store.transaction(read_only=True) as tx:
        state = await tx.get_sync_state(repository.id) or SyncState(repository.id)
        stored_etag = await tx.get_etag(pulls_etag_key(repository.id))
        stored_open = await tx.load_open_heads(repository.id)
    full = (
        state.last_full_listing_at is None
        or now - state.last_full_listing_at >= options.full_listing_interval
    )
    listing = await list_pull_requests(
        api,
        installation_id=repository.installation_id,
        repository_id=repository.id,
        full_name=repository.full_name,
        etag=stored_etag[0] if stored_etag and options.use_etags else None,
        etag_fingerprint=stored_etag[1] if stored_etag else None,
        watermark=state.pulls_watermark,
        overlap=options.watermark_overlap,
        full=full,
    )
    return state, stored_etag, stored_open, listing


def _nothing_to_remember(
    state: SyncState, listing: PullListing, stored_etag: tuple[str, str] | None
) -> bool:
    """Whether the listing leaves nothing to write but ``last_swept_at`` (its check runs
    aside): page 1 unchanged, answered for the token its ETag was stored with, no failure
    to clear."""
    return (
        listing.outcome is ListingOutcome.UNCHANGED
        and stored_etag is not None
        and (listing.etag, listing.token_fingerprint) == stored_etag
        and state.last_error is None
        and state.consecutive_failures == 0
    )


def _open_heads(
    stored_open: Mapping[int, tuple[str, datetime]], listed: list[PullRequestSnapshot]
) -> set[str]:
    """Head SHAs of the PRs that are open once this listing is applied (``stored_open``: the
    stored open PRs' head SHA and ``updated_at`` by number)."""
    current = dict(stored_open)
    for pr in listed:
        previous = current.get(pr.number)
        if previous is None or pr.updated_at >= previous[1]:
            current[pr.number] = (pr.head_sha if pr_lifecycle(pr) == "open" else "", pr.updated_at)
    heads = {head for head, _ in current.values() if head}
    # A head stored before the intake checked SHAs would fail the whole check query: such a
    # PR's checks are left unverified (and said so) until a listing brings a real SHA.
    bad = {sha for sha in heads if not _COMMIT_SHA.fullmatch(sha)}
    if bad:
        log.warning("open PRs with a stored head that is not a SHA", extra={"heads": len(bad)})
    return heads - bad


async def _remember_progress(
    tx: StoreTransaction,
    state: SyncState,
    listing: PullListing,
    *,
    options: SweepOptions,
    now: datetime,
) -> None:
    watermark = state.pulls_watermark
    for pr in listing.pull_requests:
        if watermark is None or pr.updated_at > watermark:
            watermark = pr.updated_at
    await tx.put_sync_state(
        replace(
            state,
            pulls_watermark=watermark,
            last_full_listing_at=now if listing.complete else state.last_full_listing_at,
            last_swept_at=now,
            last_error=None,
            consecutive_failures=0,
        )
    )
    if options.use_etags and listing.etag and listing.token_fingerprint:
        await tx.put_etags(
            [(pulls_etag_key(state.repository_id), listing.etag, listing.token_fingerprint)]
        )


async def _remove_repository(
    tx: StoreTransaction,
    repository: RepositoryRecord,
    reason: RemovalReason,
    outcome: RepositoryOutcome,
) -> None:
    await tx.lock_repository(repository.id)
    await remove_repository(tx, repository, reason, source=Source.SWEEP)
    outcome.changes_by_kind[ChangeKind.REPOSITORY_REMOVED.value] += 1


async def remove_repository(
    tx: StoreTransaction,
    repository: RepositoryRecord,
    reason: RemovalReason,
    *,
    source: Source,
    delivery_id: str | None = None,
) -> bool:
    """Mark a repository removed (its PRs tombstoned) and log it; False if it already was.

    The caller locks the repository first (the store takes every lock before any write).
    """
    current = await tx.get_repository(repository.id)
    if current is None or current.removed:
        return False
    tombstoned = await tx.mark_repository_removed(repository.id, reason)
    change = Change(
        ChangeKind.REPOSITORY_REMOVED,
        repository.id,
        field="reason",
        new=reason.value,
        old=None,
        installation_id=repository.installation_id,
    )
    await tx.write_change_set(
        ChangeSet(changes=(change,)),
        source=source,
        delivery_id=delivery_id,
        installation_id=repository.installation_id,
    )
    log.info(
        "repository removed",
        extra={"repository_id": repository.id, "reason": reason.value, "prs": tombstoned},
    )
    return True


async def _rename_repository(
    tx: StoreTransaction,
    repository: RepositoryRecord,
    new_full_name: str,
    outcome: RepositoryOutcome,
) -> None:
    if await rename_repository(tx, repository, new_full_name, source=Source.SWEEP):
        outcome.changes_by_kind[ChangeKind.REPOSITORY_RENAMED.value] += 1


async def rename_repository(
    tx: StoreTransaction,
    repository: RepositoryRecord,
    new_full_name: str,
    *,
    source: Source,
    delivery_id: str | None = None,
) -> bool:
    """Give a repository its new name (its id is its identity) and log it."""
    old = await tx.rename_repository(repository.id, new_full_name)
    if old is None:
        return False
    change = Change(
        ChangeKind.REPOSITORY_RENAMED,
        repository.id,
        field="full_name",
        old=old,
        new=new_full_name,
        installation_id=repository.installation_id,
    )
    await tx.write_change_set(
        ChangeSet(changes=(change,)),
        source=source,
        delivery_id=delivery_id,
        installation_id=repository.installation_id,
    )
    return True


async def _record_failure(store: Store, repository_id: int, error: str) -> None:
    try:
        async with store.transaction() as tx:
            state = await tx.get_sync_state(repository_id) or SyncState(repository_id)
            await tx.put_sync_state(
                replace(
                    state,
                    last_error=error[:500],
                    consecutive_failures=state.consecutive_failures + 1,
                )
            )
    except RetryableStoreError:
        log.warning("could not record a repository failure", extra={"repository_id": repository_id})
