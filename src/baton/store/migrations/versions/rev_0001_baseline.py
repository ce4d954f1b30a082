"""Baseline: the tables `create_all` made before migrations, and the audit triggers.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

from baton.store.migrations import baseline

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    migration = op.get_context()
    for table in baseline.metadata.sorted_tables:
        migration.impl.create_table(table)  # with its indexes; online and offline (--sql)
    for statement in baseline.append_only_ddl(migration.dialect.name):
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the baseline holds the audit trail: no migration drops it")
