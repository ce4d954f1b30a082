"""`baton validate` and `baton schema`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from baton import parts
from baton.cli.app import console, err_console, print_json, shown
from baton.errors import BatonError, RunbookInvalid
from baton.runbooks.loader import load_runbook
from baton.runbooks.schema import json_schema
from baton.settings import get_settings


def validate(
    paths: list[Path] = typer.Argument(..., help="Runbook files or folders of *.yaml."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result."),
) -> None:
    """Check runbooks; exit 1 if any has a problem (every problem is listed)."""
    files: list[Path] = []
    for path in paths:
        files.extend(
            sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
        )
    results: list[dict[str, Any]] = []
    failed = False
    catalog = parts.catalog(get_settings())
    for file in files:
        try:
            loaded = load_runbook(file, catalog)
        except RunbookInvalid as exc:
            failed = True
            problems = [str(p) for p in exc.problems]
            results.append({"file": str(file), "ok": False, "problems": problems})
            if not as_json:
                for problem in problems:
                    err_console.print(f"[red]error[/red]: {shown(problem)}", highlight=False)
        except BatonError as exc:
            failed = True
            results.append({"file": str(file), "ok": False, "problems": [exc.message]})
            if not as_json:
                err_console.print(f"[red]error[/red]: {shown(exc.message)}", highlight=False)
        else:
            results.append(
                {"file": str(file), "ok": True, "id": loaded.runbook.id, "version": loaded.version}
            )
            if not as_json:
                console.print(
                    f"[green]ok[/green] {shown(file)} ({loaded.runbook.id},"
                    f" {len(loaded.runbook.tasks)} tasks, {loaded.version[:19]}…)",
                    highlight=False,
                )
    if as_json:
        print_json(results)
    if not files:
        err_console.print("error: no runbook files found")
        failed = True
    elif not as_json:
        bad = [r for r in results if not r["ok"]]
        count = sum(len(r["problems"]) for r in bad)
        summary = (
            f"{len(files)} file(s): {len(bad)} invalid, {count} problem(s)"
            if bad
            else f"{len(files)} file(s) ok"
        )
        (err_console if bad else console).print(summary, highlight=False, markup=False)
    if failed:
        raise typer.Exit(1)


def schema() -> None:
    """Print the runbook JSON Schema (for editors: yaml-language-server $schema)."""
    print_json(json_schema())


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(schema)
