"""Literal SQL for the per-task hot path, with SQLAlchemy's own value conversions.

Every action writes an intent, a result and two task transitions. Through the ORM unit of
work that cost ~8 ms per task, through prebuilt Core statements ~3 ms (bench/engine.py);
`exec_driver_sql` with these statements costs ~0.03 ms each. Values are converted with the
bind and result processors SQLAlchemy itself uses for the column types, so rows written
here read back through the ORM exactly as if the ORM had written them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Connection
from sqlalchemy.engine import Dialect, Row
from sqlalchemy.orm import Session

from baton.store.models import UTCDateTime

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def connection(session: Session | Connection) -> Connection:
    return session.connection() if isinstance(session, Session) else session


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


def when(conn: Connection, value: datetime | None) -> Any:
    bind = _processors(conn.dialect)[0]
    return bind(value) if bind else value


def document(conn: Connection, value: Any) -> Any:
    bind = _processors(conn.dialect)[1]
    return bind(value) if bind else value


def read_when(conn: Connection, value: Any) -> datetime | None:
    result = _processors(conn.dialect)[2]
    return result(value) if result else value  # type: ignore[no-any-return]


def read_document(conn: Connection, value: Any) -> Any:
    result = _processors(conn.dialect)[3]
    return result(value) if result else value


def execute(conn: Connection, sql: str, params: Mapping[str, Any]) -> Any:
    return conn.exec_driver_sql(_statement(sql, conn.dialect.paramstyle), dict(params))


def first(conn: Connection, sql: str, params: Mapping[str, Any]) -> Row[Any] | None:
    row: Row[Any] | None = execute(conn, sql, params).first()
    return row
