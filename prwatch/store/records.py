"""What the store hands back besides the domain snapshots: rows with their bookkeeping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

from prwatch.domain.models import (
    Change,
    ChangeKind,
    FieldValue,
    InstallationSnapshot,
    RemovalReason,
    RepositorySnapshot,
    Source,
)

# What app_state keeps: anything json.dumps accepts.
JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # recorded, not processed yet
    PROCESSING = "processing"  # claimed by a job
    DONE = "done"
    FAILED = "failed"  # the last attempt failed; it may be claimed again
    IGNORED = "ignored"  # an event prwatch does not act on


class SweepStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"  # some repositories failed
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class InstallationRecord:
    id: int
    account_login: str
    account_type: str
    suspended_at: datetime | None
    removed_at: datetime | None
    removed_reason: RemovalReason | None
    created_at: datetime
    updated_at: datetime

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    def snapshot(self) -> InstallationSnapshot:
        return InstallationSnapshot(
            id=self.id,
            account_login=self.account_login,
            account_type=self.account_type,
            suspended=self.suspended_at is not None,
        )


@dataclass(frozen=True, slots=True)
class RepositoryRecord:
    id: int
    installation_id: int
    full_name: str
    private: bool
    removed_at: datetime | None
    removed_reason: RemovalReason | None
    first_seen_at: datetime
    updated_at: datetime

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    def snapshot(self) -> RepositorySnapshot:
        return RepositorySnapshot(
            id=self.id,
            installation_id=self.installation_id,
            full_name=self.full_name,
            private=self.private,
        )


@dataclass(frozen=True, slots=True)
class StoredChange:
    """One change log entry as stored: ``cursor`` orders the log and pages it."""

    cursor: int
    kind: ChangeKind
    installation_id: int | None
    repository_id: int | None
    pr_number: int | None
    check_run_id: int | None
    field: str | None
    old: FieldValue
    new: FieldValue
    detected_at: datetime
    source: Source
    delivery_id: str | None
    status_context: str | None = None
    review_id: int | None = None

    @property
    def change(self) -> Change:
        return Change(
            kind=self.kind,
            repository_id=self.repository_id,
            pr_number=self.pr_number,
            check_run_id=self.check_run_id,
            field=self.field,
            old=self.old,
            new=self.new,
            installation_id=self.installation_id,
            status_context=self.status_context,
            review_id=self.review_id,
        )


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    received_at: datetime
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    claimed_at: datetime | None
    processed_at: datetime | None
    payload: bytes  # the raw body, byte for byte as received


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where the sweep stands with one repository."""

    repository_id: int
    pulls_watermark: datetime | None = None  # the newest PR updated_at listed so far
    last_full_listing_at: datetime | None = None
    last_swept_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What a finished sweep reports."""

    status: SweepStatus
    repositories_total: int = 0
    repositories_ok: int = 0
    repositories_failed: int = 0
    prs_seen: int = 0
    changes_by_kind: Mapping[str, int] = field(default_factory=dict)
    requests_by_outcome: Mapping[str, int] = field(default_factory=dict)
    points_spent_core: int = 0
    points_spent_graphql: int = 0
    rate_limit_remaining: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SweepRecord:
    id: int
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    result: SweepResult  # status RUNNING and zeros while the sweep runs
