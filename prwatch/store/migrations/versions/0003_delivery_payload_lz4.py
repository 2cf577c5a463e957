"""Delivery payloads compressed with lz4 on PostgreSQL.

A webhook body (~25 KB of JSON) goes to TOAST compressed, by default with pglz: measured here,
a 200-delivery INSERT spent ~1.4 ms of server CPU per row on pglz, which capped one receiver
near 700 deliveries/s; with lz4 the same INSERT took a third of the time. Rows stored before
keep their pglz compression (both read alike). A server built without lz4, or older than
PostgreSQL 14, keeps pglz. SQLite stores the payload as it is: nothing to do there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SET = """
DO $$
BEGIN
    ALTER TABLE webhook_deliveries ALTER COLUMN payload SET COMPRESSION {method};
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SET.format(method="lz4"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SET.format(method="pglz"))
