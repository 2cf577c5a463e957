from __future__ import annotations

import pytest
from store_factories import REPOSITORY_ID, SHA_A, SHA_B, at, make_pr, make_run, seed_repository

from prwatch.domain.models import ChangeSet, Source
from prwatch.store import InvalidStoreInput, Store, UnknownRepositoryName


async def write(store: Store, change_set: ChangeSet) -> None:
    async with store.transaction() as tx:
        await tx.write_change_set(change_set, source=Source.WEBHOOK)


async def test_list_pull_requests_by_state(store: Store) -> None:
    await seed_repository(store)
    prs = (
        make_pr(number=3),
        make_pr(number=1, state="closed", closed_at=at(5)),
        make_pr(number=2),
    )
    await write(store, ChangeSet(pull_requests=prs))
    async with store.transaction(read_only=True) as tx:
        assert [p.number for p in await tx.list_pull_requests("octo-org/widgets")] == [2, 3]
        closed = await tx.list_pull_requests("Octo-Org/Widgets", "closed")
        every = await tx.list_pull_requests("octo-org/widgets", "all")
        counts = await tx.pull_request_counts()
        with pytest.raises(UnknownRepositoryName, match="nobody/nothing"):
            await tx.list_pull_requests("nobody/nothing")
        with pytest.raises(InvalidStoreInput, match="state"):
            await tx.list_pull_requests("octo-org/widgets", "merged")
    assert closed == [prs[1]]
    assert [p.number for p in every] == [1, 2, 3]
    assert counts == {"open": 2, "closed": 1}


async def test_a_pull_request_comes_with_its_head_commits_check_runs(store: Store) -> None:
    await seed_repository(store)
    # A check run on a fork's commit arrives before anything knows its PR: it waits, keyed by
    # (repository, head SHA).
    early = make_run(id=5, head_sha=SHA_B, name="build")
    await write(store, ChangeSet(check_runs=(early,)))
    async with store.transaction() as tx:
        assert await tx.get_pull_request("octo-org/widgets", 7) is None
        assert await tx.get_pull_request("nobody/nothing", 7) is None

    runs = (
        make_run(id=2, name="test"),
        make_run(id=1, name="lint"),
        make_run(id=3, name="lint", check_suite_id=78),  # another app's lint
    )
    await write(store, ChangeSet(pull_requests=(make_pr(head_sha=SHA_A),), check_runs=runs))
    async with store.transaction() as tx:
        found = await tx.get_pull_request("octo-org/widgets", 7)
    assert found is not None
    pr, checks = found
    assert pr.head_sha == SHA_A
    assert [c.id for c in checks] == [1, 3, 2]  # by name, then id

    # New commits pushed (from the fork): the waiting check run belongs to the PR now.
    await write(store, ChangeSet(pull_requests=(make_pr(head_sha=SHA_B, updated_at=at(60)),)))
    async with store.transaction() as tx:
        found = await tx.get_pull_request("octo-org/widgets", 7)
    assert found is not None and found[1] == [early]


async def test_a_re_run_replaces_the_run_it_re_ran(store: Store) -> None:
    await seed_repository(store)
    first = make_run(id=1, name="test", status="completed", conclusion="failure")
    await write(store, ChangeSet(pull_requests=(make_pr(),), check_runs=(first,)))
    rerun = make_run(id=2, name="test", status="queued")  # same suite and name, a new id
    await write(store, ChangeSet(check_runs=(rerun,)))
    async with store.transaction() as tx:
        found = await tx.get_pull_request("octo-org/widgets", 7)
        stored = await tx.load_check_runs(REPOSITORY_ID)
    assert found is not None and found[1] == [rerun]  # as GitHub's filter=latest shows it
    assert sorted(stored) == [1, 2]  # the re-run one stays stored: nothing is deleted


async def test_check_runs_of_another_repository_do_not_leak(store: Store) -> None:
    from store_factories import make_repository

    await seed_repository(store, make_repository(), make_repository(id=43, full_name="o/b"))
    await write(
        store,
        ChangeSet(pull_requests=(make_pr(),), check_runs=(make_run(id=1, repository_id=43),)),
    )
    async with store.transaction() as tx:
        found = await tx.get_pull_request("octo-org/widgets", 7)
        assert await tx.load_check_runs(REPOSITORY_ID, head_shas=[SHA_A]) == {}
    assert found is not None and found[1] == []


async def test_pull_request_numbers_by_head_sha(store: Store) -> None:
    await seed_repository(store)
    prs = (
        make_pr(number=1, head_sha=SHA_A, state="closed"),
        make_pr(number=2, head_sha=SHA_A),  # reopened elsewhere on the same commit: open wins
        make_pr(number=3, head_sha=SHA_B, state="closed"),
    )
    await write(store, ChangeSet(pull_requests=prs))
    async with store.transaction() as tx:
        found = await tx.pull_request_numbers_by_head_sha(REPOSITORY_ID, [SHA_A, SHA_B, "c" * 40])
        elsewhere = await tx.pull_request_numbers_by_head_sha(REPOSITORY_ID + 1, [SHA_A])
    assert found == {SHA_A: 2, SHA_B: 3}
    assert elsewhere == {}
