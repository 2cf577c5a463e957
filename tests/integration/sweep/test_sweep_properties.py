"""After any sequence of changes on GitHub (no webhooks at all), one sweep converges."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prwatch.store.records import SweepStatus
from tests.integration.sweep.harness import assert_converged, sweep_env
from tests.integration.sweep.mutations import Mutation, apply_mutation, mutations
from tests.services import fresh_postgres_database, run_in_own_loop


async def converge_after(database_url: str, program: list[Mutation]) -> None:
    async with sweep_env(database_url, repos=2, prs=25, seed=11) as env:
        assert (await env.sweep()).status is SweepStatus.OK
        for mutation in program:
            apply_mutation(env.sim.world, mutation)
        report = await env.sweep()
        assert report.status is SweepStatus.OK, report.error
        await assert_converged(env)
        quiet = await env.sweep()
        assert sum(quiet.changes_by_kind.values()) == 0, quiet.changes_by_kind


async def on_postgres(program: list[Mutation]) -> None:
    async with fresh_postgres_database() as url:
        await converge_after(url, program)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=st.lists(mutations, min_size=1, max_size=25))
def test_one_sweep_converges_after_random_mutations(dialect: str, program: list[Mutation]) -> None:
    if dialect == "postgres":
        run_in_own_loop(on_postgres(program))
        return
    with tempfile.TemporaryDirectory() as folder:
        run_in_own_loop(converge_after(f"sqlite+aiosqlite:///{Path(folder) / 'p.db'}", program))
