"""When a run parked on a timer is next due: `runs.wake_at`, indexed, so the sweep finds
the runs to wake by an index scan instead of reading every parked run's graph state.

A hint, not the truth: the graph state still holds each parked task's due time, and the
sweep checks it before it trusts a due `wake_at` (`store.timers`, `Runner.timers`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("wake_at", sa.DateTime(), nullable=True))
    op.create_index("ix_runs_wake_at", "runs", ["wake_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_wake_at", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("wake_at")
