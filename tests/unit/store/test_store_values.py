"""The store's pure parts: column types, value encoding, URL checks, error translation."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from prwatch.store.base import check_full_name, chunked
from prwatch.store.engine import parse_database_url
from prwatch.store.errors import (
    DatabaseUnavailable,
    InvalidDatabaseUrl,
    InvalidStoreInput,
    StoreError,
    TransactionConflict,
    UnknownRepository,
)
from prwatch.store.rows import decode_field_value, encode_field_value
from prwatch.store.store import translate_error
from prwatch.store.sync_state import token_fingerprint
from prwatch.store.types import UTCDateTime

SQLITE = sqlite.dialect()
POSTGRES = postgresql.dialect()
PLUS_TWO = timezone(timedelta(hours=2))


def test_datetimes_are_stored_as_utc() -> None:
    column_type = UTCDateTime()
    local = datetime(2024, 5, 1, 14, 0, tzinfo=PLUS_TWO)
    assert column_type.process_bind_param(local, SQLITE) == datetime(2024, 5, 1, 12, 0)
    stored = column_type.process_bind_param(local, POSTGRES)
    assert stored == local and stored is not None and stored.tzinfo is UTC
    assert column_type.process_bind_param(None, SQLITE) is None


def test_datetimes_come_back_aware_in_utc() -> None:
    column_type = UTCDateTime()
    naive = datetime(2024, 5, 1, 12, 0)
    assert column_type.process_result_value(naive, SQLITE) == naive.replace(tzinfo=UTC)
    local = datetime(2024, 5, 1, 14, 0, tzinfo=PLUS_TWO)
    back = column_type.process_result_value(local, POSTGRES)
    assert back == local and back is not None and back.tzinfo is UTC
    assert column_type.process_result_value(None, POSTGRES) is None


@pytest.mark.parametrize("value", [datetime(2024, 5, 1), "2024-05-01T00:00:00Z", 1714521600])
def test_naive_or_non_datetimes_are_refused(value: object) -> None:
    with pytest.raises(InvalidStoreInput):
        UTCDateTime().process_bind_param(value, SQLITE)


@pytest.mark.parametrize("value", ["text ✓", "", 0, 12, True, False, ["a", "b"], []])
def test_change_values_round_trip_through_json(value: object) -> None:
    encoded = encode_field_value(value)  # type: ignore[arg-type]
    assert encoded is not None
    assert decode_field_value(encoded) == value
    assert type(decode_field_value(encoded)) is type(value)


def test_no_value_is_sql_null_and_unencodable_values_are_refused() -> None:
    assert encode_field_value(None) is None
    assert decode_field_value(None) is None
    with pytest.raises(InvalidStoreInput, match="JSON"):
        encode_field_value({1, 2})  # type: ignore[arg-type]


def test_token_fingerprint_is_a_short_sha256_prefix() -> None:
    fingerprint = token_fingerprint("ghs_secret")
    assert fingerprint == hashlib.sha256(b"ghs_secret").hexdigest()[:16]
    assert "secret" not in fingerprint
    assert token_fingerprint("ghs_other") != fingerprint


def test_supported_urls_parse() -> None:
    assert parse_database_url("sqlite+aiosqlite:///./x.db").database == "./x.db"
    assert parse_database_url("postgresql+asyncpg://u@h:5432/d").database == "d"
    with pytest.raises(InvalidDatabaseUrl, match="in-memory"):
        parse_database_url("sqlite+aiosqlite:///:memory:")
    with pytest.raises(InvalidDatabaseUrl, match="unsupported"):
        parse_database_url("postgresql://u@h/d")
    with pytest.raises(InvalidDatabaseUrl, match="malformed"):
        parse_database_url("::")


@pytest.mark.parametrize("name", ["octo/widgets", "Octo-Org/widgets.js", "a/b"])
def test_full_names_accepted(name: str) -> None:
    assert check_full_name(name) == name


@pytest.mark.parametrize("name", ["", "octo", "octo/", "/widgets", "a/b/c", "a/b "])
def test_full_names_refused(name: str) -> None:
    with pytest.raises(InvalidStoreInput):
        check_full_name(name)


def test_chunked() -> None:
    assert [list(c) for c in chunked([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert list(chunked([], 3)) == []


def test_unknown_ids_are_named_in_the_message() -> None:
    assert str(UnknownRepository([3, 1, 3])) == "unknown repository id(s): 1, 3"
    many = str(UnknownRepository(range(25)))
    assert many.endswith("… (25 in all)") and "10" not in many


class _FakeAsyncpgError(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked")),
            TransactionConflict,
        ),
        (
            OperationalError("SELECT", {}, _FakeAsyncpgError("deadlock detected", "40P01")),
            TransactionConflict,
        ),
        (
            OperationalError(
                "SELECT", {}, sqlite3.OperationalError("unable to open database file")
            ),
            DatabaseUnavailable,
        ),
        (OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")), StoreError),
        (
            IntegrityError("INSERT", {}, sqlite3.IntegrityError("FOREIGN KEY constraint failed")),
            StoreError,
        ),
    ],
)
def test_database_errors_are_translated(error: StatementError, expected: type) -> None:
    translated = translate_error(error)
    assert type(translated) is expected


def test_store_errors_raised_while_binding_come_out_unwrapped() -> None:
    original = InvalidStoreInput("naive datetime")
    wrapped = StatementError("bind failed", "INSERT", {}, original)
    assert translate_error(wrapped) is original
