"""Installation tokens shared through a real Redis by GitHub clients that stand for separate
processes (each its own client, token cache and Redis connection), against the simulator."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from prwatch.github.auth import AppCredentials, InstallationToken
from prwatch.github.client import GitHubClient
from prwatch.github.shared_tokens import RedisTokenSharing, token_key
from prwatch.github.token_sealing import derive_fernet_key
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.config import SimConfig
from prwatch.store import Store, create_engine, upgrade_database
from prwatch.sync.options import SweepOptions
from prwatch.sync.processor import run_sweep
from tests.services import fresh_redis

# A database of its own: the other Redis tests flush theirs (15) whenever they start.
REDIS_URL = os.environ.get("PRWATCH_TEST_SHARED_TOKENS_REDIS_URL", "redis://127.0.0.1:6379/14")
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
SIM_URL = "http://sim.test"
TOKENS = "POST /app/installations/{installation_id}/access_tokens"
REPOSITORIES = "GET /installation/repositories"
PULLS = "GET /repos/{owner}/{repo}/pulls"

MakeClient = Callable[..., GitHubClient]


async def no_wait(seconds: float) -> None:
    return None


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with fresh_redis(REDIS_URL) as url:  # a database of its own
        yield url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def sim() -> Simulator:
    return create_simulator(SimConfig(repos=3, prs=30, open_ratio=0.5, seed=5, installations=2))


def credentials(sim: Simulator) -> AppCredentials:
    return AppCredentials(sim.config.app_id, sim.private_key_pem)


@pytest.fixture
async def make_client(sim: Simulator, redis_url: str) -> AsyncIterator[MakeClient]:
    """A new client as a new process would build it; ``shared=False`` leaves Redis out."""
    opened: list[tuple[GitHubClient, RedisTokenSharing | None]] = []

    def make(*, shared: bool = True, url: str = redis_url) -> GitHubClient:
        sharing = RedisTokenSharing.from_url(url, credentials(sim)) if shared else None
        client = GitHubClient(
            credentials(sim),
            base_url=SIM_URL,
            transport=httpx.ASGITransport(app=sim.app),
            sleep=no_wait,
            shared_tokens=sharing,
        )
        opened.append((client, sharing))
        return client

    yield make
    for client, sharing in opened:
        await client.aclose()
        if sharing is not None:
            await sharing.aclose()


async def installation_of(sim: Simulator) -> int:
    return sorted(sim.world.installations)[0]


async def list_repositories(client: GitHubClient, installation_id: int) -> httpx.Headers:
    response = await client.get(
        "/installation/repositories", installation_id=installation_id, route=REPOSITORIES
    )
    assert response.status == 200
    return response.headers


def token_requests(sim: Simulator) -> int:
    return sum(sim.stats.requests.get(TOKENS, {}).values())


async def shared_token(redis_url: str, sim: Simulator, installation_id: int) -> InstallationToken:
    """What Redis holds for the installation, read as another process would (minting fails)."""

    async def must_not_mint(installation: int) -> InstallationToken:
        raise AssertionError("Redis held no token")

    sharing = RedisTokenSharing.from_url(redis_url, credentials(sim))
    try:
        return await sharing.obtain(installation_id, must_not_mint, None)
    finally:
        await sharing.aclose()


async def test_two_processes_share_one_minted_token(
    sim: Simulator, make_client: MakeClient, redis_url: str
) -> None:
    installation_id = await installation_of(sim)
    first, second = make_client(), make_client()
    await list_repositories(first, installation_id)
    await list_repositories(second, installation_id)
    assert token_requests(sim) == 1
    assert first.token_fingerprint(installation_id) == second.token_fingerprint(installation_id)
    shared = await shared_token(redis_url, sim, installation_id)
    assert shared.fingerprint == first.token_fingerprint(installation_id)


async def test_concurrent_first_requests_from_both_processes_mint_once(
    sim: Simulator, make_client: MakeClient
) -> None:
    installation_id = await installation_of(sim)
    clients = [make_client() for _ in range(2)]
    await asyncio.gather(
        *(list_repositories(client, installation_id) for client in clients for _ in range(10))
    )
    assert token_requests(sim) == 1
    assert len({client.token_fingerprint(installation_id) for client in clients}) == 1


async def test_each_installation_has_its_own_shared_token(
    sim: Simulator, make_client: MakeClient
) -> None:
    first, second = make_client(), make_client()
    installations = sorted(sim.world.installations)
    assert len(installations) == 2
    for installation_id in installations:
        await list_repositories(first, installation_id)
        await list_repositories(second, installation_id)
    assert token_requests(sim) == 2
    fingerprints = {first.token_fingerprint(i) for i in installations}
    assert len(fingerprints) == 2
    assert fingerprints == {second.token_fingerprint(i) for i in installations}


async def test_a_rejected_token_is_replaced_once_for_both(
    sim: Simulator, make_client: MakeClient, redis_url: str
) -> None:
    installation_id = await installation_of(sim)
    first, second = make_client(), make_client()
    await list_repositories(first, installation_id)
    await list_repositories(second, installation_id)
    old = first.token_fingerprint(installation_id)
    sim.tokens.expire_all(sim.clock.now())  # every token is now rejected: 401
    await asyncio.gather(
        list_repositories(first, installation_id), list_repositories(second, installation_id)
    )
    assert token_requests(sim) == 2  # the first token, then one replacement for both
    new = first.token_fingerprint(installation_id)
    assert new is not None and new != old
    assert second.token_fingerprint(installation_id) == new
    assert sim.stats.requests[REPOSITORIES] == {"200": 4, "401": 2}
    assert (await shared_token(redis_url, sim, installation_id)).fingerprint == new


async def test_a_rejection_after_the_renewal_does_not_discard_the_new_token(
    sim: Simulator, make_client: MakeClient
) -> None:
    installation_id = await installation_of(sim)
    first, second = make_client(), make_client()
    await list_repositories(first, installation_id)
    await list_repositories(second, installation_id)
    sim.tokens.expire_all(sim.clock.now())
    await list_repositories(first, installation_id)  # 401, renewed in Redis
    renewed = first.token_fingerprint(installation_id)
    await list_repositories(second, installation_id)  # 401 with the old one: reads the renewal
    assert token_requests(sim) == 2
    assert second.token_fingerprint(installation_id) == renewed


async def test_redis_down_still_works_and_warns(
    sim: Simulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    installation_id = await installation_of(sim)
    caplog.set_level(logging.WARNING, logger="prwatch.github.shared_tokens")
    client = make_client(url=UNREACHABLE_REDIS_URL)
    await list_repositories(client, installation_id)
    await list_repositories(client, installation_id)  # the local cache stays in front
    assert token_requests(sim) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "shared token cache unavailable, minting locally"
    ]
    assert "ghs_" not in caplog.text


async def test_an_entry_encrypted_with_another_key_is_ignored_and_replaced(
    sim: Simulator,
    make_client: MakeClient,
    redis: aioredis.Redis,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    installation_id = await installation_of(sim)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    other = Fernet(derive_fernet_key(AppCredentials(sim.config.app_id, other_pem)))
    planted = (
        b'{"installation_id": %d, "token": "ghs_planted", "expires_at": 9999999999}'
        % installation_id
    )
    key = token_key(sim.config.app_id, installation_id)
    await redis.set(key, other.encrypt(planted), ex=3600)

    caplog.set_level(logging.WARNING, logger="prwatch.github.shared_tokens")
    client = make_client()
    await list_repositories(client, installation_id)
    assert token_requests(sim) == 1
    assert "shared installation token unreadable, replacing it" in caplog.messages
    shared = await shared_token(redis_url, sim, installation_id)
    assert shared.fingerprint == client.token_fingerprint(installation_id)
    assert shared.token != "ghs_planted"


async def test_the_token_is_never_in_plaintext_in_redis(
    sim: Simulator, make_client: MakeClient, redis: aioredis.Redis, redis_url: str
) -> None:
    installation_id = await installation_of(sim)
    await list_repositories(make_client(), installation_id)
    token = (await shared_token(redis_url, sim, installation_id)).token
    keys = [k async for k in redis.scan_iter()]
    assert keys == [token_key(sim.config.app_id, installation_id).encode()]
    for k in keys:
        value = await redis.get(k)
        assert token.encode() not in value and b"ghs_" not in value
    # It lives until 5 minutes before the token expires (the renewal margin), not longer.
    lifetime = sim.config.token_lifetime_s
    ttl = await redis.pttl(keys[0])
    assert (lifetime - 300 - 5) * 1000 < ttl <= (lifetime - 300) * 1000


async def test_two_sweeps_by_two_processes_get_304s_across_them(
    sim: Simulator, make_client: MakeClient, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'prwatch.db'}"
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    store, options = Store(engine), SweepOptions(backoff_factor_seconds=0)
    try:
        cold = await run_sweep(store, make_client(), options=options)
        assert cold.requests_by_route[PULLS] == {"200": 3}
        quiet = await run_sweep(store, make_client(), options=options)
        assert quiet.requests_by_route[PULLS] == {"304": 3}
        assert sum(quiet.changes_by_kind.values()) == 0
        assert token_requests(sim) == 2  # one per installation, for all three clients
        # Without the shared token, a new process's first sweep misses every ETag.
        alone = await run_sweep(store, make_client(shared=False), options=options)
        assert alone.requests_by_route[PULLS] == {"200": 3}
    finally:
        await engine.dispose()
