"""Repositories that move, leave or vanish, and token rotation, seen by the sweep alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prwatch.domain.models import ChangeKind, RemovalReason
from prwatch.store.records import SweepStatus
from prwatch.sync.repository_sweep import sweep_repository
from tests.integration.sweep.harness import assert_converged, sweep_env

PULLS = "GET /repos/{owner}/{repo}/pulls"


async def stored_repository(env, repository_id: int):  # type: ignore[no-untyped-def]
    async with env.store.transaction(read_only=True) as tx:
        return await tx.get_repository(repository_id)


async def test_rename_and_transfer_keep_the_identity(database_url: str) -> None:
    async with sweep_env(database_url) as env:
        await env.sweep()
        world = env.sim.world
        first, second = sorted(world.repositories)[:2]
        world.rename_repository(first, "renamed-repo")
        world.transfer_repository(second, "another-org")
        report = await env.sweep()
        assert report.status is SweepStatus.OK, report.error
        assert report.changes_by_kind[ChangeKind.REPOSITORY_RENAMED.value] == 2
        assert report.changes_by_kind[ChangeKind.PR_OPENED.value] == 0  # same PRs, same rows
        assert (await stored_repository(env, first)).full_name.endswith("/renamed-repo")
        assert (await stored_repository(env, second)).full_name.startswith("another-org/")
        await assert_converged(env)


async def sweep_one(env, repository_id: int):  # type: ignore[no-untyped-def]
    """Sweep one repository as stored, without the installation listing that would also
    reveal a rename or a removal: only the repository's own answers tell."""
    record = await stored_repository(env, repository_id)
    return await sweep_repository(
        env.store, env.client, record, options=env.options, now=datetime.now(UTC)
    )


async def test_a_301_alone_reveals_a_rename(database_url: str) -> None:
    async with sweep_env(database_url) as env:
        await env.sweep()
        world = env.sim.world
        repo_id = sorted(world.repositories)[0]
        world.rename_repository(repo_id, "moved-by-redirect")
        world.edit_pull_request(repo_id, 1, title="Changed after the move")
        outcome = await sweep_one(env, repo_id)
        assert outcome.ok, outcome.error
        assert outcome.changes_by_kind[ChangeKind.REPOSITORY_RENAMED.value] == 1
        assert outcome.changes_by_kind[ChangeKind.PR_TITLE_CHANGED.value] == 1
        assert (await stored_repository(env, repo_id)).full_name.endswith("/moved-by-redirect")
        await assert_converged(env)


async def test_a_new_name_out_of_githubs_rules_fails_that_repository_alone(
    database_url: str,
) -> None:
    """A 301 sends for the new name (by id); one that breaks the rules is not stored: that
    repository fails, reported, and keeps its name until GitHub answers a readable one."""
    async with sweep_env(database_url) as env:
        await env.sweep()
        world = env.sim.world
        moved = sorted(world.repositories)[0]
        old_name = (await stored_repository(env, moved)).full_name
        world.rename_repository(moved, "moved")

        def unreadable_name(body: dict[str, Any]) -> dict[str, Any]:
            return body | {"full_name": "moved/" + "x" * 300}  # stored, it would not fit

        readable = env.client
        env.client = env.rewriting_client({f"/repositories/{moved}": unreadable_name})
        outcome = await sweep_one(env, moved)
        assert not outcome.ok and "full_name" in (outcome.error or "")
        assert (await stored_repository(env, moved)).full_name == old_name
        await env.client.aclose()
        env.client = readable
        assert (await sweep_one(env, moved)).ok
        assert (await stored_repository(env, moved)).full_name.endswith("/moved")


async def test_removed_and_deleted_repositories_are_marked_not_dropped(database_url: str) -> None:
    async with sweep_env(database_url, repos=4) as env:
        await env.sweep()
        world = env.sim.world
        installation_id = next(iter(world.installations))
        removed, deleted = sorted(world.repositories)[:2]
        world.remove_repository_from_installation(installation_id, removed)
        world.delete_repository(deleted)
        report = await env.sweep()
        assert report.status is SweepStatus.OK, report.error
        assert report.changes_by_kind[ChangeKind.REPOSITORY_REMOVED.value] == 2
        for repo_id in (removed, deleted):
            record = await stored_repository(env, repo_id)
            assert record is not None and record.removed
        assert (await stored_repository(env, removed)).removed_reason in (
            RemovalReason.REMOVED_FROM_INSTALLATION,
        )
        async with env.store.transaction(read_only=True) as tx:
            assert await tx.load_pull_requests(removed) == {}  # tombstoned, not deleted
            assert len(await tx.list_repositories(include_removed=True)) == 4
        await assert_converged(env)
        # Added back: restored, and its PRs come back with the next listing.
        world.add_repository_to_installation(installation_id, removed)
        again = await env.sweep()
        assert again.changes_by_kind[ChangeKind.REPOSITORY_RESTORED.value] == 1
        await assert_converged(env)


async def test_a_404_marks_the_repository_not_found(database_url: str) -> None:
    """A repository answering 404 (deleted, or no longer accessible: GitHub does not say
    which) is marked with that reason and its PRs tombstoned."""
    async with sweep_env(database_url) as env:
        await env.sweep()
        repo_id = sorted(env.sim.world.repositories)[0]
        env.sim.world.delete_repository(repo_id)
        outcome = await sweep_one(env, repo_id)
        assert outcome.ok and outcome.listing == "gone"
        record = await stored_repository(env, repo_id)
        assert record.removed and record.removed_reason is RemovalReason.NOT_FOUND
        async with env.store.transaction(read_only=True) as tx:
            assert await tx.load_pull_requests(repo_id) == {}
            assert (await tx.changes_after(0, 10_000))[-1].change.kind is (
                ChangeKind.REPOSITORY_REMOVED
            )


async def test_token_rotation_costs_one_miss_per_repository_then_hits_again(
    database_url: str,
) -> None:
    async with sweep_env(database_url) as env:
        await env.sweep()
        quiet = await env.sweep()
        assert quiet.requests_by_route[PULLS] == {"304": 3}
        assert quiet.conditional_misses_token_changed == 0
        env.sim.tokens.expire_all(env.sim.clock.now())  # every token is now rejected: 401
        rotated = await env.sweep()
        assert rotated.status is SweepStatus.OK, rotated.error
        # ETags are token-specific: the first sweep with the new token re-reads page 1 …
        assert rotated.requests_by_route[PULLS].get("200") == 3
        assert rotated.conditional_misses_token_changed == 3
        assert sum(rotated.changes_by_kind.values()) == 0  # … and finds nothing new in it
        after = await env.sweep()
        assert after.requests_by_route[PULLS] == {"304": 3}  # conditional hits are back
        await assert_converged(env)
