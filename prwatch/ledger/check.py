"""Read GitHub's delivery log, redeliver what failed and was never stored, and keep count."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from prwatch.github.errors import UnexpectedResponse
from prwatch.github.responses import ApiResponse
from prwatch.ledger.decisions import (
    DeliveryAttempt,
    LedgerFormatError,
    decide_redeliveries,
    parse_attempt,
)
from prwatch.store.records import JsonValue
from prwatch.store.store import Store

log = logging.getLogger(__name__)

LEDGER_STATE_KEY = "delivery_ledger"
DELIVERIES_PATH = "/app/hook/deliveries"
DELIVERIES_ROUTE = "GET /app/hook/deliveries"
REDELIVER_ROUTE = "POST /app/hook/deliveries/{delivery_id}/attempts"
PAGE_SIZE = 100  # GitHub's largest page
# GitHub redelivers nothing older than 3 days; its log is not worth reading further back.
REDELIVERY_WINDOW = timedelta(days=3)
# Read a little before the last check: an attempt may show up in the log after a check that ran
# while it was being made.
OVERLAP = timedelta(minutes=5)


class LedgerApi(Protocol):
    async def app_get(
        self,
        path_or_url: str,
        params: Mapping[str, str | int] | None = None,
        *,
        route: str | None = None,
    ) -> ApiResponse: ...

    async def app_post(
        self, path: str, json_body: Any = None, *, route: str | None = None
    ) -> ApiResponse: ...


@dataclass(frozen=True, slots=True)
class LedgerReport:
    attempts_read: int = 0
    failed_seen: int = 0  # GUIDs in the window whose latest attempt failed
    redelivered: int = 0  # redelivery requests GitHub accepted (202) in this check
    redelivery_refused: int = 0  # redelivery requests GitHub refused
    recovered: int = 0  # GUIDs redelivered by a check that are now stored


async def check_delivery_ledger(
    store: Store,
    api: LedgerApi,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> LedgerReport:
    """One check of the ledger; its counts are added to the totals kept in app state."""
    started = now()
    async with store.transaction(read_only=True) as tx:
        state = _LedgerState.load(await tx.app_state_get(LEDGER_STATE_KEY))
    window_start = started - REDELIVERY_WINDOW
    since = window_start
    if state.checked_at is not None:
        since = max(window_start, state.checked_at - OVERLAP)
    attempts = await _read_attempts(api, since)
    redelivered_before = {guid: at for guid, at in state.redelivered.items() if at >= window_start}
    async with store.transaction(read_only=True) as tx:
        candidates = {attempt.guid for attempt in attempts} | set(redelivered_before)
        stored = {guid for guid in sorted(candidates) if await tx.get_delivery(guid) is not None}
    decision = decide_redeliveries(
        attempts, stored=stored, redelivered_before=redelivered_before.keys()
    )
    accepted = refused = 0
    for attempt in decision.redeliver:
        if await _redeliver(api, attempt):
            accepted += 1
            redelivered_before[attempt.guid] = started
        else:
            refused += 1
    for guid in decision.recovered:
        del redelivered_before[guid]
    report = LedgerReport(
        attempts_read=len(attempts),
        failed_seen=len(decision.failed),
        redelivered=accepted,
        redelivery_refused=refused,
        recovered=len(decision.recovered),
    )
    async with store.transaction() as tx:
        current = _LedgerState.load(await tx.app_state_get(LEDGER_STATE_KEY))
        current.checked_at = started
        current.redelivered = redelivered_before
        current.add(report)
        await tx.app_state_put(LEDGER_STATE_KEY, current.dump())
    log.info("delivery ledger checked", extra=asdict(report))
    return report


async def ledger_totals(store: Store) -> dict[str, int]:
    """What every check so far counted (failed_seen, redelivered, recovered, …)."""
    async with store.transaction(read_only=True) as tx:
        return dict(_LedgerState.load(await tx.app_state_get(LEDGER_STATE_KEY)).totals)


async def _read_attempts(api: LedgerApi, since: datetime) -> list[DeliveryAttempt]:
    """Attempts made at or after ``since``, paging newest first until the log gets older."""
    attempts: list[DeliveryAttempt] = []
    url: str | None = DELIVERIES_PATH
    params: dict[str, str | int] | None = {"per_page": PAGE_SIZE}
    while url is not None:
        response = await api.app_get(url, params, route=DELIVERIES_ROUTE)
        if response.status != 200:
            raise UnexpectedResponse(
                f"{DELIVERIES_ROUTE} answered {response.status}: {response.message()}"
            )
        body = response.json()
        if not isinstance(body, list):
            raise UnexpectedResponse(f"{DELIVERIES_ROUTE} did not answer a list")
        page = _readable_attempts(body)
        attempts.extend(attempt for attempt in page if attempt.delivered_at >= since)
        if not body or (page and min(attempt.delivered_at for attempt in page) < since):
            break
        url, params = response.links.get("next"), None
    return attempts


def _readable_attempts(rows: list[Any]) -> list[DeliveryAttempt]:
    """The rows of one page that are as GitHub documents them; a malformed one is skipped and
    reported, never the whole check (GitHub keeps its log for days)."""
    attempts: list[DeliveryAttempt] = []
    for row in rows:
        try:
            attempts.append(parse_attempt(row))
        except LedgerFormatError as error:
            log.warning("unreadable delivery attempt skipped", extra={"error": str(error)})
    return attempts


async def _redeliver(api: LedgerApi, attempt: DeliveryAttempt) -> bool:
    response = await api.app_post(f"{DELIVERIES_PATH}/{attempt.id}/attempts", route=REDELIVER_ROUTE)
    if response.status == 202:
        return True
    log.warning(
        "redelivery refused",
        extra={
            "delivery_guid": attempt.guid,
            "attempt_id": attempt.id,
            "status": response.status,
            "message": response.message(),
        },
    )
    return False


@dataclass(slots=True)
class _LedgerState:
    checked_at: datetime | None
    redelivered: dict[str, datetime]  # GUID → when a check redelivered it
    totals: dict[str, int]

    @classmethod
    def load(cls, value: JsonValue) -> _LedgerState:
        data = value if isinstance(value, dict) else {}
        checked = data.get("checked_at")
        redelivered = data.get("redelivered")
        totals = data.get("totals")
        return cls(
            checked_at=_time(checked),
            redelivered={
                guid: at
                for guid, text in (redelivered.items() if isinstance(redelivered, dict) else ())
                if (at := _time(text)) is not None
            },
            totals={
                str(key): int(count)
                for key, count in (totals.items() if isinstance(totals, dict) else ())
                if isinstance(count, int)
            },
        )

    def add(self, report: LedgerReport) -> None:
        for key, count in asdict(report).items():
            self.totals[key] = self.totals.get(key, 0) + int(count)
        self.totals["checks"] = self.totals.get("checks", 0) + 1

    def dump(self) -> JsonValue:
        last: dict[str, JsonValue] = dict(self.totals)
        return {
            "checked_at": None if self.checked_at is None else self.checked_at.isoformat(),
            "redelivered": {guid: at.isoformat() for guid, at in self.redelivered.items()},
            "totals": last,
        }


def _time(value: JsonValue) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
