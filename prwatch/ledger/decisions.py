"""Which failed webhook deliveries to redeliver: pure logic over GitHub's attempt log."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prwatch.github import validation


class LedgerFormatError(ValueError):
    """An attempt row of ``GET /app/hook/deliveries`` lacks a field the ledger needs."""


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One row of ``GET /app/hook/deliveries``: one attempt at sending one delivery (GUID)."""

    id: int  # the attempt's id: what ``POST /app/hook/deliveries/{id}/attempts`` redelivers
    guid: str
    delivered_at: datetime
    status_code: int  # 0 when nothing answered (timed out, connection failed)
    redelivery: bool = False
    event: str = ""

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300


def parse_attempt(item: Any) -> DeliveryAttempt:
    """An attempt from its JSON object; ``LedgerFormatError`` names what is missing or wrong."""
    if not isinstance(item, Mapping):
        raise LedgerFormatError(f"a delivery attempt must be an object, got {type(item).__name__}")
    try:
        attempt_id, guid, delivered, code = (
            item["id"],
            item["guid"],
            item["delivered_at"],
            item["status_code"],
        )
    except KeyError as missing:
        raise LedgerFormatError(f"delivery attempt without {missing.args[0]!r}") from None
    if isinstance(attempt_id, bool) or not isinstance(attempt_id, int):
        raise LedgerFormatError(
            f"delivery attempt id must be an integer, got {validation.shown(attempt_id)}"
        )
    try:
        # The id goes into a redelivery's URL, the GUID into the database and its state.
        validation.github_id(attempt_id, "delivery attempt id")
    except validation.InvalidValue as error:
        raise LedgerFormatError(str(error)) from None
    where = f"delivery attempt {attempt_id}"
    try:
        if not isinstance(guid, str) or not guid:
            raise LedgerFormatError(f"{where}: guid must be a non-empty string")
        validation.delivery_guid(guid, f"{where}: guid")
        if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code <= 999:
            raise LedgerFormatError(f"{where}: status_code must be an integer")
        delivered_at = validation.timestamp(delivered, f"{where}: delivered_at")
    except validation.InvalidValue as error:
        raise LedgerFormatError(str(error)) from None
    event = item.get("event")
    return DeliveryAttempt(
        id=attempt_id,
        guid=guid,
        delivered_at=delivered_at,
        status_code=code,
        redelivery=bool(item.get("redelivery", False)),
        event=event if isinstance(event, str) else "",
    )


def latest_attempts(attempts: Iterable[DeliveryAttempt]) -> dict[str, DeliveryAttempt]:
    """Each GUID's latest attempt (the later time; for equal times the higher id, which GitHub
    assigns in order)."""
    latest: dict[str, DeliveryAttempt] = {}
    for attempt in attempts:
        current = latest.get(attempt.guid)
        if current is None or (attempt.delivered_at, attempt.id) > (
            current.delivered_at,
            current.id,
        ):
            latest[attempt.guid] = attempt
    return latest


@dataclass(frozen=True, slots=True)
class LedgerDecision:
    failed: frozenset[str]  # GUIDs whose latest attempt failed
    redeliver: tuple[DeliveryAttempt, ...]  # the attempt to redeliver, per GUID, oldest first
    recovered: frozenset[str]  # redelivered earlier, and now stored


def decide_redeliveries(
    attempts: Iterable[DeliveryAttempt],
    *,
    stored: Collection[str],
    redelivered_before: Collection[str],
) -> LedgerDecision:
    """Redeliver each GUID whose latest attempt failed, which prwatch has not stored and which
    was not redelivered before (once is enough: a redelivery that fails too is left to the
    sweep, which reconciles whatever webhooks missed).

    ``stored`` holds the GUIDs prwatch has in its deliveries table, ``redelivered_before`` the
    GUIDs earlier checks redelivered; a redelivered GUID now stored counts as recovered.
    """
    latest = latest_attempts(attempts)
    failed = frozenset(guid for guid, attempt in latest.items() if not attempt.succeeded)
    redeliver = sorted(
        (latest[guid] for guid in failed if guid not in stored and guid not in redelivered_before),
        key=lambda attempt: (attempt.delivered_at, attempt.id),
    )
    recovered = frozenset(guid for guid in redelivered_before if guid in stored)
    return LedgerDecision(failed=failed, redeliver=tuple(redeliver), recovered=recovered)
