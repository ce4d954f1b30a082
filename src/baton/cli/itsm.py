"""`baton itsm load`: fill the embedded ITSM store that the agents' read-only tools query."""

from __future__ import annotations

from pathlib import Path

import typer

from baton.cli.app import console, print_json
from baton.settings import get_settings
from baton.tools.readers.itsm.records import TABLES
from baton.tools.readers.itsm.store import ItsmStore, itsm_dir, read_files

itsm_app = typer.Typer(
    help="ITSM records (ServiceNow Table API JSON) for the ITSM tools and agent.",
    no_args_is_help=True,
)


@itsm_app.command("load")
def load(
    files: list[Path] = typer.Argument(..., help="Table API JSON files.", show_default=False),
    table: str | None = typer.Option(
        None, "--table", help=f"Table of bare {{'result': ...}} files: {', '.join(TABLES)}."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable counts."),
) -> None:
    """Validate and store ServiceNow records (a record loaded again replaces it).

    Accepted files; nothing is stored if any record is bad:

    - a Table API response {"result": [...]} or {"result": {...}},
    its table named by --table or by the file name (change_request.json);

    - an object keyed by table: {"cmdb_ci": {"result": [...]}, ...}.

    Tables: change_request, cmdb_ci, cmdb_rel_ci, task_ci. Fields as stored
    values or sysparm_display_value=all objects; date-times in UTC.
    """
    root = itsm_dir(get_settings())
    counts = ItsmStore(root).put(read_files(files, table))
    if as_json:
        print_json({"store": str(root), "tables": [vars(c) for c in counts]})
        return
    for c in counts:
        console.print(
            f"{c.table}: {c.received} record(s) read, {c.added} new, {c.replaced} replaced, "
            f"{c.total} stored",
            highlight=False,
        )
    console.print(f"ITSM store: {root}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(itsm_app, name="itsm")
