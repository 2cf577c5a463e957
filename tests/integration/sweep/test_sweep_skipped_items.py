"""Items the sweep skips are counted in ``prwatch_sweep_skipped_items_total{kind,reason}``,
on the web process's /metrics and on the operators' listener, each item once."""

from __future__ import annotations

from typing import Any

import httpx

from prwatch.store.records import SweepStatus
from prwatch.sync.processor import run_sweep
from prwatch.web.operator_app import create_operator_app
from tests.integration.sweep.harness import sweep_env
from tests.integration.webhooks.harness import webhook_env

SKIPPED = "prwatch_sweep_skipped_items_total"


def skipped_count(exposition: str, kind: str, reason: str) -> float:
    wanted = f'{SKIPPED}{{kind="{kind}",reason="{reason}"}}'
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith(wanted + " ")
    )


async def test_skipped_items_are_counted_by_kind_and_reason(sqlite_url: str) -> None:
    async with sweep_env(sqlite_url, repos=2, prs=4, open_ratio=1.0) as sweep:
        world = sweep.sim.world
        watched, unreadable = sorted(world.repositories)
        repository = world.repositories[watched]
        head = repository.pulls[0].head_sha
        # GraphQL's EXPECTED: a rollup state no status was posted with.
        world.create_status(
            watched, head, state="pending", context="required/ci"
        ).state = "expected"
        broken_pr = repository.pulls[1].number

        def break_pr(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            for item in items:
                if item["number"] == broken_pr:
                    item["head"]["sha"] = "not a sha"
            return items

        def break_repository(body: dict[str, Any]) -> dict[str, Any]:
            for item in body["repositories"]:
                if item["id"] == unreadable:
                    del item["full_name"]
            return body

        client = sweep.rewriting_client(
            {
                f"/repos/{repository.full_name}/pulls": break_pr,
                "/installation/repositories": break_repository,
            }
        )
        async with webhook_env(sqlite_url, github=client) as env:
            report = await run_sweep(env.store, env.context.github, options=sweep.options)
            web = (await env.client.get("/metrics")).text
            operator = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_operator_app(env.context)),
                base_url="http://metrics.test",
            )
            async with operator:
                listener = (await operator.get("/metrics")).text

    # Each bad item failed alone: the rest of its repository was applied.
    assert report.status is SweepStatus.PARTIAL  # the unreadable repository is reported
    (outcome,) = report.repositories
    assert outcome.ok and outcome.repository_id == watched
    assert sorted((item.kind.value, item.reason.value) for item in outcome.skipped) == [
        ("commit_status", "unknown_state"),
        ("pull_request", "invalid"),
    ]
    for exposition in (web, listener):
        assert skipped_count(exposition, "pull_request", "invalid") == 1
        assert skipped_count(exposition, "commit_status", "unknown_state") == 1
        assert skipped_count(exposition, "repository", "invalid") == 1
        counted = [line for line in exposition.splitlines() if line.startswith(SKIPPED + "{")]
        assert len(counted) == 3, counted  # bounded labels: no ids, no free text
