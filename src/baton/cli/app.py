"""The Typer application, global options and error reporting shared by all commands."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from baton.domain.text import printable
from baton.errors import BatonError, RunbookInvalid
from baton.settings import get_settings
from baton.store.db import Database, open_database

if TYPE_CHECKING:
    from baton.runtime import Runtime

app = typer.Typer(
    name="baton",
    help="Run codified incident runbooks with approval gates and an evidence trail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class _Console(Console):
    """Plain-text messages (`markup=False`) carry data as is: strip terminal escapes and
    control characters from them here, once. Markup messages put data through `shown`."""

    def print(self, *objects: Any, **options: Any) -> None:
        if options.get("markup") is False:
            objects = tuple(printable(o) if isinstance(o, str) else o for o in objects)
        super().print(*objects, **options)


def _width(stream: Any) -> int | None:
    """A terminal's own width; in a pipe or a log, wide enough that tables are not squeezed
    to 80 columns (Rich's default there) and ids stay whole. `COLUMNS` wins either way."""
    if os.environ.get("COLUMNS") or stream.isatty():
        return None
    return PIPE_WIDTH


PIPE_WIDTH = 200
# Messages never wrap (a log or a pipe gets one line per message); tables still fit.
console = _Console(soft_wrap=True, width=_width(sys.stdout))
err_console = _Console(stderr=True, soft_wrap=True, width=_width(sys.stderr))


class _Options:
    debug = False


options = _Options()


@app.callback()
def _global(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    options.debug = debug


def open_runtime() -> Runtime:
    """Everything, including LangGraph (~2 s to import): for commands that advance runs."""
    from baton.runtime import build_runtime

    return build_runtime(get_settings())


@contextmanager
def open_db() -> Iterator[Database]:
    """The database alone, for commands that only read or sign: they start in ~1 s."""
    db = open_database(get_settings())
    try:
        yield db
    finally:
        db.close()


def shown(value: object) -> str:
    """Data as Rich markup shows it: no terminal escapes or control characters, brackets
    literal. Every message that carries data (titles, errors, file names) goes through it."""
    return escape(printable(value))


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def report(exc: BatonError) -> int:
    """One clear message per error; exit 1."""
    if isinstance(exc, RunbookInvalid):
        for problem in exc.problems:
            err_console.print(f"[red]error[/red]: {shown(problem)}", highlight=False)
        err_console.print(f"{len(exc.problems)} problem(s) found")
    else:
        err_console.print(f"[red]error[/red] ({exc.code}): {shown(exc.message)}", highlight=False)
    return 1
