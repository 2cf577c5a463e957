"""Sweep repositories: the per-repository plan and outcome of a distributed sweep.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sweep_repositories",
        sa.Column("sweep_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("repository_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("prs_seen", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("requests_by_outcome", sa.JSON(), nullable=False),
        sa.Column("points_spent_core", sa.Integer(), nullable=False),
        sa.Column("points_spent_graphql", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("planned_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["sweep_id"], ["sweeps.id"], name=op.f("fk_sweep_repositories_sweep_id_sweeps")
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_sweep_repositories_repository_id_repositories"),
        ),
        sa.PrimaryKeyConstraint("sweep_id", "repository_id", name=op.f("pk_sweep_repositories")),
    )
    op.create_index(
        "ix_sweep_repositories_status_planned_at",
        "sweep_repositories",
        ["status", "planned_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_sweep_repositories_status_planned_at", table_name="sweep_repositories")
    op.drop_table("sweep_repositories")
