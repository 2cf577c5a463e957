"""A simulator assembled from its real parts (world, limits, tokens), a client, query builders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette

from prwatch.sim.auth import TokenStore
from prwatch.sim.clock import ManualClock
from prwatch.sim.config import SimConfig
from prwatch.sim.graphql import GraphQLEndpoint
from prwatch.sim.limits import RateLimiter, SecondaryLimiter, Stats
from prwatch.sim.world import World

START = 1_700_000_000


@dataclass
class Sim:
    world: World
    config: SimConfig
    clock: ManualClock
    limiter: RateLimiter
    secondary: SecondaryLimiter = field(default_factory=SecondaryLimiter)
    stats: Stats = field(default_factory=Stats)
    tokens: TokenStore = field(default_factory=TokenStore)


def make_sim(**settings: Any) -> Sim:
    config = SimConfig(repos=4, prs=80, open_ratio=0.7, seed=11, installations=2, fork_ratio=0.3)
    config.update(settings)
    clock = ManualClock(START)
    world = World.generate(
        repos=config.repos,
        prs=config.prs,
        open_ratio=config.open_ratio,
        seed=config.seed,
        installations=config.installations,
        checks_per_open_pr=config.checks_per_open_pr,
        fork_ratio=config.fork_ratio,
        clock=clock,
    )
    limiter = RateLimiter({"core": config.rate_limit, "graphql": config.graphql_rate_limit})
    return Sim(world, config, clock, limiter)


class Client:
    """Posts queries with an installation token of the sim's first (or a given) installation."""

    def __init__(self, sim: Sim, http: httpx.AsyncClient, endpoint: GraphQLEndpoint) -> None:
        self.sim = sim
        self.http = http
        self.endpoint = endpoint
        self.installation_id = min(sim.world.installations)
        self.token = sim.tokens.issue(self.installation_id, sim.clock.now(), 3600).token

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        headers = {"Authorization": f"bearer {token or self.token}"}
        return await self.http.post("/graphql", json=body, headers=headers)

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


COMMIT_FIELDS = """... on Commit { oid
      statusCheckRollup { state contexts(first: 100) { totalCount pageInfo { hasNextPage endCursor }
        nodes { __typename ... on CheckRun { databaseId name status conclusion startedAt completedAt
                checkSuite { databaseId app { slug } } } } } } }"""


def checks_query(targets: list[tuple[str, list[str]]]) -> str:
    """The query prwatch sends: per repository (`owner/name`), each commit's check runs."""
    parts = ["query { rateLimit { cost remaining limit resetAt used }"]
    commit = 0
    for index, (full_name, shas) in enumerate(targets):
        owner, name = full_name.split("/")
        parts.append(f'  r{index}: repository(owner: "{owner}", name: "{name}") {{ databaseId')
        for sha in shas:
            parts.append(f'    c{commit}: object(oid: "{sha}") {{ {COMMIT_FIELDS} }}')
            commit += 1
        parts.append("  }")
    parts.append("}")
    return "\n".join(parts)


def open_heads(sim: Sim, installation_id: int) -> dict[str, list[str]]:
    """Head SHAs of the open PRs (forks included) of each repository of an installation."""
    return {
        repo.full_name: [pr.head_sha for pr in repo.pulls if pr.state == "open"]
        for repo in sim.world.installation_repositories(installation_id)
    }


@asynccontextmanager
async def connect(sim: Sim) -> AsyncIterator[Client]:
    """A client talking to `sim`'s GraphQL route in-process."""
    endpoint = GraphQLEndpoint(sim)
    transport = httpx.ASGITransport(app=Starlette(routes=endpoint.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
        yield Client(sim, http, endpoint)
