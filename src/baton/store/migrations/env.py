"""Alembic's entry point, run by `migrations.apply` (there is no alembic.ini).

Online, the caller hands over its connection (`config.attributes["connection"]`) already
inside the one transaction the whole upgrade runs in, so alembic starts none of its own
and a migration that fails midway rolls back everything the upgrade did, version row
included, on PostgreSQL and on SQLite alike (Baton's SQLite engine issues BEGIN itself,
and SQLite's DDL is transactional inside an explicit transaction). Offline
(`baton db upgrade --sql`) it writes SQL for `config.attributes["dialect"]`.

On SQLite, migrations run with foreign key enforcement off and are checked before the
commit (`db.init_schema`), so a batch rebuild may drop and recreate a table that others
refer to. A migration must not use `autocommit_block()` (CREATE INDEX CONCURRENTLY and the
like): it would end that one transaction. One that rebuilds an audit table on SQLite must
create its append-only triggers again.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from baton.store.migrations import VERSION_TABLE
from baton.store.models import Base


def _online(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=sqlite,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _offline(dialect: str) -> None:
    context.configure(
        dialect_name=dialect,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=dialect == "sqlite",
        transactional_ddl=True,  # the script opens with BEGIN and ends with COMMIT
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _offline(context.config.attributes["dialect"])
else:
    _online(context.config.attributes["connection"])
