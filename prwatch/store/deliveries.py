"""Webhook deliveries: recorded before they are acknowledged, processed by jobs, kept for replay."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.sql.dml import ReturningUpdate

from prwatch.store.base import MAX_IN_LIST, TransactionBase, chunked
from prwatch.store.errors import InvalidStoreInput, UnknownDelivery
from prwatch.store.records import DeliveryStatus, StoredDelivery
from prwatch.store.rows import delivery_from_row
from prwatch.store.schema import webhook_deliveries

deliveries = webhook_deliveries

# A delivery claimed this long ago whose job never finished (the worker died) may be claimed again.
DEFAULT_CLAIM_TIMEOUT = timedelta(minutes=10)
_CLAIMABLE = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)
_FINISHED = {DeliveryStatus.DONE, DeliveryStatus.FAILED, DeliveryStatus.IGNORED}
# Rows per multi-row INSERT of deliveries: the payloads make rows big (GitHub's are ~25 KB).
RECORD_CHUNK = 100


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A received delivery, as ``record_deliveries`` stores it. ``handled`` False stores it as
    ignored at once (an event prwatch does not act on); a ``failure`` stores it as failed with
    that reason (refused at the intake: never processed)."""

    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    payload: bytes
    handled: bool = True
    failure: str | None = None


def check_new_delivery(delivery: NewDelivery) -> None:
    """``InvalidStoreInput`` unless the delivery can be recorded."""
    guid = delivery.guid
    if not guid or len(guid) > 64:
        raise InvalidStoreInput(f"delivery GUID must be 1 to 64 characters, got {guid!r}")
    if not delivery.event:
        raise InvalidStoreInput(f"delivery {guid}: empty event name")
    if not isinstance(delivery.payload, bytes):
        raise InvalidStoreInput(f"delivery {guid}: payload must be the raw body as bytes")


class DeliveryOperations(TransactionBase):
    async def record_delivery(
        self,
        guid: str,
        event: str,
        action: str | None,
        installation_id: int | None,
        repository_id: int | None,
        payload: bytes,
    ) -> bool:
        """Keep a delivery as pending. False when this GUID was recorded before (GitHub sends
        the same X-GitHub-Delivery again on redelivery)."""
        check_new_delivery(
            NewDelivery(guid, event, action, installation_id, repository_id, payload)
        )
        statement = (
            self._insert(deliveries)
            .values(
                guid=guid,
                event=event,
                action=action,
                installation_id=installation_id,
                repository_id=repository_id,
                received_at=self._clock(),
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                payload=payload,
            )
            .on_conflict_do_nothing(index_elements=["guid"])
            .returning(deliveries.c.guid)
        )
        result = await self._connection.execute(statement)
        return result.first() is not None

    async def record_deliveries(self, batch: Sequence[NewDelivery]) -> set[str]:
        """Keep many deliveries at once (a few multi-row INSERTs): handled ones as pending, the
        others as ignored. Returns the GUIDs recorded now; a GUID recorded before (a
        redelivery), or a second time in ``batch``, is not recorded again."""
        for delivery in batch:
            check_new_delivery(delivery)
        now = self._clock()
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for delivery in batch:
            if delivery.guid in seen:
                continue
            seen.add(delivery.guid)
            if delivery.failure is not None:
                status = DeliveryStatus.FAILED
            elif delivery.handled:
                status = DeliveryStatus.PENDING
            else:
                status = DeliveryStatus.IGNORED
            rows.append(
                {
                    "guid": delivery.guid,
                    "event": delivery.event,
                    "action": delivery.action,
                    "installation_id": delivery.installation_id,
                    "repository_id": delivery.repository_id,
                    "received_at": now,
                    "status": status.value,
                    "attempts": 0,
                    "processed_at": None if status is DeliveryStatus.PENDING else now,
                    "last_error": delivery.failure,
                    "payload": delivery.payload,
                }
            )
        statement = (
            self._insert(deliveries)
            .on_conflict_do_nothing(index_elements=["guid"])
            .returning(deliveries.c.guid)
        )
        recorded: set[str] = set()
        for chunk in chunked(rows, RECORD_CHUNK):
            result = await self._execute_bulk(statement, chunk)
            recorded.update(result.scalars())
        return recorded

    async def claim_deliveries(
        self, guids: Sequence[str], *, claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
    ) -> list[StoredDelivery]:
        """``claim_delivery`` for many at once: the claimed ones, in the order of ``guids``.
        Those not returned are unknown, finished, or being processed (``delivery_statuses``
        tells which)."""
        now = self._clock()
        claimed: dict[str, StoredDelivery] = {}
        for chunk in chunked(sorted(set(guids)), MAX_IN_LIST):
            result = await self._connection.execute(
                _claim(deliveries.c.guid.in_(chunk), now=now, claim_timeout=claim_timeout)
            )
            for row in result:
                claimed[row.guid] = delivery_from_row(row)
        return [claimed[guid] for guid in dict.fromkeys(guids) if guid in claimed]

    async def delivery_statuses(self, guids: Iterable[str]) -> dict[str, DeliveryStatus]:
        """The status of each recorded delivery among ``guids`` (unknown ones are absent)."""
        found: dict[str, DeliveryStatus] = {}
        for chunk in chunked(sorted(set(guids)), MAX_IN_LIST):
            result = await self._connection.execute(
                select(deliveries.c.guid, deliveries.c.status).where(deliveries.c.guid.in_(chunk))
            )
            found.update({guid: DeliveryStatus(status) for guid, status in result})
        return found

    async def mark_deliveries(self, guids: Sequence[str], status: DeliveryStatus) -> None:
        """``mark_delivery`` (without an error) for many deliveries, in one statement per
        chunk; ``UnknownDelivery`` names the first GUID not recorded."""
        status = DeliveryStatus(status)
        values: dict[str, object] = {
            "status": status.value,
            "processed_at": self._clock() if status in _FINISHED else None,
        }
        if status is DeliveryStatus.PENDING:
            values["claimed_at"] = None
        wanted = list(dict.fromkeys(guids))
        marked: set[str] = set()
        for chunk in chunked(wanted, MAX_IN_LIST):
            result = await self._connection.execute(
                update(deliveries)
                .where(deliveries.c.guid.in_(chunk))
                .values(values)
                .returning(deliveries.c.guid)
            )
            marked.update(result.scalars())
        for guid in wanted:
            if guid not in marked:
                raise UnknownDelivery(guid)

    async def claim_delivery(
        self, guid: str, *, claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
    ) -> StoredDelivery | None:
        """Mark a pending or failed delivery (or one whose claim timed out) as processing and
        count the attempt. None when it is not claimable (done, ignored, or being processed);
        ``UnknownDelivery`` when it was never recorded."""
        now = self._clock()
        result = await self._connection.execute(
            _claim(deliveries.c.guid == guid, now=now, claim_timeout=claim_timeout)
        )
        row = result.first()
        if row is not None:
            return delivery_from_row(row)
        if await self._delivery_status(guid) is None:
            raise UnknownDelivery(guid)
        return None

    async def mark_delivery(
        self, guid: str, status: DeliveryStatus, error: str | None = None
    ) -> None:
        """Set a delivery's status. ``error`` (kept until another error replaces it) says why it
        failed; a finished status (done, failed, ignored) stamps processed_at."""
        status = DeliveryStatus(status)
        values: dict[str, object] = {
            "status": status.value,
            "processed_at": self._clock() if status in _FINISHED else None,
        }
        if status is DeliveryStatus.PENDING:
            values["claimed_at"] = None
        if error is not None:
            values["last_error"] = error
        result = await self._connection.execute(
            update(deliveries).where(deliveries.c.guid == guid).values(values)
        )
        if result.rowcount == 0:
            raise UnknownDelivery(guid)

    async def release_claims(self, guids: Sequence[str], *, claimed_before: datetime) -> list[str]:
        """Put back to pending those of ``guids`` still processing under a claim taken before
        ``claimed_before``: claims whose job failed when the database went away, before it
        could record that. A claim taken later (another job, after the outage) is left alone.
        The released GUIDs."""
        released: list[str] = []
        for chunk in chunked(sorted(set(guids)), MAX_IN_LIST):
            result = await self._connection.execute(
                update(deliveries)
                .where(
                    deliveries.c.guid.in_(chunk),
                    deliveries.c.status == DeliveryStatus.PROCESSING.value,
                    deliveries.c.claimed_at <= claimed_before,
                )
                .values(status=DeliveryStatus.PENDING.value, claimed_at=None)
                .returning(deliveries.c.guid)
            )
            released += result.scalars()
        return sorted(released)

    async def get_delivery(self, guid: str) -> StoredDelivery | None:
        result = await self._connection.execute(select(deliveries).where(deliveries.c.guid == guid))
        row = result.first()
        return None if row is None else delivery_from_row(row)

    async def pending_deliveries(
        self,
        older_than: datetime,
        limit: int = 50,
        *,
        statuses: Iterable[DeliveryStatus] = (DeliveryStatus.PENDING,),
    ) -> list[StoredDelivery]:
        """Deliveries in ``statuses`` received before ``older_than``, oldest first: the ones
        whose job got lost, to enqueue again."""
        if limit <= 0:
            raise InvalidStoreInput(f"limit must be positive, got {limit}")
        wanted = sorted({DeliveryStatus(s).value for s in statuses})
        result = await self._connection.execute(
            select(deliveries)
            .where(deliveries.c.status.in_(wanted), deliveries.c.received_at < older_than)
            .order_by(deliveries.c.received_at, deliveries.c.guid)
            .limit(limit)
        )
        return [delivery_from_row(row) for row in result]

    async def delivery_counts(self) -> dict[DeliveryStatus, int]:
        """How many deliveries are in each status (every status present, zeros included)."""
        result = await self._connection.execute(
            select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
        )
        counts = dict.fromkeys(DeliveryStatus, 0)
        for status, count in result:
            counts[DeliveryStatus(status)] = int(count)
        return counts

    async def _delivery_status(self, guid: str) -> str | None:
        result = await self._connection.execute(
            select(deliveries.c.status).where(deliveries.c.guid == guid)
        )
        status: str | None = result.scalar_one_or_none()
        return status


def _claim(
    which: ColumnElement[bool], *, now: datetime, claim_timeout: timedelta
) -> ReturningUpdate[Any]:
    """Mark ``which`` deliveries processing, when claimable (pending, failed, or a claim that
    timed out), counting the attempt; the claimed rows are returned."""
    return (
        update(deliveries)
        .where(
            which,
            or_(
                deliveries.c.status.in_(_CLAIMABLE),
                and_(
                    deliveries.c.status == DeliveryStatus.PROCESSING.value,
                    deliveries.c.claimed_at < now - claim_timeout,
                ),
            ),
        )
        .values(
            status=DeliveryStatus.PROCESSING.value,
            attempts=deliveries.c.attempts + 1,
            claimed_at=now,
        )
        .returning(*deliveries.c)
    )
