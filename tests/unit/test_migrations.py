"""The migration scripts themselves, without a database: the head the fast path trusts,
the baseline against the models, and the SQL `baton db upgrade --sql` prints."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable, MetaData

from baton.store import migrations
from baton.store.migrations import apply
from baton.store.models import Base

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}
APPEND_ONLY = {
    "sqlite": "BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append",
    "postgresql": "BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events FOR EACH STATEMENT",
}


def test_head_is_the_script_directorys_head() -> None:
    directory = apply.scripts()
    assert directory.get_heads() == [migrations.HEAD]  # one line of history, and `HEAD` names it
    assert directory.get_base() == migrations.BASELINE


def ddl(metadata: MetaData, dialect: Dialect) -> list[str]:
    statements = []
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        indexes = table.indexes
        statements += sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in indexes)
    return statements


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_offline_sql_creates_everything_in_one_transaction(dialect: str) -> None:
    sql = apply.upgrade_sql(apply.Status(None, migrations.HEAD), dialect)
    assert sql.lstrip().startswith("BEGIN;") and sql.rstrip().endswith("COMMIT;")
    assert sql.count("BEGIN;") == 1
    for table in Base.metadata.tables:
        assert f"CREATE TABLE {table} (" in sql
    assert "CREATE INDEX ix_audit_run ON audit_events (run_id, seq);" in sql
    assert APPEND_ONLY[dialect] in sql
    assert "%%" not in sql
    assert f"version_num='{migrations.HEAD}'" in sql or (
        f"INSERT INTO alembic_version (version_num) VALUES ('{migrations.HEAD}')" in sql
    )


def test_offline_sql_for_a_database_before_migrations_only_stamps_it() -> None:
    before = apply.Status(None, migrations.HEAD, predates_migrations=True)
    sql = apply.upgrade_sql(before, "postgresql")
    assert "CREATE TABLE alembic_version" in sql and "CREATE TABLE runs" not in sql
    assert apply.upgrade_sql(apply.Status(migrations.HEAD, migrations.HEAD), "sqlite") == ""


def test_history_names_every_revision() -> None:
    revisions = apply.history()
    assert revisions[0].revision == migrations.HEAD and revisions[0].head
    assert revisions[-1].revision == migrations.BASELINE and revisions[-1].down_revision is None
    assert all(r.doc for r in revisions)


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (apply.Status(None, "0001"), "empty"),
        (apply.Status(None, "0001", predates_migrations=True), "made before migrations"),
        (apply.Status("0001", "0001"), "0001 (head)"),
        (apply.Status("0001", "0002"), "run `baton db upgrade`"),
        (apply.Status("0009", "0002", known=False), "newer than this Baton"),
    ],
)
def test_status_says_what_to_do(status: apply.Status, says: str) -> None:
    assert says in str(status)
