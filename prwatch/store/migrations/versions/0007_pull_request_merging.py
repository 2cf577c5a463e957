"""Auto-merge and merge-queue state on pull requests.

Revision ID: 0007_pull_request_merging
Revises: 0006_reviews_and_signals
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_pull_request_merging"
down_revision: str | None = "0006_reviews_and_signals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pull_requests", sa.Column("auto_merge_method", sa.String(16), nullable=True))
    op.add_column(
        "pull_requests", sa.Column("auto_merge_enabled_by", sa.String(255), nullable=True)
    )
    op.add_column(
        "pull_requests", sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("pull_requests") as batch:
        batch.drop_column("enqueued_at")
        batch.drop_column("auto_merge_enabled_by")
        batch.drop_column("auto_merge_method")
