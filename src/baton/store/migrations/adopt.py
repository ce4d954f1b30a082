"""Adopt a database made before Baton had migrations: check it, then stamp it `BASELINE`.

The release before migrations ran `create_all` and the append-only triggers on every open,
so its databases have the baseline's tables but no version row. Stamping one that differs
would let later migrations run against a schema they were not written for: any difference
in the baseline's own tables stops the upgrade instead (other tables, LangGraph's
checkpoints on PostgreSQL for one, are not ours to check).
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from baton.errors import StorageError
from baton.store.migrations import BASELINE, VERSION_TABLE, baseline

_OURS = frozenset(baseline.metadata.tables)


def predates_migrations(conn: Connection) -> bool:
    """Baton's tables without a version table: made by a release before migrations."""
    names = set(inspect(conn).get_table_names())
    return VERSION_TABLE not in names and bool(names & _OURS)


def adopt(conn: Connection) -> None:
    """Make the database exactly the baseline (or refuse); the caller stamps it after."""
    existing = set(inspect(conn).get_table_names())
    missing = [t for t in baseline.metadata.sorted_tables if t.name not in existing]
    # A home older still lacks tables added later: the old release created those on open.
    baseline.metadata.create_all(conn, tables=missing)
    found = differences(conn)
    if found:
        shown = "; ".join(found[:8]) + (f"; and {len(found) - 8} more" if len(found) > 8 else "")
        raise StorageError(
            f"the database predates migrations but is not the schema revision {BASELINE}"
            f" describes ({shown}); fix it by hand, then run `baton db upgrade` again"
        )
    for statement in baseline.append_only_ddl(conn.dialect.name):
        conn.execute(text(statement))


def differences(conn: Connection) -> list[str]:
    """How the baseline's tables in the database differ from `baseline.py`, readably."""
    context = MigrationContext.configure(
        conn, opts={"include_name": _include, "compare_type": True}
    )
    return [_describe(diff) for diff in compare_metadata(context, baseline.metadata)]


def _include(name: str | None, kind: str, parent: Any) -> bool:
    return kind != "table" or name in _OURS


def _describe(diff: Any) -> str:
    """One alembic diff ("add_index", Index), ("remove_column", schema, table, Column), or a
    list of modify_* tuples for one column, as "missing index runs.ix_runs_status"."""
    if isinstance(diff, list):
        return ", ".join(f"{d[2]}.{d[3]}: different {d[0].removeprefix('modify_')}" for d in diff)
    verb, _, kind = diff[0].partition("_")
    subject = diff[-1]
    table = diff[2] if kind == "column" else getattr(getattr(subject, "table", None), "name", "")
    columns = ", ".join(c.name for c in getattr(subject, "columns", ()))
    name = getattr(subject, "name", None) or f"({columns})"
    return (
        f"{_WORDS.get(verb, verb)} {kind} {table}.{name}"
        if table
        else f"{_WORDS.get(verb, verb)} {kind} {name}"
    )


_WORDS = {"add": "missing", "remove": "unexpected"}
