"""The sweep against the shapes the real GitHub has and the simulator's defaults do not:
GitHub Enterprise Server's URLs, enterprise and null installation accounts, private
repositories under the manifest's permissions, GraphQL's own limits."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from prwatch.domain.check_runs import latest_check_run_ids
from prwatch.github.auth import AppCredentials
from prwatch.github.client import GitHubClient
from prwatch.register.manifest import default_manifest_path, load_manifest
from prwatch.sim.limits import installation_subject
from prwatch.sim.permissions import AppGrants
from prwatch.store.records import SweepStatus
from tests.integration.sweep.harness import (
    SIM_URL,
    SweepEnv,
    assert_converged,
    no_wait,
    sweep_env,
)


async def test_sweep_on_enterprise_server_layout(sqlite_url: str) -> None:
    """GHES serves REST under /api/v3 and GraphQL at /api/graphql, not /api/v3/graphql."""
    async with sweep_env(sqlite_url, layout="ghes") as env:
        report = await env.sweep()
        assert report.status is SweepStatus.OK, report.error
        assert env.sim.stats.requests.get("POST /graphql", {}).get("200")
        await assert_converged(env)


async def test_simulator_enterprise_layout_has_no_dotcom_urls(sqlite_url: str) -> None:
    async with sweep_env(sqlite_url, layout="ghes") as env:
        transport = httpx.ASGITransport(app=env.sim.app)
        async with httpx.AsyncClient(transport=transport, base_url=SIM_URL) as http:
            for path in ("/graphql", "/api/v3/graphql"):
                answer = await http.post(path, json={"query": "{ rateLimit { cost } }"})
                assert answer.status_code == 404
            assert (await http.get("/rate_limit")).status_code == 404
            assert (await http.get("/api/v3/rate_limit")).status_code == 401


class RewritingTransport(httpx.AsyncBaseTransport):
    """The simulator, with the JSON answers of one path rewritten: GitHub shapes prwatch has
    never seen."""

    def __init__(self, app: Any, path: str, rewrite: Callable[[Any], Any]) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._path = path
        self._rewrite = rewrite

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path != self._path or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(200, headers=headers, json=self._rewrite(body))


def rewriting_client(env: SweepEnv, path: str, rewrite: Callable[[Any], Any]) -> GitHubClient:
    return GitHubClient(
        AppCredentials(env.sim.config.app_id, env.sim.private_key_pem),
        base_url=SIM_URL,
        transport=RewritingTransport(env.sim.app, path, rewrite),
        sleep=no_wait,
    )


async def test_enterprise_and_null_accounts_are_swept(sqlite_url: str) -> None:
    """An installation's account may be an enterprise (slug, name, no login) or null."""
    async with sweep_env(sqlite_url, repos=3) as env:
        world = env.sim.world
        enterprise = world.create_installation("octo-enterprise", "Enterprise")
        hidden = world.create_installation("gone-org", "Organization", account_shown=False)
        first, second, _ = sorted(world.repositories)
        world.add_repository_to_installation(enterprise.id, first)
        world.add_repository_to_installation(hidden.id, second)
        report = await env.sweep()
        assert report.status is SweepStatus.OK, report.error
        await assert_converged(env)
        async with env.store.transaction(read_only=True) as tx:
            stored = {i.id: i for i in await tx.list_installations()}
        assert (stored[enterprise.id].account_login, stored[enterprise.id].account_type) == (
            "octo-enterprise",
            "Enterprise",
        )
        assert (stored[hidden.id].account_login, stored[hidden.id].account_type) == (
            "",
            "Organization",
        )


async def test_an_unreadable_installation_is_reported_and_the_others_swept(
    sqlite_url: str,
) -> None:
    async with sweep_env(sqlite_url, repos=4, installations=2) as env:
        await env.sweep()
        bad, good = sorted(env.sim.world.installations)

        def break_one(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            for item in items:
                if item["id"] == bad:
                    item["account"] = {"kind": "something new"}
            return items

        await env.client.aclose()
        env.client = rewriting_client(env, "/app/installations", break_one)
        report = await env.sweep()
        assert report.status is SweepStatus.PARTIAL
        assert f"installation {bad}" in (report.error or "")
        swept = {outcome.repository_id for outcome in report.repositories}
        world = env.sim.world
        assert swept == {r.id for r in world.repositories.values() if r.installation_id == good}
        async with env.store.transaction(read_only=True) as tx:
            still = {i.id for i in await tx.list_installations()}
        assert bad in still, "an unreadable installation is not taken for removed"


async def test_an_unreadable_repository_is_skipped_not_removed(sqlite_url: str) -> None:
    async with sweep_env(sqlite_url, repos=3) as env:
        await env.sweep()
        bad = sorted(env.sim.world.repositories)[0]

        def break_one(body: dict[str, Any]) -> dict[str, Any]:
            for item in body["repositories"]:
                if item["id"] == bad:
                    del item["full_name"]
            return body

        await env.client.aclose()
        env.client = rewriting_client(env, "/installation/repositories", break_one)
        report = await env.sweep()
        assert report.status is SweepStatus.PARTIAL
        assert f"repository {bad}" in (report.error or "")
        assert len(report.repositories) == 3  # the others, and the stored one, still swept
        assert all(outcome.ok for outcome in report.repositories)
        async with env.store.transaction(read_only=True) as tx:
            assert {r.id for r in await tx.list_repositories()} == set(env.sim.world.repositories)
        await env.client.aclose()
        env.client = env.new_client()
        assert (await env.sweep()).status is SweepStatus.OK  # re-read: no stale 304


def rest_check_run_reads(env: SweepEnv) -> int:
    return sum(
        sum(outcomes.values())
        for route, outcomes in env.sim.stats.requests.items()
        if route.endswith("/check-runs")
    )


async def test_private_repositories_under_the_manifests_permissions(sqlite_url: str) -> None:
    """The installation accepted app-manifest.yml's permissions: every commit, private
    repositories' too, is read over GraphQL."""
    async with sweep_env(sqlite_url, repos=3) as env:
        world = env.sim.world
        assert any(repo.private for repo in world.repositories.values())
        assert world.app_grants == AppGrants.from_manifest(load_manifest(default_manifest_path()))
        report = await env.sweep()
        assert report.status is SweepStatus.OK, report.error
        assert rest_check_run_reads(env) == 0
        await assert_converged(env)


async def test_without_contents_private_commits_are_read_over_rest(sqlite_url: str) -> None:
    """A FORBIDDEN commit spoils neither its query's other commits nor the sweep."""
    async with sweep_env(sqlite_url, repos=3) as env:
        world = env.sim.world
        for inst in world.installations.values():  # the manifest's, but for contents
            granted = dict(world.app_grants.permissions)
            del granted["contents"]
            inst.permissions = granted
        report = await env.sweep()
        assert report.status is SweepStatus.OK, report.error
        private_heads = {
            pr.head_sha
            for repo in world.repositories.values()
            if repo.private
            for pr in repo.pulls
            if pr.state == "open"
        }
        assert rest_check_run_reads(env) == len(private_heads) > 0
        await assert_converged(env)


async def test_a_rate_limited_shared_query_is_sent_again_once(sqlite_url: str) -> None:
    """GraphQL's primary limit as RATE_LIMIT in a 200: the client waits for the reset and
    sends the shared query again, once, not once per repository it held."""
    async with sweep_env(sqlite_url, repos=4, graphql_rate_limit_type="RATE_LIMIT") as env:
        sim = env.sim
        subject = installation_subject(min(sim.world.installations))
        now = sim.clock.now()
        budget = sim.limiter.status(subject, "graphql", now)
        budget.used, budget.reset = budget.limit, now + 20  # spent, back in 20 s
        waits: list[float] = []

        async def sleep(seconds: float) -> None:  # time passes: the budget is back
            waits.append(seconds)
            sim.limiter.reset()

        def clock() -> float:
            return time.time() + sum(waits)

        await env.client.aclose()
        env.client = GitHubClient(
            AppCredentials(sim.config.app_id, sim.private_key_pem),
            base_url=SIM_URL,
            transport=httpx.ASGITransport(app=sim.app),
            clock=clock,
            sleep=sleep,
        )
        report = await env.sweep()
        assert report.status is SweepStatus.OK, [o.error for o in report.failed]
        graphql = sim.stats.requests["POST /graphql"]
        # The refused query was sent again once, not once per repository it held (each of
        # which would have been refused too: nothing waited for the budget to come back).
        assert graphql["rate_limited"] == 1
        assert len(waits) == 1 and 0 < waits[0] <= 60
        await assert_converged(env)


async def test_a_rollup_keeping_superseded_runs_stores_both_and_knows_the_latest(
    sqlite_url: str,
) -> None:
    async with sweep_env(sqlite_url, repos=2, rollup_keeps_superseded=True) as env:
        world = env.sim.world
        repo, pr = next(
            (repo, pr)
            for repo in world.repositories.values()
            if repo.installation_id is not None
            for pr in repo.pulls
            if pr.state == "open" and world.check_runs_for_sha(repo.id, pr.head_sha)
        )
        superseded = world.check_runs_for_sha(repo.id, pr.head_sha)[0]
        for run in superseded.suite.runs:  # GitHub re-runs only completed suites
            if run.status != "completed":
                world.update_check_run(run.id, status="completed", conclusion="success")
        rerun = world.rerun_check_run(superseded.id)
        report = await env.sweep()
        assert report.status is SweepStatus.OK, report.error
        async with env.store.transaction(read_only=True) as tx:
            stored = await tx.load_check_runs(repo.id, head_shas=[pr.head_sha])
        assert {superseded.id, rerun.id} <= set(stored)
        latest = world.check_runs_for_sha(repo.id, pr.head_sha, latest=True)
        assert latest_check_run_ids(stored.values()) == {run.id for run in latest}
        assert superseded.id not in latest_check_run_ids(stored.values())
        await assert_converged(env)


async def test_a_query_cut_at_githubs_timeout_is_sent_again_in_halves(sqlite_url: str) -> None:
    """GitHub answers 502 for a query past 10 s; here 1 ms per node makes a query of 149
    commits (100 contexts each) or 149 PRs (100 reviews each) take 14.9 s, and one of 75
    7.5 s."""
    settings = {"repos": 1, "prs": 400, "open_ratio": 0.5, "graphql_ms_per_node": 1.0}
    settings["graphql_cpu_seconds_per_minute"] = 1000.0  # the timeout alone, here
    async with sweep_env(sqlite_url, **settings) as env:
        report = await env.sweep()
        assert report.status is SweepStatus.OK, [o.error for o in report.failed]
        graphql = env.sim.stats.requests["POST /graphql"]
        # The full check query and the full review query (149 commits, 149 PRs: 14,900
        # nodes each), each once, never again at their size; their halves answered.
        assert graphql["502"] == 2
        await assert_converged(env)
