"""Alembic driven in code: upgrade to head (adopting a database from before migrations),
the same as offline SQL, where a database stands, and the history.

Imported only when a database is behind `HEAD` or by `baton db`: alembic's import costs
more than opening the database does.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from baton.errors import StorageError
from baton.store.migrations import BASELINE, HEAD, LOCATION, VERSION_TABLE, adopt

VERSION_LOCATIONS: tuple[Path, ...] = (LOCATION / "versions",)
"""Where revisions are read from (a test adds a directory with a failing one)."""
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('baton:schema', 0))")


@dataclass(frozen=True)
class Status:
    """Where a database stands against this Baton's migrations."""

    revision: str | None
    head: str
    predates_migrations: bool = False
    known: bool = True
    """False for a revision no script here has: a newer release upgraded the database."""

    @property
    def at_head(self) -> bool:
        return self.revision == self.head

    def __str__(self) -> str:
        if self.predates_migrations:
            return (
                f"no revision: made before migrations; `baton db upgrade` adopts it ({self.head})"
            )
        if self.revision is None:
            return f"empty: `baton db upgrade` creates revision {self.head}"
        if self.at_head:
            return f"{self.revision} (head)"
        if not self.known:
            return f"{self.revision}: newer than this Baton (head {self.head}); run a newer one"
        return f"{self.revision}; head is {self.head}: run `baton db upgrade`"


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    doc: str
    head: bool


def config(connection: Connection | None = None, *, dialect: str | None = None) -> Config:
    """Alembic's configuration, in code: `env.py` reads the connection or the dialect."""
    cfg = Config(output_buffer=io.StringIO())

    def option(name: str, value: str) -> None:
        cfg.set_main_option(name, value.replace("%", "%%"))  # configparser interpolates

    option("script_location", str(LOCATION))
    option("path_separator", "os")
    option("version_locations", os.pathsep.join(str(p) for p in VERSION_LOCATIONS))
    option("file_template", "rev_%(rev)s_%(slug)s")
    cfg.attributes.update(connection=connection, dialect=dialect)
    return cfg


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def status(conn: Connection, directory: ScriptDirectory | None = None) -> Status:
    """Read only: the version row, or whether Baton's tables are there without one."""
    revision = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE}
    ).get_current_revision()
    directory = directory or scripts()
    legacy = revision is None and adopt.predates_migrations(conn)
    known = revision is None or revision in {s.revision for s in directory.walk_revisions()}
    return Status(revision, directory.get_current_head() or HEAD, legacy, known)


def upgrade(conn: Connection) -> Status:
    """Bring the database to head inside `conn`'s transaction, which the caller commits.

    On PostgreSQL a transaction-level advisory lock makes a second process wait, then find
    the work done. Any failure leaves it to the caller's rollback: nothing half-migrated.
    Returns where the database stood before.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK)
    directory = scripts()
    before = status(conn, directory)
    _refuse_unknown(before)
    cfg = config(conn)
    try:
        if before.predates_migrations:
            adopt.adopt(conn)
            command.stamp(cfg, BASELINE)
        command.upgrade(cfg, "head")
        _check_foreign_keys(conn)
    except StorageError:
        raise
    except Exception as exc:
        stays = f"at {before.revision}" if before.revision else "as it was"
        detail = exc.orig if isinstance(exc, DBAPIError) else exc
        raise StorageError(
            f"migrating the database to {before.head} failed, so it stays {stays}: {detail}"
        ) from exc
    return before


def _refuse_unknown(before: Status) -> None:
    if not before.known:
        raise StorageError(
            f"the database is at revision {before.revision}, which this Baton does not know"
            f" (head {before.head}): a newer release upgraded it; run that one"
        )


def _check_foreign_keys(conn: Connection) -> None:
    """SQLite migrates with enforcement off (`db.init_schema`): check what it let through."""
    if conn.dialect.name != "sqlite":
        return
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        table, rowid, parent = broken[0][:3]
        raise StorageError(
            f"the migration left {len(broken)} row(s) whose foreign key points nowhere"
            f" (first: {table} row {rowid} -> {parent})"
        )


def upgrade_sql(before: Status, dialect: str) -> str:
    """The SQL `upgrade` would run from `before`, for a DBA to review or apply by hand."""
    if before.at_head:
        return ""
    _refuse_unknown(before)
    cfg = config(dialect=dialect)
    start = before.revision
    if before.predates_migrations:
        command.stamp(cfg, BASELINE, sql=True)
        start = BASELINE
    if start != before.head:
        command.upgrade(cfg, f"{start}:head" if start else "head", sql=True)
    buffer = cfg.output_buffer
    assert isinstance(buffer, io.StringIO)
    return buffer.getvalue()


def history() -> list[Revision]:
    """Every revision, newest first."""
    directory = scripts()
    heads = set(directory.get_heads())
    return [
        Revision(s.revision, _down(s.down_revision), (s.doc or "").strip(), s.revision in heads)
        for s in directory.walk_revisions()
    ]


def _down(value: str | Sequence[str] | None) -> str | None:
    return value if value is None or isinstance(value, str) else ", ".join(value)
