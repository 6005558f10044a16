"""Accounts (`users`, and `credentials`: hashed API tokens and browser sessions) and private
drafts of scenario runs (`scenario_jobs.owner`, `visibility`, `changed_at`).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: Columns of `scenario_jobs` this revision adds (all nullable: older jobs have none).
JOB_COLUMNS = (
    ("owner", sa.String(64)),  # the user who submitted it (None: a job from before accounts)
    ("visibility", sa.String(10)),  # draft | published | withdrawn
    ("changed_at", sa.String(32)),  # when it was last published or withdrawn
)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.String(32), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "credentials",
        sa.Column("secret_hash", sa.String(64), primary_key=True),
        sa.Column("user", sa.String(64), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=True),
    )
    op.create_index("ix_credentials_user", "credentials", ["user"])
    with op.batch_alter_table("scenario_jobs") as batch:
        for name, type_ in JOB_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.create_index("ix_scenario_jobs_owner", "scenario_jobs", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_scenario_jobs_owner", "scenario_jobs")
    with op.batch_alter_table("scenario_jobs") as batch:
        for name, _ in JOB_COLUMNS:
            batch.drop_column(name)
    op.drop_index("ix_credentials_user", "credentials")
    op.drop_table("credentials")
    op.drop_table("users")
