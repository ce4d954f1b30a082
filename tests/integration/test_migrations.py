"""Schema migrations on both dialects: a home from the release before migrations is adopted
with its rows and audit chain intact, `upgrade head` makes exactly what `create_all` made,
the audit tables stay append-only, and a migration that fails leaves the previous version."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from baton.errors import StorageError
from baton.evidence import checkpoints
from baton.evidence.keys import init_keys
from baton.settings import Settings
from baton.store import audit, migrations
from baton.store.db import Database, create_db_engine, ensure_home, open_database
from baton.store.migrations import apply, baseline
from baton.store.migrations.versions import rev_0003_audit_append, rev_0005_action_steps
from baton.store.models import Base
from tests.integration import postgres

pytestmark = pytest.mark.integration

_PG = pytest.param("postgresql", marks=postgres.needed)
T0 = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture(params=["sqlite", _PG])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    ensure_home(home)
    if request.param == "sqlite":
        return Settings(home=home)
    return Settings(home=home, database_url=request.getfixturevalue("pg").database())


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.resolved_database_url)
    yield engine
    engine.dispose()


def versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def columns(engine: Engine, table: str) -> dict[str, str]:
    return {c["name"]: str(c["type"]) for c in inspect(engine).get_columns(table)}


def previous_release(engine: Engine) -> None:
    """What opening a home did before migrations: `create_all` with the models as of the
    baseline, then the append-only triggers."""
    baseline.metadata.create_all(engine)
    with engine.begin() as conn:
        for statement in baseline.append_only_ddl(engine.dialect.name):
            conn.execute(text(statement))


def add_rows(engine: Engine, n_events: int = 5) -> None:
    """An incident, a run with a task and a pending item, and audit events (one large
    enough to go to audit_blobs), written as that release wrote them."""
    t = baseline.metadata.tables
    with engine.begin() as conn:
        conn.execute(
            t["incidents"].insert(),
            {"id": "INC-1", "title": "5xx", "severity": "high", "body": {}, "created_at": T0},
        )
        conn.execute(
            t["runbook_versions"].insert(),
            {
                "version": "sha256:v1",
                "runbook_id": "rb",
                "title": "RB",
                "canonical": "{}",
                "created_at": T0,
            },
        )
        conn.execute(
            t["runs"].insert(),
            {
                "id": "run_1",
                "runbook_id": "rb",
                "runbook_version": "sha256:v1",
                "incident_id": "INC-1",
                "status": "waiting",
                "requested_by": "human:alice",
                "inputs": {"a": 1},
                "created_at": T0,
                "updated_at": T0,
            },
        )
        conn.execute(
            t["task_executions"].insert(),
            {
                "run_id": "run_1",
                "task_id": "gate",
                "task_type": "approval",
                "status": "waiting",
                "attempt": 1,
                "updated_at": T0,
            },
        )
    db = Database(engine)
    for i in range(n_events):
        with db.write() as session:
            audit.append(
                session,
                actor="human:alice",
                kind="task",
                status="succeeded",
                payload={"n": i, "big": "x" * (i * 3000)},
                run="run_1",
                task=f"t{i}",
            )


def assert_append_only(engine: Engine) -> None:
    """UPDATE and DELETE refused (SQLite's triggers fire per row: there is one at least)."""
    with Database(engine).write() as session:
        audit.append(session, actor="system", kind="probe")
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="audit_events is append-only"), engine.begin() as c:
            c.execute(text(statement))


def test_a_home_from_the_release_before_migrations_is_adopted(
    settings: Settings, engine: Engine
) -> None:
    previous_release(engine)
    add_rows(engine)
    signer = init_keys(settings.signing_key_path)
    signed = checkpoints.sign_now(Database(engine), signer)
    assert "alembic_version" not in tables(engine)

    db = open_database(settings)
    try:
        assert versions(db.engine) == [migrations.HEAD]
        with db.read() as session:
            report = checkpoints.check(session, signer.public)
            runs = baseline.metadata.tables["runs"]
            run = session.execute(runs.select().with_only_columns(runs.c.status, runs.c.inputs))
            run = run.one()
        assert report.ok, str(report)
        assert report.chain.events == 5 and report.checkpoint == signed
        assert tuple(run) == ("waiting", {"a": 1})
        assert_append_only(db.engine)
    finally:
        db.close()
    with engine.connect() as conn:  # opened again: at head, nothing more to do
        assert apply.status(conn).at_head


def test_an_older_home_gets_the_tables_it_lacks(settings: Settings, engine: Engine) -> None:
    previous_release(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE heartbeats")  # as a home from before /readyz
    open_database(settings).close()
    assert "heartbeats" in tables(engine)
    assert versions(engine) == [migrations.HEAD]


def test_a_home_unlike_the_baseline_is_refused_and_left_alone(
    settings: Settings, engine: Engine
) -> None:
    previous_release(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_runs_status")
        conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN extra INTEGER")
    with pytest.raises(StorageError) as caught:
        open_database(settings)
    assert "missing index runs.ix_runs_status" in caught.value.message
    assert "unexpected column runs.extra" in caught.value.message
    assert "alembic_version" not in tables(engine)


def test_upgrade_head_makes_what_create_all_made(
    settings: Settings, engine: Engine, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    open_database(settings).close()
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_name": lambda name, kind, _: kind != "table" or name != "alembic_version",
            },
        )
        assert compare_metadata(context, Base.metadata) == []
    # And object for object, triggers included, against the release before migrations.
    pg = request.getfixturevalue("pg") if settings.on_postgres else None
    other = create_db_engine(another_database(settings, tmp_path, pg))
    try:
        Base.metadata.create_all(other)
        with other.begin() as conn:
            for statement in baseline.append_only_ddl(other.dialect.name):
                conn.execute(text(statement))
            if other.dialect.name == "postgresql":
                conn.exec_driver_sql(rev_0003_audit_append.FUNCTION)
                for function in rev_0005_action_steps.FUNCTIONS:
                    conn.execute(text(function))  # as alembic's op.execute does
        assert schema(engine) == schema(other)
    finally:
        other.dispose()
    assert_append_only(engine)


def another_database(settings: Settings, tmp_path: Path, pg: Any) -> str:
    if not settings.on_postgres:
        return f"sqlite:///{tmp_path / 'created_all.sqlite'}"
    return str(pg.database())


def schema(engine: Engine) -> dict[str, Any]:
    """Every table, column, key, index and trigger, as the database describes them."""
    found: dict[str, Any] = {}
    inspector = inspect(engine)
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        found[table] = (
            [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            inspector.get_pk_constraint(table),
            sorted(str(fk) for fk in inspector.get_foreign_keys(table)),
            sorted(str(ix) for ix in inspector.get_indexes(table)),
            sorted(str(uq) for uq in inspector.get_unique_constraints(table)),
        )
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT type, name, sql FROM sqlite_master WHERE name != 'alembic_version'"
                " AND name NOT LIKE 'sqlite_autoindex_alembic%' ORDER BY name"
            )
        else:
            rows = conn.execute(
                text(
                    "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"
                    " UNION ALL SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'baton%'"
                    " ORDER BY 1"
                )
            )
        # A table's text differs once a migration altered it (SQLite keeps the ALTER's
        # wording); its columns and keys are compared above, through the inspector.
        found["objects"] = [(r[0], r[1], None) if r[0] == "table" else tuple(r) for r in rows]
    return found


REAL_HEAD = migrations.HEAD
FAILS = {
    "python": 'raise RuntimeError("the disk caught fire halfway through t002")',
    "sql": 'op.execute("ALTER TABLE no_such_table ADD COLUMN x INTEGER")',
}


def later_revisions(where: Path, failure: str | None = None) -> Path:
    """t001 (after the real head) changes a column of `runs`, which other tables refer to (on
    SQLite that rebuilds the table); t002, if asked for, does some DDL and a write, then
    fails."""
    where.mkdir()
    (where / "rev_t001_note.py").write_text(
        textwrap.dedent(
            """
            import sqlalchemy as sa
            from alembic import op

            revision, down_revision, branch_labels, depends_on = "t001", "{head}", None, None

            def upgrade():
                op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))
                with op.batch_alter_table("runs") as batch:
                    batch.alter_column(
                        "cancel_requested_by", type_=sa.String(160), existing_type=sa.String(128)
                    )
                    batch.add_column(sa.Column("note", sa.Text))
            """
        ).replace("{head}", REAL_HEAD)
    )
    if failure:
        (where / "rev_t002_half.py").write_text(
            textwrap.dedent(
                """
                import sqlalchemy as sa
                from alembic import op

                revision, down_revision, branch_labels, depends_on = "t002", "t001", None, None

                def upgrade():
                    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
                    op.add_column("incidents", sa.Column("half", sa.Text))
                    op.execute("INSERT INTO half_done (id) VALUES (1)")
                    {failure}
                """
            ).format(failure=FAILS[failure])
        )
    return where


@pytest.fixture
def at_baseline_with_rows(settings: Settings, engine: Engine) -> Engine:
    open_database(settings).close()
    add_rows(engine, n_events=3)
    return engine


@pytest.mark.parametrize("failure", sorted(FAILS))
def test_a_failing_migration_leaves_the_previous_version(
    settings: Settings,
    at_baseline_with_rows: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
) -> None:
    engine = at_baseline_with_rows
    before = schema(engine)
    extra = later_revisions(tmp_path / "versions", failure)
    monkeypatch.setattr(apply, "VERSION_LOCATIONS", (*apply.VERSION_LOCATIONS, extra))
    monkeypatch.setattr(migrations, "HEAD", "t002")
    with pytest.raises(StorageError, match=f"stays at {REAL_HEAD}"):
        open_database(settings)
    assert versions(engine) == [REAL_HEAD]
    assert schema(engine) == before  # not t001's table or column, not half of t002
    db = Database(engine)
    with db.read() as session:
        assert audit.verify(session).ok
    assert_append_only(engine)


def test_a_later_revision_rebuilds_a_referenced_table_and_keeps_its_rows(
    settings: Settings,
    at_baseline_with_rows: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = at_baseline_with_rows
    extra = later_revisions(tmp_path / "versions")
    monkeypatch.setattr(apply, "VERSION_LOCATIONS", (*apply.VERSION_LOCATIONS, extra))
    monkeypatch.setattr(migrations, "HEAD", "t001")
    open_database(settings).close()
    assert versions(engine) == ["t001"]
    assert columns(engine, "runs")["cancel_requested_by"] == "VARCHAR(160)"
    assert "notes" in tables(engine) and "note" in columns(engine, "runs")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT id FROM runs").all() == [("run_1",)]
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    assert_append_only(engine)


def test_processes_starting_at_once_migrate_once(settings: Settings, engine: Engine) -> None:
    start = threading.Barrier(6)
    failures: list[BaseException] = []

    def open_one() -> None:
        start.wait()
        try:
            open_database(settings).close()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert versions(engine) == [migrations.HEAD]
