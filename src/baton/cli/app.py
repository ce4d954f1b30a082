"""The Typer application, global options and error reporting shared by all commands."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

from baton.errors import BatonError, RunbookInvalid
from baton.runtime import Runtime, build_runtime
from baton.settings import get_settings

app = typer.Typer(
    name="baton",
    help="Run codified incident runbooks with approval gates and an evidence trail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


class _Options:
    debug = False


options = _Options()


@app.callback()
def _global(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    options.debug = debug


def open_runtime() -> Runtime:
    return build_runtime(get_settings())


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def report(exc: BatonError) -> int:
    """One clear message per error; exit 1."""
    if isinstance(exc, RunbookInvalid):
        for problem in exc.problems:
            err_console.print(f"[red]error[/red]: {problem}", highlight=False, markup=True)
        err_console.print(f"{len(exc.problems)} problem(s) found")
    else:
        err_console.print(f"[red]error[/red] ({exc.code}): {exc.message}", highlight=False)
    return 1
