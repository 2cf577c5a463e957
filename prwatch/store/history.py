"""How the system did over time, from the records it keeps anyway (deliveries and sweeps):
what the charts draw. Deliveries are counted per minute in SQL, so a busy day costs a
GROUP BY, not a row per delivery in Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, cast, func, select

from prwatch.store.base import TransactionBase
from prwatch.store.records import DeliveryStatus, SweepRecord
from prwatch.store.rows import sweep_from_row
from prwatch.store.schema import sweeps, webhook_deliveries

MAX_SWEEPS = 5_000


@dataclass(frozen=True, slots=True)
class MinuteCounts:
    """One minute (since the Unix epoch, UTC) of deliveries."""

    minute: int
    received: int
    applied: int  # of those received that minute, how many were applied (done)
    latency_avg_seconds: float | None  # received → applied, of the applied ones
    latency_max_seconds: float | None


class HistoryOperations(TransactionBase):
    async def deliveries_by_minute(self, since: datetime) -> list[MinuteCounts]:
        """Deliveries received at or after ``since``, per minute, oldest first."""
        received_at = webhook_deliveries.c.received_at
        minute = self._epoch_minute(received_at)
        latency = self._seconds_between(received_at, webhook_deliveries.c.processed_at)
        done = webhook_deliveries.c.status == DeliveryStatus.DONE.value
        applied_latency = case((done, latency), else_=None)
        statement = (
            select(
                minute.label("minute"),
                func.count().label("received"),
                func.sum(case((done, 1), else_=0)).label("applied"),
                func.avg(applied_latency).label("latency_avg"),
                func.max(applied_latency).label("latency_max"),
            )
            .where(received_at >= since)
            .group_by(minute)
            .order_by(minute)
        )
        result = await self._connection.execute(statement)
        return [
            MinuteCounts(
                minute=int(row.minute),
                received=int(row.received),
                applied=int(row.applied or 0),
                latency_avg_seconds=_maybe_float(row.latency_avg),
                latency_max_seconds=_maybe_float(row.latency_max),
            )
            for row in result
        ]

    async def sweeps_since(self, since: datetime) -> list[SweepRecord]:
        """Sweeps started at or after ``since``, oldest first."""
        result = await self._connection.execute(
            select(sweeps)
            .where(sweeps.c.started_at >= since)
            .order_by(sweeps.c.started_at, sweeps.c.id)
            .limit(MAX_SWEEPS)
        )
        return [sweep_from_row(row) for row in result]

    def _epoch_minute(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        if self._connection.dialect.name == "postgresql":
            return func.floor(func.extract("epoch", column) / 60)
        # SQLite keeps UTC text; strftime('%s') reads it as UTC seconds since the epoch.
        return cast(func.strftime("%s", column), Integer) / 60

    def _seconds_between(
        self, start: ColumnElement[Any], end: ColumnElement[Any]
    ) -> ColumnElement[Any]:
        if self._connection.dialect.name == "postgresql":
            return func.extract("epoch", end) - func.extract("epoch", start)
        return (func.julianday(end) - func.julianday(start)) * 86_400.0


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)
