"""`baton db upgrade|current|history`: the app schema's migrations, for operators.

Every command migrates the database when it opens it; these say where it stands, do it
on purpose (before rolling out workers on PostgreSQL, say) or print the SQL for a DBA.
alembic is imported inside the commands: the CLI imports every command module at start.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from baton.cli.app import console, err_console, open_db, print_json, shown
from baton.errors import StorageError
from baton.settings import Settings, get_settings
from baton.store.db import open_database_readonly

if TYPE_CHECKING:
    from baton.store.migrations.apply import Status

db_app = typer.Typer(help="Migrations of the app database's schema.", no_args_is_help=True)


def _where(settings: Settings) -> str:
    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def _status(settings: Settings) -> Status:
    """Where the database stands, read only: nothing is created or migrated."""
    from baton.store.migrations import apply

    if not settings.on_postgres and not settings.sqlite_path.exists():
        return apply.Status(None, apply.scripts().get_current_head() or "")
    db = open_database_readonly(settings)
    try:
        with db.engine.connect() as conn:
            return apply.status(conn)
    except DBAPIError as exc:
        raise StorageError(f"cannot read database {_where(settings)}: {exc.orig}") from exc
    finally:
        db.close()


@db_app.command("upgrade")
def upgrade(
    sql: bool = typer.Option(
        False, "--sql", help="Print the SQL the upgrade would run instead (changes nothing)."
    ),
) -> None:
    """Migrate the database to the newest revision, in one transaction: a migration that
    fails leaves it at the revision it had. A database made before migrations is checked
    against revision 0001 and adopted."""
    from baton.store.migrations import BASELINE, apply

    settings = get_settings()
    before = _status(settings)
    if sql:
        script = apply.upgrade_sql(
            before, make_url(settings.resolved_database_url).get_backend_name()
        )
        if before.predates_migrations:
            err_console.print(
                f"-- made before migrations: this SQL only stamps it {BASELINE}; `baton db"
                " upgrade` also checks its tables against that revision first",
                highlight=False,
                markup=False,
            )
        if not script:
            err_console.print(f"already at head ({before.head}): nothing to run", highlight=False)
        sys.stdout.write(script)
        return
    with open_db():  # opening migrates, under the home's lock or PostgreSQL's advisory lock
        pass
    after = _status(settings)
    where = shown(_where(settings))
    if before.at_head:
        console.print(f"{where}: already at head ({after.revision})", highlight=False)
    elif before.predates_migrations:
        console.print(
            f"{where}: made before migrations, checked and stamped {BASELINE};"
            f" now at {after.revision}",
            highlight=False,
        )
    else:
        start = before.revision or "empty"
        console.print(f"{where}: upgraded {start} -> {after.revision}", highlight=False)


@db_app.command("current")
def current(as_json: bool = typer.Option(False, "--json")) -> None:
    """The database's revision and whether it is at head (reads only)."""
    status = _status(get_settings())
    if as_json:
        print_json(
            {
                "revision": status.revision,
                "head": status.head,
                "at_head": status.at_head,
                "predates_migrations": status.predates_migrations,
            }
        )
        return
    console.print(shown(status), highlight=False)


@db_app.command("history")
def history() -> None:
    """Every revision this Baton knows, newest first."""
    from baton.store.migrations import apply

    for revision in apply.history():
        mark = " (head)" if revision.head else ""
        console.print(
            f"{revision.down_revision or '<base>'} -> {revision.revision}{mark}: {revision.doc}",
            highlight=False,
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
