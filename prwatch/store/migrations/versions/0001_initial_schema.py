"""Initial schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Every table of prwatch: installations, repositories, pull requests, check runs, the change
log, webhook deliveries, HTTP ETags, per-repository sync state, sweeps and app state.
Column types are plain SQLAlchemy types (not the application's), so this file never changes
when the application does; timestamps are timezone-aware on PostgreSQL and fixed-width UTC
text on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
# 64-bit identity on PostgreSQL; SQLite only auto-assigns keys to INTEGER PRIMARY KEY columns.
BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "app_state",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_state")),
    )
    op.create_table(
        "http_etags",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=False),
        sa.Column("token_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("stored_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_http_etags")),
    )
    op.create_table(
        "installations",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account_login", sa.String(length=255), nullable=False),
        sa.Column("account_type", sa.String(length=32), nullable=False),
        sa.Column("suspended_at", TIMESTAMP, nullable=True),
        sa.Column("removed_at", TIMESTAMP, nullable=True),
        sa.Column("removed_reason", sa.String(length=64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installations")),
    )
    op.create_table(
        "sweeps",
        sa.Column("id", BIG_KEY, sa.Identity(always=False), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("repositories_total", sa.Integer(), nullable=False),
        sa.Column("repositories_ok", sa.Integer(), nullable=False),
        sa.Column("repositories_failed", sa.Integer(), nullable=False),
        sa.Column("prs_seen", sa.Integer(), nullable=False),
        sa.Column("changes_by_kind", sa.JSON(), nullable=False),
        sa.Column("requests_by_outcome", sa.JSON(), nullable=False),
        sa.Column("points_spent_core", sa.Integer(), nullable=False),
        sa.Column("points_spent_graphql", sa.Integer(), nullable=False),
        sa.Column("rate_limit_remaining", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweeps")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sweeps_started_at", "sweeps", ["started_at"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("guid", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("repository_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_at", TIMESTAMP, nullable=True),
        sa.Column("processed_at", TIMESTAMP, nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("guid", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_status_received_at",
        "webhook_deliveries",
        ["status", "received_at"],
        unique=False,
    )

    op.create_table(
        "repositories",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=False),
        sa.Column("full_name_key", sa.String(length=255), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("removed_at", TIMESTAMP, nullable=True),
        sa.Column("removed_reason", sa.String(length=64), nullable=True),
        sa.Column("first_seen_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_repositories_installation_id_installations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repositories")),
    )
    op.create_index(
        "ix_repositories_full_name_key", "repositories", ["full_name_key"], unique=False
    )
    op.create_index(
        "ix_repositories_installation_id", "repositories", ["installation_id"], unique=False
    )

    op.create_table(
        "changes",
        sa.Column("id", BIG_KEY, sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("repository_id", sa.BigInteger(), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("check_run_id", sa.BigInteger(), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("detected_at", TIMESTAMP, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_changes_installation_id_installations"),
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_changes_repository_id_repositories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_changes_repository_id_pr_number_id",
        "changes",
        ["repository_id", "pr_number", "id"],
        unique=False,
    )

    op.create_table(
        "check_runs",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("conclusion", sa.String(length=32), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
        sa.Column("app_slug", sa.String(length=255), nullable=True),
        sa.Column("check_suite_id", sa.BigInteger(), nullable=True),
        sa.Column("first_seen_at", TIMESTAMP, nullable=False),
        sa.Column("last_synced_at", TIMESTAMP, nullable=False),
        sa.Column("last_change_source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_check_runs_repository_id_repositories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_runs")),
    )
    op.create_index(
        "ix_check_runs_repository_id_head_sha",
        "check_runs",
        ["repository_id", "head_sha"],
        unique=False,
    )

    op.create_table(
        "pull_requests",
        sa.Column("repository_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("github_id", sa.BigInteger(), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("merged", sa.Boolean(), nullable=False),
        sa.Column("merged_at", TIMESTAMP, nullable=True),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("head_ref", sa.Text(), nullable=False),
        sa.Column("base_sha", sa.String(length=64), nullable=False),
        sa.Column("base_ref", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("first_seen_at", TIMESTAMP, nullable=False),
        sa.Column("last_synced_at", TIMESTAMP, nullable=False),
        sa.Column("last_change_source", sa.String(length=16), nullable=False),
        sa.Column("removed_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_pull_requests_repository_id_repositories"),
        ),
        sa.PrimaryKeyConstraint("repository_id", "number", name=op.f("pk_pull_requests")),
    )
    op.create_index(
        "ix_pull_requests_repository_id_head_sha",
        "pull_requests",
        ["repository_id", "head_sha"],
        unique=False,
    )
    op.create_index(
        "ix_pull_requests_repository_id_state",
        "pull_requests",
        ["repository_id", "state"],
        unique=False,
    )

    op.create_table(
        "repository_sync_state",
        sa.Column("repository_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pulls_watermark", TIMESTAMP, nullable=True),
        sa.Column("last_full_listing_at", TIMESTAMP, nullable=True),
        sa.Column("last_swept_at", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_repository_sync_state_repository_id_repositories"),
        ),
        sa.PrimaryKeyConstraint("repository_id", name=op.f("pk_repository_sync_state")),
    )


def downgrade() -> None:
    op.drop_table("repository_sync_state")
    op.drop_index("ix_pull_requests_repository_id_state", table_name="pull_requests")
    op.drop_index("ix_pull_requests_repository_id_head_sha", table_name="pull_requests")

    op.drop_table("pull_requests")
    op.drop_index("ix_check_runs_repository_id_head_sha", table_name="check_runs")

    op.drop_table("check_runs")
    op.drop_index("ix_changes_repository_id_pr_number_id", table_name="changes")

    op.drop_table("changes")
    op.drop_index("ix_repositories_installation_id", table_name="repositories")
    op.drop_index("ix_repositories_full_name_key", table_name="repositories")

    op.drop_table("repositories")
    op.drop_index("ix_webhook_deliveries_status_received_at", table_name="webhook_deliveries")

    op.drop_table("webhook_deliveries")
    op.drop_index("ix_sweeps_started_at", table_name="sweeps")

    op.drop_table("sweeps")
    op.drop_table("installations")
    op.drop_table("http_etags")
    op.drop_table("app_state")
