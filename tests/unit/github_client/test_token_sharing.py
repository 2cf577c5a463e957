"""The token cache in front of a ``TokenSharing``: what it asks the shared store, and when."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from github_fakes import FakeClock

from prwatch.github.auth import InstallationToken, InstallationTokenCache, TokenFetcher


@dataclass
class FakeSharing:
    """Hands out a shared token per installation; a rejected one is replaced by minting."""

    shared: dict[int, InstallationToken] = field(default_factory=dict)
    calls: list[tuple[int, str | None]] = field(default_factory=list)
    fail_next: bool = False

    async def obtain(
        self, installation_id: int, mint: TokenFetcher, rejected: InstallationToken | None
    ) -> InstallationToken:
        self.calls.append((installation_id, None if rejected is None else rejected.token))
        await asyncio.sleep(0)
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the mint failed")
        current = self.shared.get(installation_id)
        if current is None or (rejected is not None and current.token == rejected.token):
            current = self.shared[installation_id] = await mint(installation_id)
        return current


@dataclass
class Minter:
    clock: FakeClock
    minted: int = 0

    async def __call__(self, installation_id: int) -> InstallationToken:
        self.minted += 1
        return InstallationToken(installation_id, f"t{self.minted}", self.clock.now + 3600)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_a_fresh_local_token_never_asks_the_shared_store(clock: FakeClock) -> None:
    sharing, mint = FakeSharing(), Minter(clock)
    cache = InstallationTokenCache(mint, clock=clock, shared=sharing)
    tokens = await asyncio.gather(*(cache.get(7) for _ in range(5)))
    assert {t.token for t in tokens} == {"t1"}
    assert sharing.calls == [(7, None)]
    clock.now += 3600 - 299  # inside the renewal margin: ask again
    await cache.get(7)
    assert sharing.calls == [(7, None), (7, None)]


async def test_a_token_shared_by_another_process_is_used_as_is(clock: FakeClock) -> None:
    other = InstallationToken(7, "from-elsewhere", clock.now + 3600)
    sharing, mint = FakeSharing(shared={7: other}), Minter(clock)
    cache = InstallationTokenCache(mint, clock=clock, shared=sharing)
    assert await cache.get(7) == other
    assert mint.minted == 0


async def test_a_rejected_token_is_named_to_the_shared_store_until_replaced(
    clock: FakeClock,
) -> None:
    sharing, mint = FakeSharing(), Minter(clock)
    cache = InstallationTokenCache(mint, clock=clock, shared=sharing)
    first = await cache.get(7)
    cache.invalidate(first)
    sharing.fail_next = True
    with pytest.raises(RuntimeError):
        await cache.get(7)
    second = await cache.get(7)
    assert second.token == "t2"
    await cache.get(7)
    assert sharing.calls == [(7, None), (7, "t1"), (7, "t1")]
    cache.invalidate(first)  # a late 401 with the old token: the new one stays
    assert await cache.get(7) == second
    assert len(sharing.calls) == 3


async def test_forgetting_an_installation_drops_its_rejection(clock: FakeClock) -> None:
    sharing, mint = FakeSharing(), Minter(clock)
    cache = InstallationTokenCache(mint, clock=clock, shared=sharing)
    cache.invalidate(await cache.get(7))
    cache.forget(7)
    await cache.get(7)
    assert sharing.calls == [(7, None), (7, None)]
