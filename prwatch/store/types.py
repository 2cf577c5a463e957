"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from prwatch.store.errors import InvalidStoreInput

# SQLite only makes a rowid alias (and so an auto-assigned key) of a column declared exactly
# INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigIntegerKey = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in and out, on both dialects.

    PostgreSQL stores ``timestamptz``. SQLite has no datetime type: SQLAlchemy stores fixed-width
    text (always with microseconds), so values are normalised to UTC and stored naive, which keeps
    text comparison in SQL (the fences, ``received_at < …``) equal to time comparison.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InvalidStoreInput(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidStoreInput(f"naive datetime {value.isoformat()}: give it a timezone")
        utc: datetime = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)
