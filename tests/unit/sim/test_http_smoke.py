from __future__ import annotations

import httpx

from prwatch.sim.app import Simulator
from tests.unit.sim.conftest import installation_token


async def test_token_then_listing(sim: Simulator, client: httpx.AsyncClient) -> None:
    token = await installation_token(sim, client)
    auth = {"Authorization": f"token {token}"}
    repos = (await client.get("/installation/repositories", headers=auth)).json()
    assert repos["total_count"] == 3
    full = repos["repositories"][0]["full_name"]
    response = await client.get(
        f"/repos/{full}/pulls", params={"state": "all", "per_page": 10}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert len(response.json()) == 10
    print(response.headers)
