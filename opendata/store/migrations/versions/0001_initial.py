"""The catalog (datasets, versions, runs) and the scenario job queue as version 0.1.0 made them.

A database created before migrations existed already has some of these tables: they are
adopted as they are (created only when missing), which stamps an old catalog at this revision.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def _catalog() -> None:
    if _missing("datasets"):
        op.create_table(
            "datasets",
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("spec", sa.Text, nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("current_version", sa.Integer, nullable=True),
            sa.Column("created_at", sa.String(32), nullable=False),
            sa.Column("updated_at", sa.String(32), nullable=False),
        )
    if _missing("versions"):
        op.create_table(
            "versions",
            sa.Column("dataset", sa.String(64), sa.ForeignKey("datasets.name"), primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("content_hash", sa.String(64), nullable=False),
            sa.Column("path", sa.Text, nullable=False),
            sa.Column("rows", sa.Integer, nullable=False),
            sa.Column("bbox", sa.Text, nullable=True),
            sa.Column("source_crs", sa.String(32), nullable=True),
            sa.Column("columns", sa.Text, nullable=False),
            sa.Column("report", sa.Text, nullable=False),
            sa.Column("provenance", sa.Text, nullable=False),
            sa.Column("size_bytes", sa.Integer, nullable=False),
            sa.Column("created_at", sa.String(32), nullable=False),
        )
    if _missing("runs"):
        op.create_table(
            "runs",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("dataset", sa.String(64), nullable=False),
            sa.Column("started_at", sa.String(32), nullable=False),
            sa.Column("finished_at", sa.String(32), nullable=True),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("version", sa.Integer, nullable=True),
            sa.Column("message", sa.Text, nullable=True),
            sa.Column("report_dir", sa.Text, nullable=True),
        )
        op.create_index("ix_runs_dataset", "runs", ["dataset"])


def _jobs() -> None:
    if not _missing("scenario_jobs"):
        return
    op.create_table(
        "scenario_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("spec_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("submitted_at", sa.String(32), nullable=False),
        sa.Column("started_at", sa.String(32)),
        sa.Column("finished_at", sa.String(32)),
        sa.Column("progress", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("summary", sa.Text),
        sa.Column("versions", sa.Text),
        sa.Column("maps", sa.Text),
        sa.Column("worker", sa.String(200)),
        sa.Column("heartbeat", sa.Float),
        sa.Column("attempts", sa.Integer, nullable=False),
    )
    for column in ("status", "client", "submitted_at"):
        op.create_index(f"ix_scenario_jobs_{column}", "scenario_jobs", [column])


def upgrade() -> None:
    _catalog()
    _jobs()


def downgrade() -> None:
    for table in ("scenario_jobs", "runs", "versions", "datasets"):
        op.drop_table(table)
