"""Reviews, the per-PR signals (review decision, merge signal), and the review id in the
change log.

Revision ID: 0006_reviews_and_signals
Revises: 0005_access_control
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_reviews_and_signals"
down_revision: str | None = "0005_access_control"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pull_request_reviews",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("repository_id", sa.BigInteger(), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("submitted_at", TIMESTAMP, nullable=True),
        sa.Column("commit_id", sa.String(length=64), nullable=True),
        sa.Column("first_seen_at", TIMESTAMP, nullable=False),
        sa.Column("last_synced_at", TIMESTAMP, nullable=False),
        sa.Column("last_change_source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_pull_request_reviews_repository_id_repositories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_request_reviews")),
    )
    op.create_index(
        "ix_pull_request_reviews_repository_id_pr_number",
        "pull_request_reviews",
        ["repository_id", "pr_number"],
        unique=False,
    )
    op.create_table(
        "pull_request_signals",
        sa.Column("repository_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("review_decision", sa.String(length=32), nullable=True),
        sa.Column("merge_signal", sa.String(length=16), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_pull_request_signals_repository_id_repositories"),
        ),
        sa.PrimaryKeyConstraint("repository_id", "number", name=op.f("pk_pull_request_signals")),
    )
    op.add_column("changes", sa.Column("review_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.drop_column("review_id")
    op.drop_table("pull_request_signals")
    op.drop_index(
        "ix_pull_request_reviews_repository_id_pr_number", table_name="pull_request_reviews"
    )
    op.drop_table("pull_request_reviews")
