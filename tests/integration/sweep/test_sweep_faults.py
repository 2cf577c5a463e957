"""GitHub trouble on some repositories leaves the others unharmed; the next sweep recovers."""

from __future__ import annotations

from prwatch.sim.limits import installation_subject
from prwatch.store.records import SweepStatus
from prwatch.sync.options import SweepOptions
from tests.integration.sweep.harness import assert_converged, sweep_env
from tests.integration.sweep.mutations import Mutation, apply_mutation


def touch_every_repository(env) -> None:  # type: ignore[no-untyped-def]
    for index in range(len(env.sim.world.repositories)):
        apply_mutation(env.sim.world, Mutation("edit_title", index, 0, index))


async def test_5xx_on_one_repository_fails_only_that_one(database_url: str) -> None:
    options = SweepOptions(retry_attempts=2, backoff_factor_seconds=0)
    async with sweep_env(database_url, options=options) as env:
        await env.sweep()
        touch_every_repository(env)
        broken = sorted(env.sim.world.repositories)[0]
        env.sim.configure({"fault_5xx_rate": 1.0, "fault_repositories": [broken]})
        report = await env.sweep()
        assert report.status is SweepStatus.PARTIAL
        assert [outcome.repository_id for outcome in report.failed] == [broken]
        assert "GitHubUnavailable" in (report.failed[0].error or "")
        assert all(
            o.ok and o.changes_by_kind for o in report.repositories if o.repository_id != broken
        )
        async with env.store.transaction(read_only=True) as tx:
            state = await tx.get_sync_state(broken)
            assert state is not None and state.consecutive_failures == 1
        env.sim.configure({"fault_5xx_rate": 0.0, "fault_repositories": None})
        recovered = await env.sweep()
        assert recovered.status is SweepStatus.OK, recovered.error
        await assert_converged(env)


async def test_secondary_limit_leaves_repositories_to_the_next_sweep(database_url: str) -> None:
    async with sweep_env(database_url, repos=4) as env:
        await env.sweep()
        touch_every_repository(env)
        env.sim.configure({"per_route_per_minute": 2})  # GitHub's secondary limit, tightened
        env.sim.secondary.reset()
        report = await env.sweep()
        assert report.failed, "some repositories must have met the secondary limit"
        assert all("RateLimited" in (o.error or "") for o in report.failed)
        assert any(o.ok for o in report.repositories)
        assert report.requests_by_outcome.get("403")
        env.sim.configure({"per_route_per_minute": 900})
        env.sim.secondary.reset()
        recovered = await env.sweep()
        assert recovered.status is SweepStatus.OK, recovered.error
        await assert_converged(env)


async def test_an_exhausted_installation_does_not_stop_the_others(database_url: str) -> None:
    async with sweep_env(database_url, repos=4, installations=2) as env:
        await env.sweep()
        touch_every_repository(env)
        world = env.sim.world
        poor = min(world.installations)
        now = env.sim.clock.now()
        status = env.sim.limiter.status(installation_subject(poor), "core", now)
        assert env.sim.limiter.charge(installation_subject(poor), "core", status.remaining, now)
        report = await env.sweep()
        poor_repos = {r.id for r in world.repositories.values() if r.installation_id == poor}
        assert report.failed
        assert {o.repository_id for o in report.failed} <= poor_repos
        assert all(o.ok for o in report.repositories if o.repository_id not in poor_repos)
        env.sim.limiter.reset()  # the hour is over; the client learns it at its reset time …
        await env.client.aclose()
        env.client = env.new_client()  # … which a fresh client does not need to wait for
        recovered = await env.sweep()
        assert recovered.status is SweepStatus.OK, recovered.error
        await assert_converged(env)
