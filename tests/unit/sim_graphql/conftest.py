"""Fixtures: a small generated world behind the GraphQL route, and a client with a token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_graphql_support import Client, Sim, connect, make_sim


@pytest.fixture
def sim() -> Sim:
    return make_sim()


@pytest.fixture
async def client(sim: Sim) -> AsyncIterator[Client]:
    async with connect(sim) as connected:
        yield connected
