"""A sweep that finds nothing new writes nothing per repository, and still misses nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

from prwatch.store import Store
from prwatch.store.records import SweepStatus
from prwatch.store.store import StoreTransaction
from tests.integration.sweep.harness import SweepEnv, assert_converged, sweep_env

PULLS = "GET /repos/{owner}/{repo}/pulls"
REPOS = 6


def count_write_transactions(store: Store) -> list[int]:
    """Wrap the store's ``transaction`` to count the ones that may write (not read-only)."""
    counted = [0]
    opened: Callable[..., AbstractAsyncContextManager[StoreTransaction]] = store.transaction

    @asynccontextmanager
    async def transaction(*, read_only: bool = False) -> AsyncIterator[StoreTransaction]:
        counted[0] += not read_only
        async with opened(read_only=read_only) as tx:
            yield tx

    store.transaction = transaction  # type: ignore[method-assign]
    return counted


async def last_swept(env: SweepEnv) -> dict[int, datetime | None]:
    async with env.store.transaction(read_only=True) as tx:
        repositories = await tx.list_repositories()
        states = await tx.get_sync_states([r.id for r in repositories])
    return {repo_id: state.last_swept_at for repo_id, state in states.items()}


async def test_a_no_change_sweep_opens_no_write_transaction_per_repository(
    database_url: str,
) -> None:
    async with sweep_env(database_url, repos=REPOS, prs=20) as env:
        await env.sweep()
        swept_before = await last_swept(env)
        writes = count_write_transactions(env.store)
        quiet = await env.sweep()
        assert quiet.status is SweepStatus.OK, quiet.error
        assert quiet.requests_by_route[PULLS] == {"304": REPOS}
        # start, inventory, the batched "last swept" bookkeeping, finish: none per repository
        assert writes[0] <= 4, writes[0]
        swept_after = await last_swept(env)
        assert set(swept_after) == set(swept_before)
        for repo_id, before in swept_before.items():
            after = swept_after[repo_id]
            assert before is not None and after is not None and after > before
        await assert_converged(env)


async def test_a_check_run_that_changed_under_an_unchanged_listing_is_still_applied(
    database_url: str,
) -> None:
    async with sweep_env(database_url, repos=3, prs=20) as env:
        await env.sweep()
        world = env.sim.world
        run = next(
            run
            for repo in sorted(world.repositories.values(), key=lambda r: r.id)
            for pr in repo.pulls
            if pr.state == "open"
            for run in world.check_runs_for_sha(repo.id, pr.head_sha, latest=True)
            if run.status != "completed"
        )
        world.update_check_run(run.id, status="completed", conclusion="success")
        changed = await env.sweep()
        assert changed.requests_by_route[PULLS] == {"304": 3}  # the PR itself did not change
        assert changed.changes_by_kind.get("check_run_concluded") == 1, changed.changes_by_kind
        await assert_converged(env)
        quiet = await env.sweep()
        assert sum(quiet.changes_by_kind.values()) == 0


async def test_a_status_posted_under_an_unchanged_listing_is_still_applied(
    database_url: str,
) -> None:
    async with sweep_env(database_url, repos=3, prs=20) as env:
        await env.sweep()
        world = env.sim.world
        repo, pr = next(
            (repo, pr)
            for repo in sorted(world.repositories.values(), key=lambda r: r.id)
            for pr in repo.pulls
            if pr.state == "open"
        )
        world.create_status(repo.id, pr.head_sha, state="failure", context="ci/extra")
        changed = await env.sweep()
        assert changed.requests_by_route[PULLS] == {"304": 3}
        assert changed.changes_by_kind.get("status_created") == 1, changed.changes_by_kind
        await assert_converged(env)
        quiet = await env.sweep()
        assert sum(quiet.changes_by_kind.values()) == 0
