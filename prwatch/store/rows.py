"""Conversions between table rows and the values the store hands out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from prwatch.domain.models import (
    ChangeKind,
    CheckRunSnapshot,
    CommitStatusSnapshot,
    FieldValue,
    PullRequestSignal,
    PullRequestSnapshot,
    RemovalReason,
    ReviewSnapshot,
    Source,
)
from prwatch.domain.ordering import CHECK_RUN_STATUSES
from prwatch.domain.reviews import REVIEW_DECISIONS, REVIEW_STATES
from prwatch.domain.statuses import STATUS_STATES
from prwatch.store.errors import InvalidStoreInput
from prwatch.store.records import (
    DeliveryStatus,
    InstallationRecord,
    RepositoryRecord,
    StoredChange,
    StoredDelivery,
    SweepRecord,
    SweepResult,
    SweepStatus,
    SyncState,
)

PR_STATES = ("open", "closed")


def pull_request_values(
    snapshot: PullRequestSnapshot, *, now: datetime, source: Source
) -> dict[str, Any]:
    if snapshot.state not in PR_STATES:
        raise InvalidStoreInput(
            f"pull request {snapshot.repository_id}#{snapshot.number}: state must be open or "
            f"closed, got {snapshot.state!r}"
        )
    if snapshot.number <= 0:
        raise InvalidStoreInput(f"pull request number must be positive, got {snapshot.number}")
    return {
        "repository_id": snapshot.repository_id,
        "number": snapshot.number,
        "github_id": snapshot.github_id,
        "node_id": snapshot.node_id,
        "state": snapshot.state,
        "draft": snapshot.draft,
        "merged": snapshot.merged,
        "merged_at": snapshot.merged_at,
        "closed_at": snapshot.closed_at,
        "title": snapshot.title,
        "author": snapshot.author,
        "labels": list(snapshot.labels),
        "head_sha": snapshot.head_sha,
        "head_ref": snapshot.head_ref,
        "base_sha": snapshot.base_sha,
        "base_ref": snapshot.base_ref,
        "created_at": snapshot.created_at,
        "updated_at": snapshot.updated_at,
        "auto_merge_method": snapshot.auto_merge_method,
        "auto_merge_enabled_by": snapshot.auto_merge_enabled_by,
        "enqueued_at": snapshot.enqueued_at,
        "first_seen_at": now,
        "last_synced_at": now,
        "last_change_source": source.value,
        "removed_at": None,
    }


def pull_request_from_row(row: Row[Any]) -> PullRequestSnapshot:
    return PullRequestSnapshot(
        repository_id=row.repository_id,
        number=row.number,
        github_id=row.github_id,
        node_id=row.node_id,
        state=row.state,
        draft=row.draft,
        merged=row.merged,
        merged_at=row.merged_at,
        closed_at=row.closed_at,
        title=row.title,
        author=row.author,
        labels=tuple(row.labels),
        head_sha=row.head_sha,
        head_ref=row.head_ref,
        base_sha=row.base_sha,
        base_ref=row.base_ref,
        created_at=row.created_at,
        updated_at=row.updated_at,
        auto_merge_method=row.auto_merge_method,
        auto_merge_enabled_by=row.auto_merge_enabled_by,
        enqueued_at=row.enqueued_at,
    )


def check_run_values(
    snapshot: CheckRunSnapshot, *, now: datetime, source: Source
) -> dict[str, Any]:
    if snapshot.status not in CHECK_RUN_STATUSES:
        raise InvalidStoreInput(
            f"check run {snapshot.id}: unknown status {snapshot.status!r} (known: "
            f"{', '.join(sorted(CHECK_RUN_STATUSES))})"
        )
    return {
        "id": snapshot.id,
        "repository_id": snapshot.repository_id,
        "head_sha": snapshot.head_sha,
        "name": snapshot.name,
        "status": snapshot.status,
        "conclusion": snapshot.conclusion,
        "started_at": snapshot.started_at,
        "completed_at": snapshot.completed_at,
        "app_slug": snapshot.app_slug,
        "check_suite_id": snapshot.check_suite_id,
        "first_seen_at": now,
        "last_synced_at": now,
        "last_change_source": source.value,
    }


def check_run_from_row(row: Row[Any]) -> CheckRunSnapshot:
    return CheckRunSnapshot(
        id=row.id,
        repository_id=row.repository_id,
        head_sha=row.head_sha,
        name=row.name,
        status=row.status,
        conclusion=row.conclusion,
        started_at=row.started_at,
        completed_at=row.completed_at,
        app_slug=row.app_slug,
        check_suite_id=row.check_suite_id,
    )


def encode_field_value(value: FieldValue) -> str | None:
    """A logged field value as JSON text; SQL NULL for none."""
    if value is None:
        return None
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise InvalidStoreInput(f"change value {value!r} is not JSON-encodable: {error}") from None


def decode_field_value(text: str | None) -> FieldValue:
    if text is None:
        return None
    value: FieldValue = json.loads(text)
    return value


def change_from_row(row: Row[Any]) -> StoredChange:
    return StoredChange(
        cursor=row.id,
        kind=ChangeKind(row.kind),
        installation_id=row.installation_id,
        repository_id=row.repository_id,
        pr_number=row.pr_number,
        check_run_id=row.check_run_id,
        field=row.field,
        old=decode_field_value(row.old_value),
        new=decode_field_value(row.new_value),
        detected_at=row.detected_at,
        source=Source(row.source),
        delivery_id=row.delivery_id,
        status_context=row.status_context,
        review_id=row.review_id,
    )


def commit_status_values(
    snapshot: CommitStatusSnapshot, *, now: datetime, source: Source
) -> dict[str, Any]:
    if snapshot.state not in STATUS_STATES:
        raise InvalidStoreInput(
            f"commit status {snapshot.context!r} on {snapshot.sha}: unknown state "
            f"{snapshot.state!r} (known: {', '.join(sorted(STATUS_STATES))})"
        )
    return {
        "repository_id": snapshot.repository_id,
        "sha": snapshot.sha,
        "context": snapshot.context,
        "state": snapshot.state,
        "description": snapshot.description,
        "target_url": snapshot.target_url,
        "status_id": snapshot.status_id,
        "created_at": snapshot.created_at,
        "updated_at": snapshot.updated_at,
        "first_seen_at": now,
        "last_synced_at": now,
        "last_change_source": source.value,
    }


def commit_status_from_row(row: Row[Any]) -> CommitStatusSnapshot:
    return CommitStatusSnapshot(
        repository_id=row.repository_id,
        sha=row.sha,
        context=row.context,
        state=row.state,
        description=row.description,
        target_url=row.target_url,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status_id=row.status_id,
    )


def review_values(snapshot: ReviewSnapshot, *, now: datetime, source: Source) -> dict[str, Any]:
    if snapshot.state not in REVIEW_STATES:
        raise InvalidStoreInput(
            f"review {snapshot.id}: unknown state {snapshot.state!r} (known: "
            f"{', '.join(sorted(REVIEW_STATES))})"
        )
    return {
        "id": snapshot.id,
        "repository_id": snapshot.repository_id,
        "pr_number": snapshot.pr_number,
        "user": snapshot.user,
        "state": snapshot.state,
        "submitted_at": snapshot.submitted_at,
        "commit_id": snapshot.commit_id,
        "first_seen_at": now,
        "last_synced_at": now,
        "last_change_source": source.value,
    }


def review_from_row(row: Row[Any]) -> ReviewSnapshot:
    return ReviewSnapshot(
        id=row.id,
        repository_id=row.repository_id,
        pr_number=row.pr_number,
        user=row.user,
        state=row.state,
        submitted_at=row.submitted_at,
        commit_id=row.commit_id,
    )


def signal_values(signal: PullRequestSignal, *, now: datetime) -> dict[str, Any]:
    if signal.review_decision is not None and signal.review_decision not in REVIEW_DECISIONS:
        raise InvalidStoreInput(f"unknown review decision {signal.review_decision!r}")
    return {
        "repository_id": signal.repository_id,
        "number": signal.number,
        "review_decision": signal.review_decision,
        "merge_signal": signal.merge_signal,
        "updated_at": now,
    }


def signal_from_row(row: Row[Any]) -> PullRequestSignal:
    return PullRequestSignal(
        repository_id=row.repository_id,
        number=row.number,
        review_decision=row.review_decision,
        merge_signal=row.merge_signal,
    )


def _reason(value: str | None) -> RemovalReason | None:
    return None if value is None else RemovalReason(value)


def installation_from_row(row: Row[Any]) -> InstallationRecord:
    return InstallationRecord(
        id=row.id,
        account_login=row.account_login,
        account_type=row.account_type,
        suspended_at=row.suspended_at,
        removed_at=row.removed_at,
        removed_reason=_reason(row.removed_reason),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def repository_from_row(row: Row[Any]) -> RepositoryRecord:
    return RepositoryRecord(
        id=row.id,
        installation_id=row.installation_id,
        full_name=row.full_name,
        private=row.private,
        removed_at=row.removed_at,
        removed_reason=_reason(row.removed_reason),
        first_seen_at=row.first_seen_at,
        updated_at=row.updated_at,
    )


def delivery_from_row(row: Row[Any]) -> StoredDelivery:
    return StoredDelivery(
        guid=row.guid,
        event=row.event,
        action=row.action,
        installation_id=row.installation_id,
        repository_id=row.repository_id,
        received_at=row.received_at,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        claimed_at=row.claimed_at,
        processed_at=row.processed_at,
        payload=bytes(row.payload),
    )


def sync_state_from_row(row: Row[Any]) -> SyncState:
    return SyncState(
        repository_id=row.repository_id,
        pulls_watermark=row.pulls_watermark,
        last_full_listing_at=row.last_full_listing_at,
        last_swept_at=row.last_swept_at,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
    )


def sweep_result_values(result: SweepResult) -> dict[str, Any]:
    return {
        "status": SweepStatus(result.status).value,
        "repositories_total": result.repositories_total,
        "repositories_ok": result.repositories_ok,
        "repositories_failed": result.repositories_failed,
        "prs_seen": result.prs_seen,
        "changes_by_kind": _counts(result.changes_by_kind),
        "requests_by_outcome": _counts(result.requests_by_outcome),
        "points_spent_core": result.points_spent_core,
        "points_spent_graphql": result.points_spent_graphql,
        "rate_limit_remaining": result.rate_limit_remaining,
        "error": result.error,
    }


def _counts(counts: Mapping[str, int]) -> dict[str, int]:
    return {str(key): int(value) for key, value in sorted(counts.items())}


def sweep_from_row(row: Row[Any]) -> SweepRecord:
    return SweepRecord(
        id=row.id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_seconds=row.duration_seconds,
        result=SweepResult(
            status=SweepStatus(row.status),
            repositories_total=row.repositories_total,
            repositories_ok=row.repositories_ok,
            repositories_failed=row.repositories_failed,
            prs_seen=row.prs_seen,
            changes_by_kind=dict(row.changes_by_kind),
            requests_by_outcome=dict(row.requests_by_outcome),
            points_spent_core=row.points_spent_core,
            points_spent_graphql=row.points_spent_graphql,
            rate_limit_remaining=row.rate_limit_remaining,
            error=row.error,
        ),
    )
