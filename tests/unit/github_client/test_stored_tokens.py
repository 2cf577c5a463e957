"""Installation tokens kept sealed in a vault (the database, embedded mode) between processes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github_fakes import APP_ID, FakeClock, private_key_pem

from prwatch.github.auth import AppCredentials, InstallationToken, InstallationTokenCache
from prwatch.github.stored_tokens import StoredTokenSharing, stored_token_key


class VaultDown(Exception):
    pass


@dataclass
class MemoryVault:
    entries: dict[str, bytes] = field(default_factory=dict)
    down: bool = False

    async def read(self, key: str) -> bytes | None:
        if self.down:
            raise VaultDown
        return self.entries.get(key)

    async def write(self, key: str, entry: bytes) -> None:
        if self.down:
            raise VaultDown
        self.entries[key] = entry


def minted_token(number: int) -> str:
    """Long enough that it cannot turn up by chance in a sealed (base64) entry."""
    return f"ghs_minted_token_number_{number:04d}"


@dataclass
class Minter:
    clock: FakeClock
    minted: int = 0
    lifetime: float = 3600

    async def __call__(self, installation_id: int) -> InstallationToken:
        self.minted += 1
        return InstallationToken(
            installation_id, minted_token(self.minted), self.clock.now + self.lifetime
        )


def sharing(vault: MemoryVault, clock: FakeClock, pem: str | None = None) -> StoredTokenSharing:
    credentials = AppCredentials(APP_ID, pem or private_key_pem())
    return StoredTokenSharing(vault, credentials, unavailable=(VaultDown,), clock=clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_a_second_process_reuses_the_stored_token(clock: FakeClock) -> None:
    vault, mint = MemoryVault(), Minter(clock)
    first = InstallationTokenCache(mint, clock=clock, shared=sharing(vault, clock))
    assert (await first.get(7)).token == minted_token(1)
    entry = vault.entries[stored_token_key(APP_ID, 7)]
    assert minted_token(1).encode() not in entry  # sealed, not in clear

    later = InstallationTokenCache(mint, clock=clock, shared=sharing(vault, clock))
    clock.now += 1800
    assert (await later.get(7)).token == minted_token(1)
    assert mint.minted == 1
    assert (await later.get(8)).token == minted_token(2)  # tokens are per installation


async def test_a_token_due_for_renewal_is_replaced(clock: FakeClock) -> None:
    vault, mint = MemoryVault(), Minter(clock)
    await sharing(vault, clock).obtain(7, mint, None)
    clock.now += 3600 - 299  # inside the five-minute margin
    assert (await sharing(vault, clock).obtain(7, mint, None)).token == minted_token(2)
    assert (await sharing(vault, clock).obtain(7, mint, None)).token == minted_token(2)
    assert mint.minted == 2


async def test_a_rejected_token_is_never_handed_back(clock: FakeClock) -> None:
    vault, mint = MemoryVault(), Minter(clock)
    store = sharing(vault, clock)
    rejected = await store.obtain(7, mint, None)
    assert (await store.obtain(7, mint, rejected)).token == minted_token(2)
    assert (await sharing(vault, clock).obtain(7, mint, None)).token == minted_token(
        2
    )  # it replaced the first


async def test_a_token_minted_inside_the_margin_is_not_stored(clock: FakeClock) -> None:
    vault, mint = MemoryVault(), Minter(clock, lifetime=60)
    assert (await sharing(vault, clock).obtain(7, mint, None)).token == minted_token(1)
    assert vault.entries == {}


async def test_an_entry_sealed_with_another_key_is_replaced(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    vault, mint = MemoryVault(), Minter(clock)
    await sharing(vault, clock, other_pem).obtain(7, mint, None)
    caplog.set_level(logging.WARNING, logger="prwatch.github.stored_tokens")
    assert (await sharing(vault, clock).obtain(7, mint, None)).token == minted_token(2)
    assert "unreadable" in caplog.text
    assert (await sharing(vault, clock).obtain(7, mint, None)).token == minted_token(2)


async def test_an_entry_of_another_installation_is_not_used(clock: FakeClock) -> None:
    vault, mint = MemoryVault(), Minter(clock)
    await sharing(vault, clock).obtain(7, mint, None)
    vault.entries[stored_token_key(APP_ID, 8)] = vault.entries[stored_token_key(APP_ID, 7)]
    assert (await sharing(vault, clock).obtain(8, mint, None)).token == minted_token(2)


async def test_a_vault_that_fails_only_means_a_local_token(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    vault, mint = MemoryVault(down=True), Minter(clock)
    caplog.set_level(logging.WARNING, logger="prwatch.github.stored_tokens")
    cache = InstallationTokenCache(mint, clock=clock, shared=sharing(vault, clock))
    assert (await cache.get(7)).token == minted_token(1)
    assert (await cache.get(7)).token == minted_token(1)  # the local cache stays in front
    assert "minting locally" in caplog.text and "kept locally" in caplog.text
    assert minted_token(1) not in caplog.text
