"""The pure parts of access control: token format, signed values, visibility."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from prwatch.access.signing import derive_key, sign, unsign
from prwatch.access.tokens import TOKEN_PREFIX, is_well_formed, new_token, token_hash
from prwatch.commands.config import mask_password
from prwatch.domain.visibility import EVERYTHING, NOTHING, Visibility


def test_tokens_are_long_random_and_recognisable() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX) and len(token) - len(TOKEN_PREFIX) >= 43
        assert is_well_formed(token)
        assert len(token_hash(token)) == 64 and token not in token_hash(token)


@given(st.text(max_size=80))
def test_anything_else_is_not_a_token(text: str) -> None:
    assert not is_well_formed(text) or (text.startswith(TOKEN_PREFIX) and len(text) == 51)


@given(st.text(min_size=1, max_size=60).filter(lambda v: "." not in v))
def test_signed_values_round_trip_and_resist_tampering(value: str) -> None:
    key = derive_key("client secret", "session cookie")
    signed = sign(key, value)
    assert unsign(key, signed) == value
    assert unsign(derive_key("another secret", "session cookie"), signed) is None
    assert unsign(derive_key("client secret", "csrf"), signed) is None
    assert unsign(key, signed[:-1] + ("A" if signed[-1] != "A" else "B")) is None
    assert unsign(key, value) is None


def test_visibility() -> None:
    assert EVERYTHING.allows(1, 2) and EVERYTHING.unrestricted
    assert not NOTHING.allows(1, 2)
    scoped = Visibility(frozenset({1}), None)
    assert scoped.allows(1, 99) and not scoped.allows(2, 99)
    assert scoped.sees_whole_installation(1) and not scoped.sees_whole_installation(2)
    person = Visibility(frozenset({1}), frozenset({10}))
    assert person.allows(1, 10) and not person.allows(1, 11) and not person.allows(2, 10)
    assert not person.sees_whole_installation(1)


def test_passwords_in_urls_are_masked() -> None:
    assert mask_password("postgresql+asyncpg://u:p%40ss@h:5432/db") == (
        "postgresql+asyncpg://u:***@h:5432/db"
    )
    assert mask_password("redis://:secret@cache:6379/0") == "redis://:***@cache:6379/0"
    for plain in (
        "redis://cache:6379/0",
        "sqlite+aiosqlite:///./x.db",
        "postgresql+asyncpg://u@h/d",
    ):
        assert mask_password(plain) == plain
