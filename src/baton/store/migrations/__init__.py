"""Alembic migrations of the app tables, one history for SQLite and PostgreSQL.

This module stays free of alembic: every process that opens the database asks `at_head`
(one query), and only a database behind it pays for alembic's import and script scan
(`migrations.apply`). `HEAD` must name the newest revision in `versions/`; a unit test
holds it to the script directory's own head.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

HEAD = "0005"
BASELINE = "0001"
"""The schema of the release before migrations (`baseline.py`): such a database is stamped
with it, then upgraded."""
LOCATION = Path(__file__).parent
VERSION_TABLE = "alembic_version"
_CURRENT = "SELECT version_num FROM alembic_version"


def at_head(engine: Engine) -> bool:
    """Whether the database records `HEAD` as its one revision."""
    try:
        with engine.connect() as conn:
            found = conn.exec_driver_sql(_CURRENT).all()
    except DBAPIError:
        return False  # no version table yet, or a refusal the migration path will report
    return [row[0] for row in found] == [HEAD]
