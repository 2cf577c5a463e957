from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest

from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.clock import ManualClock
from prwatch.sim.config import SimConfig

_KEY: dict[str, str] = {}


def make_sim(**overrides: object) -> Simulator:
    from prwatch.sim.auth import generate_private_key_pem

    if "pem" not in _KEY:
        _KEY["pem"] = generate_private_key_pem()  # RSA generation is slow: once per session
    config = SimConfig(repos=3, prs=30, open_ratio=0.5, seed=7)
    config.update(dict(overrides))
    clock = ManualClock(1_700_000_000)
    sim = Simulator(config, clock=clock, private_key_pem=_KEY["pem"])
    return sim


def app_jwt(sim: Simulator, *, iat_offset: int = -60, exp_offset: int = 540) -> str:
    now = sim.clock.now()
    claims = {"iat": now + iat_offset, "exp": now + exp_offset, "iss": str(sim.config.app_id)}
    return jwt.encode(claims, sim.private_key_pem, algorithm="RS256")


@pytest.fixture
def sim() -> Simulator:
    return make_sim()


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as c:
        yield c


async def installation_token(
    sim: Simulator, client: httpx.AsyncClient, installation_id: int | None = None
) -> str:
    inst = installation_id or next(iter(sim.world.installations))
    response = await client.post(
        f"/app/installations/{inst}/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt(sim)}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


_ = time
_ = create_simulator
