"""Literal SQL for the per-task hot path, with SQLAlchemy's own value conversions.

Every action writes an intent, a result and two task transitions. Through the ORM unit of
work that cost ~8 ms per task, through prebuilt Core statements ~3 ms (bench/engine.py);
`exec_driver_sql` with these statements costs ~0.03 ms each. Values are converted with the
bind and result processors SQLAlchemy itself uses for the column types, so rows written
here read back through the ORM exactly as if the ORM had written them. On SQLite, times and
JSON documents are written as that same text, built directly (`sqlite_time`, `jsontext`;
tested equal): SQLAlchemy's processors cost more than the statements that use them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import JSON, Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from baton.store import jsontext
from baton.store.models import UTCDateTime

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


class Raw:
    """A sqlite3 connection lent to one hot-path transaction (`Database.begin`) or scan."""

    def __init__(self, dbapi: Any, dialect: Dialect) -> None:
        self.dbapi = dbapi
        self.dialect = dialect
        self.audit_head: tuple[int, str] | None = None
        """The audit chain's head as this connection last appended it (None: unknown).
        Another connection may have appended since: the next append finds its sequence
        number taken and reads the head (`audit._link`), so the head is never read first."""
        self.stamp: Stamp | None = None
        """The time of the current transaction's rows (see `stamp`); reset at BEGIN."""


class PgRaw(Raw):
    """A psycopg connection (autocommit, pipeline mode) lent to one hot-path transaction on
    PostgreSQL (`Database.begin`), which sends its own BEGIN and COMMIT.

    A statement whose result nobody reads (`send`) is not waited for: its outcome comes
    back with the next round trip, that of a statement that is read (`execute`) or of the
    COMMIT. An action's transaction is three round trips instead of nine (ADR 0004).

    Until the first round trip came back, what was sent is kept, so a connection the server
    dropped while it sat in the pool is replaced and the transaction sent again
    (`Database.begin`): nothing of it can have been committed (COMMIT is never in that
    round trip), and no ping before every transaction is needed.
    """

    def __init__(self, dbapi: Any, dialect: Dialect, pipeline: Any) -> None:
        super().__init__(dbapi, dialect)
        self.pipeline = pipeline
        self.sent: list[tuple[str, Any, bool]] | None = []
        """What was sent since BEGIN, until the first round trip came back (then None)."""
        self.check: Any = None
        """Called after the first round trip: checks the run's fence (`Database.begin`)."""
        self.replay: Any = None
        """Called when the first round trip fails on a dead connection: the same
        statements are sent again on a new connection, which this object then holds."""
        self.last: Any = None
        """The cursor of the statement sent last."""

    def send(self, statement: str, params: Any, many: bool = False) -> Any:
        """Queue one statement (`:name` placeholders); its cursor, with no result yet."""
        text = _statement(statement, "pyformat")
        if self.sent is not None:
            self.sent.append((statement, params, many))
        try:
            cursor = self.last = self.dbapi.cursor()
            if many:
                cursor.executemany(text, params)
            else:
                cursor.execute(text, params)
        except Exception:
            if not self._revive():
                raise
        return self.last

    def run(self, statement: str, params: Any, many: bool = False) -> Any:
        """Send one statement and whatever waits before it; its cursor, with its result."""
        self.send(statement, params, many)
        self.sync()
        return self.last

    def _revive(self) -> bool:
        """The connection is dead and nothing came back from it yet: send it all again on
        a new one (once); False if that is not the case."""
        replay, self.replay = self.replay, None
        if self.sent is None or replay is None or not self.dbapi.broken:
            return False
        replay()
        return True

    def sync(self) -> None:
        """One round trip: everything queued goes, every result comes back."""
        try:
            self.pipeline.sync()
        except Exception:
            if not self._revive():
                raise
            self.pipeline.sync()
        if self.sent is not None:
            self.sent = None
            if self.check is not None:
                self.check()


Conn = Connection | Raw
"""A Core-level transaction: `Database.begin()` (hot path) or `Database.peek()`."""

Tx = Session | Connection | Raw
"""Any open transaction of the store, whichever `Database` method opened it: `read()` and
`write()` give an ORM `Session`, `begin()` and `peek()` a `Conn`. A store function that
reads or writes with literal SQL takes a `Tx` and works in all of them (`connection(tx)`);
one that needs the ORM's identity map takes a `Session`."""


def driver(conn: Conn) -> Conn:
    """The DB-API connection under `conn` on SQLite, for long read-only scans."""
    if isinstance(conn, Connection) and conn.dialect.name == "sqlite":
        return Raw(conn.connection.driver_connection, conn.dialect)
    return conn


def connection(tx: Tx) -> Conn:
    """The Core connection of `tx` (a session's own, inside its transaction)."""
    return tx.connection() if isinstance(tx, Session) else tx


def pg_statement(sql: str) -> str:
    """`:name` placeholders as psycopg takes them (`%(name)s`)."""
    return _statement(sql, "pyformat")


@cache
def _statement(sql: str, paramstyle: str) -> str:
    """`:name` placeholders in the DB-API's own style (sqlite3 takes them as they are)."""
    if paramstyle in ("pyformat", "format"):
        return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
    return sql


@cache
def _processors(dialect: Dialect) -> tuple[Any, Any, Any, Any]:
    when = UTCDateTime().dialect_impl(dialect)
    doc = JSON().dialect_impl(dialect)
    return (
        when.bind_processor(dialect),
        doc.bind_processor(dialect),
        when.result_processor(dialect, None),
        doc.result_processor(dialect, None),
    )


class Stamp(NamedTuple):
    """One moment in every form the store writes it."""

    at: datetime
    """Timezone-aware, UTC."""
    sqlite: str
    """'YYYY-MM-DD HH:MM:SS.ffffff': how SQLAlchemy stores it on SQLite (`sqlite_time`)."""
    rfc3339: str
    """'YYYY-MM-DDTHH:MM:SS.ffffffZ': how the audit chain hashes it."""


def now() -> Stamp:
    at = datetime.now(UTC)
    text = at.replace(tzinfo=None).isoformat(" ", "microseconds")
    return Stamp(at, text, f"{text[:10]}T{text[11:]}Z")


def stamp(conn: Conn) -> Stamp:
    """Now, read once per hot-path transaction: every row it writes carries the same time.

    An action's transaction writes a ledger row, a task row and an audit event; one clock
    read and one format instead of one each (bench/engine.py).
    """
    if isinstance(conn, Raw):
        if conn.stamp is None:
            conn.stamp = now()
        return conn.stamp
    transaction = conn.get_transaction()
    held = conn.info.get("baton_stamp")
    if held is None or held[0] is not transaction:
        held = conn.info["baton_stamp"] = (transaction, now())
    return held[1]


def stamped(conn: Conn, value: Stamp) -> Any:
    """`value` as a UTC time column takes it (`when`, with SQLite's text already built)."""
    return value.sqlite if conn.dialect.name == "sqlite" else when(conn, value.at)


def sqlite_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy stores it on SQLite ('YYYY-MM-DD HH:MM:SS.ffffff'), fast."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def when(conn: Conn, value: datetime | None) -> Any:
    if value is not None and conn.dialect.name == "sqlite":
        return sqlite_time(value)
    bind = _processors(conn.dialect)[0]
    return bind(value) if bind else value


def document(conn: Conn, value: Any, text: str | None = None) -> Any:
    """`value` as a JSON column takes it; `text`, if given, is its JSON text, already built.

    SQLite stores JSON as text, so a caller that serialised the value anyway (to hash it)
    passes that text and it is stored as it is. Other databases take `value`.
    """
    if conn.dialect.name == "sqlite":
        return jsontext.plain(value) if text is None else text
    bind = _processors(conn.dialect)[1]
    return bind(value) if bind else value


def read_when(conn: Conn, value: Any) -> datetime | None:
    result = _processors(conn.dialect)[2]
    return result(value) if result else value  # type: ignore[no-any-return]


def read_document(conn: Conn, value: Any) -> Any:
    result = _processors(conn.dialect)[3]
    return result(value) if result else value


def execute(conn: Conn, sql: str, params: Mapping[str, Any]) -> Any:
    """Run one statement; the result has `rowcount` either way."""
    if type(conn) is Raw:  # sqlite3, which takes `:name` placeholders as they are
        return conn.dbapi.execute(sql, params if type(params) is dict else dict(params))
    if isinstance(conn, PgRaw):
        return conn.run(sql, dict(params))
    assert isinstance(conn, Connection)
    return conn.exec_driver_sql(_statement(sql, conn.dialect.paramstyle), dict(params))


def send(conn: Conn, sql: str, params: Mapping[str, Any]) -> None:
    """Run one statement whose result the caller never reads (no rowcount, no rows).

    On PostgreSQL's hot path it waits in the pipeline for the next round trip (`PgRaw`);
    an error it raises surfaces there, or at the COMMIT, and the transaction is rolled back.
    """
    if isinstance(conn, PgRaw):
        conn.send(sql, dict(params))
    else:
        execute(conn, sql, params)


def execute_many(conn: Conn, sql: str, rows: list[dict[str, Any]]) -> None:
    if type(conn) is Raw:
        conn.dbapi.executemany(sql, rows)
    elif isinstance(conn, PgRaw):
        conn.run(sql, rows, many=True)
    else:
        assert isinstance(conn, Connection)
        conn.exec_driver_sql(_statement(sql, conn.dialect.paramstyle), rows)


def rows(conn: Conn, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every row as a dict of column name → raw value."""
    result = execute(conn, sql, params)
    if isinstance(conn, Raw):
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    return [dict(row._mapping) for row in result]


def first(conn: Conn, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first row as a dict of column name → raw value, or None."""
    result = execute(conn, sql, params)
    if isinstance(conn, Raw):
        row = result.fetchone()
        names = [d[0] for d in result.description] if row is not None else []
        result.close()
        return dict(zip(names, row, strict=True)) if row is not None else None
    found = result.first()
    return dict(found._mapping) if found is not None else None
