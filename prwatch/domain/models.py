"""Value types shared by every layer.

Snapshots are what prwatch knows of a GitHub object at one moment, whichever source
(REST listing, GraphQL, webhook payload) produced them. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Source(StrEnum):
    """Where a change was detected."""

    WEBHOOK = "webhook"
    SWEEP = "sweep"


class RemovalReason(StrEnum):
    """Why a repository or installation is no longer watched. Rows are marked, never deleted."""

    REMOVED_FROM_INSTALLATION = "removed_from_installation"
    NOT_FOUND = "not_found"  # 404: deleted *or* no longer accessible; GitHub does not say which
    DELETED = "deleted"  # a `repository.deleted` delivery told us so
    INSTALLATION_DELETED = "installation_deleted"
    INSTALLATION_SUSPENDED = "installation_suspended"


@dataclass(frozen=True, slots=True)
class InstallationSnapshot:
    id: int
    account_login: str  # a user's or organization's login, an enterprise's slug; "" if null
    account_type: str  # "Organization" | "User" | "Enterprise" (| GitHub's target_type)
    suspended: bool = False


@dataclass(frozen=True, slots=True)
class RepositorySnapshot:
    id: int  # the identity: full_name changes on rename and transfer
    installation_id: int
    full_name: str
    private: bool = False


@dataclass(frozen=True, slots=True)
class PullRequestSnapshot:
    repository_id: int
    number: int
    github_id: int
    node_id: str
    state: str  # "open" | "closed"
    draft: bool
    merged: bool
    merged_at: datetime | None
    closed_at: datetime | None
    title: str
    author: str
    labels: tuple[str, ...]  # label names, sorted, so that order never reads as a change
    head_sha: str
    head_ref: str
    base_sha: str
    base_ref: str
    created_at: datetime
    updated_at: datetime
    # Auto-merge, while it is on: how the PR will be merged and who asked (GitHub's
    # `auto_merge` object, in REST and webhooks alike).
    auto_merge_method: str | None = None  # merge | squash | rebase
    auto_merge_enabled_by: str | None = None
    # The merge queue: since when the PR waits in its base branch's queue (None: not queued).
    # Only `enqueued`/`dequeued` deliveries say so (GitHub's PR object has no such field), so
    # a snapshot from elsewhere has `merge_queue_known` False and keeps the stored value
    # (the flag says where a snapshot came from, not what the PR is: it is not compared).
    enqueued_at: datetime | None = None
    merge_queue_known: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class CheckRunSnapshot:
    id: int
    repository_id: int
    head_sha: str
    name: str
    status: str  # queued | in_progress | completed (| waiting | requested | pending)
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    app_slug: str | None
    check_suite_id: int | None


@dataclass(frozen=True, slots=True)
class CommitStatusSnapshot:
    """The latest commit status of one context on one commit (GitHub's combined status keeps
    the latest per context). `status_id` is GitHub's id where the source gives it (REST and
    webhooks do; GraphQL's StatusContext has none); GraphQL's `createdAt` is the status's
    `updated_at` too, since a status is never edited, only superseded."""

    repository_id: int
    sha: str
    context: str
    state: str  # error | failure | pending | success
    description: str | None
    target_url: str | None
    created_at: datetime
    updated_at: datetime
    status_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReviewSnapshot:
    """A submitted pull request review (pending reviews are private to their author)."""

    id: int
    repository_id: int
    pr_number: int
    user: str
    state: str  # approved | changes_requested | commented | dismissed (as webhooks spell it)
    submitted_at: datetime | None
    commit_id: str | None


@dataclass(frozen=True, slots=True)
class PullRequestSignal:
    """What prwatch derives or reads about a PR's readiness beside its fields: GraphQL's
    `reviewDecision` (None until read, or when no review is required) and the merge signal
    over its head's check runs and statuses (None when nothing reported)."""

    repository_id: int
    number: int
    review_decision: str | None  # approved | changes_requested | review_required
    merge_signal: str | None  # success | pending | failure


class ChangeKind(StrEnum):
    PR_OPENED = "pr_opened"  # a new PR, seen open
    PR_DISCOVERED = "pr_discovered"  # a PR first seen already closed or merged
    PR_CLOSED = "pr_closed"
    PR_MERGED = "pr_merged"
    PR_REOPENED = "pr_reopened"
    PR_HEAD_CHANGED = "pr_head_changed"
    PR_TITLE_CHANGED = "pr_title_changed"
    PR_DRAFT_CHANGED = "pr_draft_changed"
    PR_LABELS_CHANGED = "pr_labels_changed"
    PR_BASE_CHANGED = "pr_base_changed"
    PR_AUTO_MERGE_CHANGED = "pr_auto_merge_changed"  # turned on (its method) or off (null)
    PR_MERGE_QUEUE_CHANGED = "pr_merge_queue_changed"  # joined (true) or left (false) the queue
    PR_REMOVED = "pr_removed"  # tombstoned with its repository
    CHECK_RUN_CREATED = "check_run_created"
    CHECK_RUN_STATUS_CHANGED = "check_run_status_changed"
    CHECK_RUN_CONCLUDED = "check_run_concluded"
    STATUS_CREATED = "status_created"  # a context seen for the first time on a commit
    STATUS_STATE_CHANGED = "status_state_changed"
    REVIEW_SUBMITTED = "review_submitted"
    REVIEW_DISMISSED = "review_dismissed"
    REVIEW_DECISION_CHANGED = "review_decision_changed"
    MERGE_SIGNAL_CHANGED = "merge_signal_changed"
    REPOSITORY_ADDED = "repository_added"
    REPOSITORY_REMOVED = "repository_removed"
    REPOSITORY_RENAMED = "repository_renamed"
    REPOSITORY_RESTORED = "repository_restored"
    INSTALLATION_ADDED = "installation_added"
    INSTALLATION_REMOVED = "installation_removed"
    INSTALLATION_SUSPENDED = "installation_suspended"
    INSTALLATION_UNSUSPENDED = "installation_unsuspended"


# A changed field's value as it is logged: JSON-encodable.
FieldValue = str | int | bool | list[str] | None


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the append-only change log, before the store gives it a cursor."""

    kind: ChangeKind
    repository_id: int | None
    pr_number: int | None = None
    check_run_id: int | None = None
    field: str | None = None
    old: FieldValue = None
    new: FieldValue = None
    installation_id: int | None = None
    status_context: str | None = None  # a commit status's context, for the status kinds
    review_id: int | None = None  # for the review kinds


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What one apply writes, in one transaction: the rows that are new or newer, and the log."""

    pull_requests: tuple[PullRequestSnapshot, ...] = ()
    check_runs: tuple[CheckRunSnapshot, ...] = ()
    changes: tuple[Change, ...] = ()
    commit_statuses: tuple[CommitStatusSnapshot, ...] = ()
    reviews: tuple[ReviewSnapshot, ...] = ()
    signals: tuple[PullRequestSignal, ...] = ()

    def __bool__(self) -> bool:
        return bool(
            self.pull_requests
            or self.check_runs
            or self.changes
            or self.commit_statuses
            or self.reviews
            or self.signals
        )
