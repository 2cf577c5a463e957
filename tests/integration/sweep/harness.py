"""A simulator, a GitHub client that reaches it in process, and a migrated store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from prwatch.domain.models import CheckRunSnapshot, PullRequestSnapshot
from prwatch.github.auth import AppCredentials
from prwatch.github.client import GitHubClient
from prwatch.github.limits import ClientLimits
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.config import SimConfig
from prwatch.store import Store, create_engine, upgrade_database
from prwatch.sync.options import SweepOptions
from prwatch.sync.processor import SweepReport, run_sweep

SIM_URL = "http://sim.test"


async def no_wait(seconds: float) -> None:
    return None


class RewritingTransport(httpx.AsyncBaseTransport):
    """The simulator, with the JSON answers of some paths rewritten."""

    def __init__(self, app: Any, rewrites: Mapping[str, Callable[[Any], Any]]) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._rewrites = rewrites

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        rewrite = self._rewrites.get(request.url.path)
        if rewrite is None or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(200, headers=headers, json=rewrite(body))


@dataclass
class SweepEnv:
    sim: Simulator
    store: Store
    client: GitHubClient
    options: SweepOptions

    async def sweep(self) -> SweepReport:
        return await run_sweep(self.store, self.client, options=self.options)

    def rewriting_client(self, rewrites: Mapping[str, Callable[[Any], Any]]) -> GitHubClient:
        """A client whose answers to the paths of ``rewrites`` are rewritten (the JSON of a
        200, by each path's function): shapes GitHub documents not, one item at a time."""
        return GitHubClient(
            AppCredentials(self.sim.config.app_id, self.sim.private_key_pem),
            base_url=SIM_URL + self.sim.api_path,
            transport=RewritingTransport(self.sim.app, rewrites),
            sleep=no_wait,
        )

    def new_client(self, **limits: Any) -> GitHubClient:
        return GitHubClient(
            AppCredentials(self.sim.config.app_id, self.sim.private_key_pem),
            base_url=SIM_URL + self.sim.api_path,
            limits=ClientLimits(**limits),
            transport=httpx.ASGITransport(app=self.sim.app),
            sleep=no_wait,
        )


@asynccontextmanager
async def sweep_env(
    database_url: str, *, options: SweepOptions | None = None, **config: Any
) -> AsyncIterator[SweepEnv]:
    settings = {"repos": 3, "prs": 40, "open_ratio": 0.4, "seed": 7, **config}
    sim = create_simulator(SimConfig(**settings))
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    env = SweepEnv(
        sim=sim,
        store=Store(engine),
        client=GitHubClient(
            AppCredentials(sim.config.app_id, sim.private_key_pem),
            base_url=SIM_URL + sim.api_path,  # /api/v3 in GitHub Enterprise Server's layout
            transport=httpx.ASGITransport(app=sim.app),
            sleep=no_wait,
        ),
        options=options or SweepOptions(backoff_factor_seconds=0),
    )
    try:
        yield env
    finally:
        await env.client.aclose()
        await engine.dispose()


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pr_as_truth(pr: PullRequestSnapshot) -> dict[str, Any]:
    return {
        "repository_id": pr.repository_id,
        "number": pr.number,
        "github_id": pr.github_id,
        "node_id": pr.node_id,
        "state": pr.state,
        "draft": pr.draft,
        "merged": pr.merged,
        "merged_at": iso(pr.merged_at),
        "closed_at": iso(pr.closed_at),
        "title": pr.title,
        "author": pr.author,
        "labels": list(pr.labels),
        "head_sha": pr.head_sha,
        "head_ref": pr.head_ref,
        "base_sha": pr.base_sha,
        "base_ref": pr.base_ref,
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "auto_merge": None
        if pr.auto_merge_method is None
        else {"merge_method": pr.auto_merge_method, "enabled_by": pr.auto_merge_enabled_by},
    }


def swept_truth(pr: dict[str, Any]) -> dict[str, Any]:
    """What a sweep can know of a truth PR: all but its merge-queue state, which only the
    `enqueued`/`dequeued` deliveries tell (GitHub's REST PR object has no such field)."""
    return {key: value for key, value in pr.items() if key != "merge_queue"}


def run_as_truth(run: CheckRunSnapshot) -> dict[str, Any]:
    return {
        "id": run.id,
        "repository_id": run.repository_id,
        "head_sha": run.head_sha,
        "name": run.name,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "app_slug": run.app_slug,
        "check_suite_id": run.check_suite_id,
    }


async def assert_converged(env: SweepEnv) -> None:
    """The store holds exactly the simulator's truth: every PR of every watched repository,
    and for each open PR the latest check runs of its head commit."""
    world = env.sim.world
    truth = world.truth()
    watched = {
        repo["id"]: repo
        for repo in truth["repositories"]
        if not repo["deleted"]
        and any(
            repo["id"] in inst["repository_ids"] and not inst["deleted"] and not inst["suspended"]
            for inst in truth["installations"]
        )
    }
    async with env.store.transaction(read_only=True) as tx:
        stored_repos = {r.id: r for r in await tx.list_repositories()}
        assert set(stored_repos) == set(watched), "watched repositories differ"
        for repo_id, repo in watched.items():
            assert stored_repos[repo_id].full_name == repo["full_name"]
            expected = sorted(
                (
                    swept_truth(pr)
                    for pr in truth["pull_requests"]
                    if pr["repository_id"] == repo_id
                ),
                key=lambda pr: pr["number"],
            )
            stored = await tx.load_pull_requests(repo_id)
            assert [pr_as_truth(stored[n]) for n in sorted(stored)] == expected
            for pr in expected:
                if pr["state"] != "open":
                    continue
                latest = world.check_runs_for_sha(repo_id, pr["head_sha"], latest=True)
                want = sorted(run.id for run in latest)
                runs = await tx.load_check_runs(repo_id, ids=want)
                assert sorted(runs) == want, f"check runs of {repo['full_name']}#{pr['number']}"
                truth_runs = {r["id"]: r for r in truth["check_runs"]}
                for run_id, run in runs.items():
                    assert run_as_truth(run) == truth_runs[run_id]
