"""File sizes as 64-bit integers (a PostgreSQL INTEGER stops at 2 GiB) and an index that lets
workers claim the oldest queued job without scanning the queue.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _widen(type_: type[sa.types.TypeEngine]) -> None:
    # SQLite stores every INTEGER in up to 8 bytes already: nothing to rebuild there.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("versions", "size_bytes", type_=type_, existing_nullable=False)


def upgrade() -> None:
    _widen(sa.BigInteger)
    op.create_index("ix_scenario_jobs_claim", "scenario_jobs", ["status", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_scenario_jobs_claim", "scenario_jobs")
    _widen(sa.Integer)
