"""Installation tokens and the App JWT, through the client against a fake GitHub."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from github_fakes import APP_ID, FakeClock, FakeGitHub, json_response, private_key_pem, token_of

from prwatch.github.auth import (
    AppCredentials,
    AppJwtIssuer,
    InstallationToken,
    InstallationTokenCache,
    fingerprint,
    load_private_key,
    parse_token_response,
)
from prwatch.github.errors import AuthenticationFailed, InstallationUnavailable

PULLS = "/repos/octo/app/pulls"
ROUTE = "GET /repos/{owner}/{repo}/pulls"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def github(clock: FakeClock) -> FakeGitHub:
    fake = FakeGitHub(clock)
    fake.routes[f"GET {PULLS}"] = lambda request: json_response(200, [])
    return fake


async def test_twenty_concurrent_first_requests_make_one_token_request(github: FakeGitHub) -> None:
    async with github.client() as client:
        responses = await asyncio.gather(
            *(client.get(PULLS, installation_id=7, route=ROUTE) for _ in range(20))
        )
    assert [r.status for r in responses] == [200] * 20
    assert github.token_requests == 1
    assert len({token_of(r) for r in github.requests_to(PULLS)}) == 1


async def test_installations_get_their_own_tokens(github: FakeGitHub) -> None:
    async with github.client() as client:
        await asyncio.gather(
            client.get(PULLS, installation_id=1, route=ROUTE),
            client.get(PULLS, installation_id=2, route=ROUTE),
        )
        assert client.token_fingerprint(1) != client.token_fingerprint(2)
    assert github.token_requests == 2


async def test_token_is_reused_until_the_refresh_margin(
    github: FakeGitHub, clock: FakeClock
) -> None:
    async with github.client(token_refresh_margin_seconds=300) as client:
        assert client.token_fingerprint(7) is None
        first = await client.get(PULLS, installation_id=7, route=ROUTE)
        clock.now += 3600 - 301
        second = await client.get(PULLS, installation_id=7, route=ROUTE)
        assert github.token_requests == 1
        assert first.token_fingerprint == second.token_fingerprint == client.token_fingerprint(7)
        clock.now += 2  # now inside the last five minutes
        third = await client.get(PULLS, installation_id=7, route=ROUTE)
    assert github.token_requests == 2
    assert third.token_fingerprint != first.token_fingerprint


async def test_401_drops_the_token_fetches_one_and_retries_once(github: FakeGitHub) -> None:
    async with github.client() as client:
        await client.get(PULLS, installation_id=7, route=ROUTE)
        github.revoked.update(github.tokens)  # e.g. the App's key was rotated
        response = await client.get(PULLS, installation_id=7, route=ROUTE)
    assert response.status == 200
    assert github.token_requests == 2
    tokens = [token_of(r) for r in github.requests_to(PULLS)]
    assert len(tokens) == 3 and tokens[0] == tokens[1] != tokens[2]


async def test_a_second_401_raises_authentication_failed(github: FakeGitHub) -> None:
    github.routes[f"GET {PULLS}"] = lambda request: json_response(401, {"message": "Bad"})
    async with github.client() as client:
        with pytest.raises(AuthenticationFailed) as raised:
            await client.get(PULLS, installation_id=7, route=ROUTE)
    assert len(github.requests_to(PULLS)) == 2
    assert github.token_requests == 2
    assert "ghs_" not in str(raised.value)


async def test_unknown_installation_raises_installation_unavailable(github: FakeGitHub) -> None:
    github.unknown_installations.add(99)
    async with github.client() as client:
        with pytest.raises(InstallationUnavailable) as raised:
            await client.get(PULLS, installation_id=99, route=ROUTE)
    assert raised.value.status == 404 and raised.value.installation_id == 99
    assert github.requests_to(PULLS) == []


async def test_app_requests_carry_a_valid_rs256_jwt(github: FakeGitHub, clock: FakeClock) -> None:
    github.routes["GET /app/installations"] = lambda request: json_response(200, [{"id": 1}])
    async with github.client() as client:
        response = await client.app_get("/app/installations", {"per_page": 100})
    assert response.json() == [{"id": 1}]
    (request,) = github.requests_to("/app/installations")
    assert request.url.params["per_page"] == "100"
    (claims,) = github.jwt_claims
    assert claims == {"iat": int(clock.now) - 60, "exp": int(clock.now) + 540, "iss": str(APP_ID)}


async def test_app_post_retries_once_with_a_new_jwt_after_a_401(
    github: FakeGitHub, clock: FakeClock
) -> None:
    calls: list[str] = []

    def attempts(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        return json_response(401 if len(calls) == 1 else 202, {})

    github.routes["POST /app/hook/deliveries/55/attempts"] = attempts
    async with github.client() as client:
        clock.now += 1  # so the new JWT differs from the first
        first_jwt = client._jwt.current()
        clock.now += 5
        response = await client.app_post("/app/hook/deliveries/55/attempts")
    assert response.status == 202
    assert calls[0] == f"Bearer {first_jwt}" != calls[1]
    assert (
        "POST /app/hook/deliveries/{id}/attempts",
        "202",
    ) in client.stats.snapshot().requests


def test_jwt_is_cached_and_renewed_before_expiry() -> None:
    clock = FakeClock()
    issuer = AppJwtIssuer(AppCredentials(APP_ID, private_key_pem()), clock=clock)
    first = issuer.current()
    clock.now += 400
    assert issuer.current() == first
    clock.now += 100  # 500 s: within a minute of the 540 s expiry
    assert issuer.current() != first


async def test_token_cache_invalidate_keeps_a_newer_token() -> None:
    clock = FakeClock()
    issued: list[InstallationToken] = []

    async def fetch(installation_id: int) -> InstallationToken:
        issued.append(InstallationToken(installation_id, f"t{len(issued)}", clock() + 3600))
        return issued[-1]

    cache = InstallationTokenCache(fetch, clock=clock)
    old = await cache.get(1)
    cache.invalidate(old)
    new = await cache.get(1)
    cache.invalidate(old)  # a slow request that used the old token comes back with a 401
    assert await cache.get(1) is new
    assert len(issued) == 2


def test_parse_token_response() -> None:
    token = parse_token_response(3, {"token": "ghs_x", "expires_at": "2026-01-01T00:00:00Z"})
    assert token.expires_at == 1767225600.0
    assert "ghs_x" not in repr(token)
    assert token.fingerprint == fingerprint("ghs_x") and len(token.fingerprint) == 16
    for bad in (
        [],
        {"expires_at": "2026-01-01T00:00:00Z"},
        {"token": "x"},
        {"token": "x", "expires_at": "soon"},
        {"token": "x", "expires_at": "2026-01-01T00:00:00"},
    ):
        with pytest.raises(ValueError):
            parse_token_response(3, bad)


def test_credentials_reject_bad_input_without_echoing_the_key() -> None:
    with pytest.raises(ValueError, match="app_id"):
        AppCredentials(0, private_key_pem())
    with pytest.raises(ValueError, match="PEM"):
        AppCredentials(1, "not a key")
    broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ValueError) as raised:
        AppCredentials(1, broken).signing_key()
    assert "AAAA" not in str(raised.value)
    assert "PRIVATE KEY" not in repr(AppCredentials(1, private_key_pem()))


def test_the_private_key_is_parsed_once_per_process() -> None:
    # The settings check, the JWT issuer and the token seal each need the parsed key; an RSA
    # key's checks on loading made three loads a noticeable part of a short process.
    credentials = AppCredentials(APP_ID, private_key_pem())
    first = credentials.signing_key()
    before = load_private_key.cache_info()
    client_key = AppJwtIssuer(credentials)._key
    seal_key = AppCredentials(APP_ID, private_key_pem()).signing_key()
    after = load_private_key.cache_info()
    assert client_key is first and seal_key is first
    assert after.misses == before.misses and after.hits == before.hits + 2


def test_a_key_that_does_not_load_is_not_cached() -> None:
    broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    size = load_private_key.cache_info().currsize
    for _ in range(2):
        with pytest.raises(ValueError):
            AppCredentials(1, broken).signing_key()
    assert load_private_key.cache_info().currsize == size
