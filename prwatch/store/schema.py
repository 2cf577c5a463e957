"""The database schema: every table prwatch keeps, with an index for every lookup the store makes.

Rows that describe GitHub objects are never deleted: a repository that leaves the installation
and its pull requests are marked (``removed_at``), so the change log always points at something.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from prwatch.store.types import BigIntegerKey, UTCDateTime

# Deterministic constraint names, so that later migrations can address them on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

installations = Table(
    "installations",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # GitHub's id
    Column("account_login", String(255), nullable=False),
    Column("account_type", String(32), nullable=False),
    Column("suspended_at", UTCDateTime, nullable=True),
    Column("removed_at", UTCDateTime, nullable=True),
    Column("removed_reason", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

repositories = Table(
    "repositories",
    metadata,
    # GitHub's id is the identity: full_name changes on rename and transfer.
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("installation_id", BigInteger, ForeignKey("installations.id"), nullable=False),
    Column("full_name", String(255), nullable=False),
    # full_name lowercased: GitHub owner and repository names are case-insensitive, and a plain
    # indexed column is the one case-insensitive lookup that works alike on both dialects.
    Column("full_name_key", String(255), nullable=False),
    Column("private", Boolean, nullable=False),
    Column("removed_at", UTCDateTime, nullable=True),
    Column("removed_reason", String(64), nullable=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_repositories_full_name_key", "full_name_key"),
    Index("ix_repositories_installation_id", "installation_id"),
)

pull_requests = Table(
    "pull_requests",
    metadata,
    Column(
        "repository_id",
        BigInteger,
        ForeignKey("repositories.id"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("github_id", BigInteger, nullable=False),
    Column("node_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("draft", Boolean, nullable=False),
    Column("merged", Boolean, nullable=False),
    Column("merged_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("title", Text, nullable=False),
    Column("author", String(255), nullable=False),
    Column("labels", JSON, nullable=False),  # list of label names, sorted
    Column("head_sha", String(64), nullable=False),
    Column("head_ref", Text, nullable=False),
    Column("base_sha", String(64), nullable=False),
    Column("base_ref", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_synced_at", UTCDateTime, nullable=False),
    Column("last_change_source", String(16), nullable=False),
    Column("removed_at", UTCDateTime, nullable=True),  # tombstone: its repository is gone
    Column("auto_merge_method", String(16), nullable=True),  # null: auto-merge is off
    Column("auto_merge_enabled_by", String(255), nullable=True),
    Column("enqueued_at", UTCDateTime, nullable=True),  # null: not in the merge queue
    Index("ix_pull_requests_repository_id_state", "repository_id", "state"),
    Index("ix_pull_requests_repository_id_head_sha", "repository_id", "head_sha"),
)

check_runs = Table(
    "check_runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # GitHub's id
    Column("repository_id", BigInteger, ForeignKey("repositories.id"), nullable=False),
    Column("head_sha", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("conclusion", String(32), nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("app_slug", String(255), nullable=True),
    Column("check_suite_id", BigInteger, nullable=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_synced_at", UTCDateTime, nullable=False),
    Column("last_change_source", String(16), nullable=False),
    # How a check run finds its pull request, forks included (their check runs carry no PR
    # list): by head SHA within the base repository, without an API call.
    Index("ix_check_runs_repository_id_head_sha", "repository_id", "head_sha"),
)

# The latest commit status per (commit, context), as GitHub's combined status shows it. Keyed by
# commit, not by PR: a status may arrive before any PR has that head (it is attached when one
# does), and a PR's statuses are those of its head commit, forks included.
commit_statuses = Table(
    "commit_statuses",
    metadata,
    Column(
        "repository_id",
        BigInteger,
        ForeignKey("repositories.id"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("sha", String(64), primary_key=True),
    Column("context", Text, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("description", Text, nullable=True),
    Column("target_url", Text, nullable=True),
    Column("status_id", BigInteger, nullable=True),  # GitHub's id, when the source gave it
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_synced_at", UTCDateTime, nullable=False),
    Column("last_change_source", String(16), nullable=False),
)

# Submitted reviews, by GitHub's id; the read API shows the latest per reviewer.
pull_request_reviews = Table(
    "pull_request_reviews",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("repository_id", BigInteger, ForeignKey("repositories.id"), nullable=False),
    Column("pr_number", Integer, nullable=False),
    Column("user", String(255), nullable=False),
    Column("state", String(32), nullable=False),
    Column("submitted_at", UTCDateTime, nullable=True),
    Column("commit_id", String(64), nullable=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_synced_at", UTCDateTime, nullable=False),
    Column("last_change_source", String(16), nullable=False),
    Index("ix_pull_request_reviews_repository_id_pr_number", "repository_id", "pr_number"),
)

# Per PR: GraphQL's reviewDecision as last read, and the merge signal last derived, so that a
# change of either is logged once.
pull_request_signals = Table(
    "pull_request_signals",
    metadata,
    Column(
        "repository_id",
        BigInteger,
        ForeignKey("repositories.id"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("review_decision", String(32), nullable=True),
    Column("merge_signal", String(16), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

changes = Table(
    "changes",
    metadata,
    # The cursor readers page by: assigned in commit order (see the store's change log lock).
    Column("id", BigIntegerKey, Identity(), primary_key=True),
    Column("kind", String(48), nullable=False),
    Column("installation_id", BigInteger, ForeignKey("installations.id"), nullable=True),
    Column("repository_id", BigInteger, ForeignKey("repositories.id"), nullable=True),
    Column("pr_number", Integer, nullable=True),
    Column("check_run_id", BigInteger, nullable=True),
    Column("status_context", Text, nullable=True),  # a commit status's context
    Column("review_id", BigInteger, nullable=True),
    Column("field", String(64), nullable=True),
    Column("old_value", Text, nullable=True),  # JSON text; NULL for none
    Column("new_value", Text, nullable=True),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("source", String(16), nullable=False),
    Column("delivery_id", String(64), nullable=True),
    Index("ix_changes_repository_id_pr_number_id", "repository_id", "pr_number", "id"),
    sqlite_autoincrement=True,  # never reuse a cursor value
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("guid", String(64), primary_key=True),  # X-GitHub-Delivery, the same on redelivery
    Column("event", String(64), nullable=False),
    Column("action", String(64), nullable=True),
    Column("installation_id", BigInteger, nullable=True),
    Column("repository_id", BigInteger, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("payload", LargeBinary, nullable=False),  # the raw body as received, for replay
    Index("ix_webhook_deliveries_status_received_at", "status", "received_at"),
)

http_etags = Table(
    "http_etags",
    metadata,
    Column("key", Text, primary_key=True),
    Column("etag", Text, nullable=False),
    # GitHub's ETags are specific to the token; a sha256 prefix says which token, never the token.
    Column("token_fingerprint", String(64), nullable=False),
    Column("stored_at", UTCDateTime, nullable=False),
)

repository_sync_state = Table(
    "repository_sync_state",
    metadata,
    Column(
        "repository_id",
        BigInteger,
        ForeignKey("repositories.id"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("pulls_watermark", UTCDateTime, nullable=True),  # the newest updated_at listed
    Column("last_full_listing_at", UTCDateTime, nullable=True),
    Column("last_swept_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("consecutive_failures", Integer, nullable=False),
)

sweeps = Table(
    "sweeps",
    metadata,
    Column("id", BigIntegerKey, Identity(), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("status", String(16), nullable=False),
    Column("repositories_total", Integer, nullable=False),
    Column("repositories_ok", Integer, nullable=False),
    Column("repositories_failed", Integer, nullable=False),
    Column("prs_seen", Integer, nullable=False),
    Column("changes_by_kind", JSON, nullable=False),
    Column("requests_by_outcome", JSON, nullable=False),
    Column("points_spent_core", Integer, nullable=False),
    Column("points_spent_graphql", Integer, nullable=False),
    Column("rate_limit_remaining", Integer, nullable=True),
    Column("duration_seconds", Float, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_sweeps_started_at", "started_at"),
    sqlite_autoincrement=True,
)

# Small named values the application keeps between runs (for example the delivery ledger's
# last check time and cursor).
app_state = Table(
    "app_state",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("value", JSON, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The repositories a distributed sweep planned, one row each: the worker that sweeps one records
# its outcome here, and whoever records the last one finishes the sweep from these rows.
sweep_repositories = Table(
    "sweep_repositories",
    metadata,
    Column("sweep_id", BigInteger, ForeignKey("sweeps.id"), primary_key=True, autoincrement=False),
    Column(
        "repository_id",
        BigInteger,
        ForeignKey("repositories.id"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("status", String(16), nullable=False),  # planned | ok | failed
    Column("prs_seen", Integer, nullable=False),
    Column("changes", JSON, nullable=False),  # change kind → count
    Column("requests_by_outcome", JSON, nullable=False),  # HTTP status (or error) → count
    Column("points_spent_core", Integer, nullable=False),
    Column("points_spent_graphql", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("planned_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_sweep_repositories_status_planned_at", "status", "planned_at"),
)

# API tokens for tools: only a hash of each token is kept (the token is shown once, at creation).
# A NULL scope sees every installation; else a JSON list of installation ids.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigIntegerKey, Identity(), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256, hex
    Column("installation_ids", JSON, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
)

# Signed-in people (Sign in with GitHub). The cookie carries a random session id; only its hash
# is kept, with the server-side expiry, the user's GitHub token (encrypted) and what GitHub last
# said the user may see through the App's installations.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),  # SHA-256 of the session id, hex
    Column("user_id", BigInteger, nullable=False),
    Column("user_login", String(255), nullable=False),
    Column("github_token", LargeBinary, nullable=False),  # Fernet ciphertext
    Column("installation_ids", JSON, nullable=False),
    Column("repository_ids", JSON, nullable=False),
    Column("visibility_checked_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_web_sessions_expires_at", "expires_at"),
)

# OAuth `state` values handed out by /login, each usable once before it expires.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),  # SHA-256 of the state, hex
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_oauth_states_expires_at", "expires_at"),
)
