"""The simulator assembled: world, auth, limits, webhooks and the Starlette app over them."""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from prwatch.sim.admin import ADMIN_ROUTES
from prwatch.sim.admin_collaboration import COLLABORATION_ROUTES
from prwatch.sim.auth import TokenStore, generate_private_key_pem, public_key_pem
from prwatch.sim.clock import Clock, SystemClock
from prwatch.sim.config import SimConfig
from prwatch.sim.gateway import endpoint
from prwatch.sim.graphql import graphql_routes
from prwatch.sim.limits import RateLimiter, SecondaryLimiter, Stats
from prwatch.sim.oauth import OAUTH_PAGES, USER_ROUTES, OAuthState
from prwatch.sim.permissions import AppGrants
from prwatch.sim.rest_app import APP_ROUTES, manifest_page, rate_limit
from prwatch.sim.rest_repos import REPO_ROUTES
from prwatch.sim.rest_statuses import STATUS_GET_ROUTES, STATUS_POST_ROUTES
from prwatch.sim.webhooks import WebhookSender
from prwatch.sim.world import World

REPO_PREFIXES = ("/repos/{owner}/{repo}", "/repositories/{repository_id:int}")
LAYOUTS = ("dotcom", "ghes")
# GitHub Enterprise Server: REST under /api/v3, GraphQL at /api/graphql (not /api/v3/graphql).
# https://docs.github.com/en/enterprise-server@latest/rest/quickstart
GHES_REST_PREFIX = "/api/v3"
GHES_GRAPHQL_PATH = "/api/graphql"


class Simulator:
    """Everything one simulated GitHub needs; `.app` serves it."""

    def __init__(
        self,
        config: SimConfig,
        *,
        world: World | None = None,
        clock: Clock | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        private_key_pem: str | None = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.world = world or World.generate(
            repos=config.repos,
            prs=config.prs,
            open_ratio=config.open_ratio,
            seed=config.seed,
            installations=config.installations,
            checks_per_open_pr=config.checks_per_open_pr,
            fork_ratio=config.fork_ratio,
            clock=self.clock,
            api_url=config.api_url,
        )
        self.world.clock = self.clock
        self.world.app_id = config.app_id
        self.world.app_slug = config.app_slug
        self.world.rollup_keeps_superseded = config.rollup_keeps_superseded
        if world is None:  # a world built elsewhere keeps the grants it was given
            self.world.app_grants = AppGrants.of_prwatch()
            for inst in self.world.installations.values():  # they accepted that manifest
                inst.permissions = dict(self.world.app_grants.permissions)
        self.private_key_pem = private_key_pem or generate_private_key_pem()
        self.public_key_pem = public_key_pem(self.private_key_pem)
        self.client_id = f"Iv1.{config.app_id:016x}"
        self.client_secret = secrets.token_hex(20)
        self.app_name = "prwatch (simulated)"
        self.tokens = TokenStore()
        self.limiter = RateLimiter(
            {"core": config.rate_limit, "graphql": config.graphql_rate_limit}
        )
        self.secondary = SecondaryLimiter()
        self.stats = Stats()
        self.fault_rng = random.Random(config.fault_seed)
        self.manifest_codes: dict[str, tuple[dict[str, Any], int]] = {}
        self.oauth = OAuthState()
        self.webhooks = WebhookSender(config, self.clock, webhook_transport)
        self.webhooks.subscriptions = self.world.app_grants
        self.world.subscribe(self.webhooks.on_event)
        self.app = self._build_app()

    def configure(self, changes: dict[str, Any]) -> None:
        """Change knobs at run time (the `PUT /_sim/config` body)."""
        self.config.update(changes)
        self.limiter.limits["core"] = self.config.rate_limit
        self.limiter.limits["graphql"] = self.config.graphql_rate_limit
        if "fault_seed" in changes:
            self.fault_rng = random.Random(self.config.fault_seed)

    @property
    def api_path(self) -> str:
        """The path REST lives under: "" on api.github.com's layout, /api/v3 on GHES's."""
        return GHES_REST_PREFIX if self.config.layout == "ghes" else ""

    @property
    def graphql_path(self) -> str:
        return GHES_GRAPHQL_PATH if self.config.layout == "ghes" else "/graphql"

    def _build_app(self) -> Starlette:
        if self.config.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
        rest = self._rest_routes()
        routes: list[BaseRoute] = []
        if self.config.layout == "ghes":
            routes.append(Mount(GHES_REST_PREFIX, routes=rest))
        else:
            routes.extend(rest)
        routes.extend(ADMIN_ROUTES)
        routes.extend(COLLABORATION_ROUTES)
        routes.extend(OAUTH_PAGES)
        routes.extend(graphql_routes(self, path=self.graphql_path))

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            async with self:
                yield

        app = Starlette(routes=routes, lifespan=lifespan)
        app.state.sim = self
        return app

    def _rest_routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = []
        for prefix in REPO_PREFIXES:
            for method, suffix, handler, needs in (
                *(("GET", *route) for route in REPO_ROUTES),
                *(("GET", suffix, handler, "statuses") for suffix, handler in STATUS_GET_ROUTES),
                # Posted by the simulated CI, not read by the App: no permission checked.
                *(("POST", suffix, handler, None) for suffix, handler in STATUS_POST_ROUTES),
            ):
                path = prefix + suffix
                template = f"{method} " + path.replace(":int", "").replace(":path", "")
                serve = endpoint(
                    self, template, "token", handler, repo_scoped=True, permission=needs
                )
                routes.append(Route(path, serve, methods=[method]))
        for method, path, auth, handler in APP_ROUTES:
            # Installation-token routes here list repositories: metadata.
            permission = "metadata" if auth == "token" else None
            serve = endpoint(self, f"{method} {path}", auth, handler, permission=permission)
            routes.append(Route(path, serve, methods=[method]))
        routes.append(
            Route(
                "/rate_limit",
                endpoint(self, "GET /rate_limit", "any", rate_limit, free=True),
                methods=["GET"],
            )
        )
        routes.extend(USER_ROUTES)
        routes.append(Route("/settings/apps/new", manifest_page, methods=["POST"]))
        routes.append(
            Route("/organizations/{org}/settings/apps/new", manifest_page, methods=["POST"])
        )
        return routes

    async def __aenter__(self) -> Simulator:
        await self.webhooks.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.webhooks.stop()


def create_simulator(
    config: SimConfig | None = None,
    *,
    world: World | None = None,
    clock: Clock | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Simulator:
    """A simulator for in-process use (wrap `.app` in `httpx.ASGITransport`)."""
    return Simulator(
        config or SimConfig(), world=world, clock=clock, webhook_transport=webhook_transport
    )
