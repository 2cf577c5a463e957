"""prwatch on a real socket beside the GitHub simulator on another, after one sweep: what the
browser tests open."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from prwatch.config import Settings
from prwatch.context import ProcessContext, create_context
from prwatch.demo.servers import bind, serve, url_of
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.config import SimConfig
from prwatch.store import upgrade_database
from prwatch.sync.processor import run_sweep
from prwatch.web.app import create_app


@dataclass(frozen=True, slots=True)
class BesideSimulator:
    sim: Simulator
    context: ProcessContext
    web_url: str
    sim_url: str


@asynccontextmanager
async def serve_beside_simulator(
    database_url: str, config: SimConfig, *, sign_in: bool = False
) -> AsyncIterator[BesideSimulator]:
    """The simulator serves `config` (at its own address); with `sign_in`, prwatch signs people
    in with the simulator's OAuth app."""
    sim_socket, web_socket = bind("127.0.0.1", 0), bind("127.0.0.1", 0)
    sim_url, web_url = url_of(sim_socket), url_of(web_socket)
    sim = create_simulator(dataclasses.replace(config, api_url=sim_url))
    await upgrade_database(database_url)
    oauth: dict[str, Any] = {}
    if sign_in:
        oauth = {"client_id": sim.client_id, "client_secret": sim.client_secret}
    settings = Settings(
        database_url=database_url,
        redis_url=None,
        github_api_url=sim_url,
        app_id=sim.config.app_id,
        private_key=sim.private_key_pem,
        webhook_secret=(sim.config.webhook_secret,),
        **oauth,
    )
    context = await create_context(settings)
    sim_server = await serve(sim.app, sim_socket, name="simulator")
    web_server = await serve(create_app(settings, context=context), web_socket, name="prwatch")
    try:
        report = await run_sweep(context.store, context.github)
        assert not report.failed and report.error is None
        yield BesideSimulator(sim, context, web_url, sim_url)
    finally:
        await web_server.stop()
        await sim_server.stop()
        await context.aclose()
        sim_socket.close()
        web_socket.close()
