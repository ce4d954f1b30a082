"""`baton run`, `baton runs list|show`, `baton recover`, `baton cancel`."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from baton import parts
from baton.cli import views
from baton.cli.app import console, err_console, open_db, open_runtime, print_json, shown
from baton.cli.follow import follow, render, task_order
from baton.domain import actor
from baton.domain.incident import Incident
from baton.domain.status import RunStatus
from baton.errors import InputError, flat, one_line
from baton.runbooks.loader import load_runbook
from baton.settings import Settings, get_settings
from baton.store import shapes
from baton.store.db import Database

if TYPE_CHECKING:
    from baton.runtime import Runtime
from baton.store import action_ledger
from baton.store import items as item_store
from baton.store import runs as run_store

runs_app = typer.Typer(help="List and inspect runs.", no_args_is_help=True)


def user_actor(user: str | None) -> str:
    try:
        return actor.human(user or getpass.getuser())
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"{what} {pair!r} is not key=value")
        values[key.strip()] = value
    return values


def in_background(rt: Runtime, *args: str, log_name: str) -> Path:
    """Start `baton ARGS…` detached from this terminal, logging under $BATON_HOME/logs."""
    log = rt.settings.home / "logs" / f"{log_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "baton.cli.main", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            env=os.environ.copy(),
        )
    return log


def resume_orphans(rt: Runtime) -> None:
    """On start-up: runs a dead process left mid-step are resumed in the background."""
    orphans = rt.runner.recoverable()
    if orphans:
        log = in_background(rt, "recover", log_name="recover")
        err_console.print(
            f"note: resuming {len(orphans)} run(s) left mid-step by a process that died "
            f"({', '.join(orphans)}); log: {log}",
            highlight=False,
        )


def load_incident(path: Path) -> Incident:
    """An incident from a JSON or YAML file; errors name the file and the field. A file over
    `BATON_INCIDENT_MAX_BYTES` is refused before it is read (a 50 MB one took 30 s and
    600 MB to parse, then was stored whole)."""
    limit = get_settings().incident_max_bytes
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"incident file {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read incident file {path}: {exc}") from None
    if size > limit:
        raise InputError(
            f"incident file {path} is {size} bytes; the limit is {limit} "
            "(BATON_INCIDENT_MAX_BYTES): put bulky data (logs, dumps) where agents read it"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"incident file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read incident file {path}: {exc}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else YAML(typ="safe").load(text)
    except (json.JSONDecodeError, YAMLError) as exc:
        raise InputError(f"incident file {path} is not valid JSON/YAML: {flat(exc)}") from None
    if not isinstance(data, dict):
        raise InputError(f"incident file {path} must hold a mapping of fields")
    try:
        return Incident.model_validate(data)
    except ValidationError as exc:
        problems = one_line(exc, name=lambda where: f"field '{where}'")
        raise InputError(f"incident file {path}: {problems}") from None


def summarise(rt: Runtime, run_id: str, status: RunStatus) -> None:
    """After a run stops moving: what it waits on and how to answer, or how it ended."""
    with rt.db.read() as session:
        pending = item_store.list_items(session, run_id=run_id)
    if status is RunStatus.WAITING:
        for item in pending:
            verb = {
                "approval": "approve",
                "decision": "decide",
            }.get(item.kind, "complete")
            hint = f"baton {verb} {item.id} --as <user>"
            if item.kind == "decision":
                hint += " --choice <option>"
            console.print(
                f"waiting: {item.kind} [bold]{shown(item.title)}[/bold] → {hint}", highlight=False
            )
    else:
        console.print(f"run {run_id} {status}", highlight=False)


def exit_code(status: RunStatus) -> int:
    return 1 if status in (RunStatus.FAILED, RunStatus.CANCELLED) else 0


def run(
    runbook: Path = typer.Argument(..., help="Runbook YAML file."),
    incident: Path = typer.Option(..., "--incident", "-i", help="Incident JSON/YAML file."),
    inputs: list[str] = typer.Option([], "--input", help="Runbook input as key=value."),
    user: str | None = typer.Option(None, "--as", help="Who requests the run (default: $USER)."),
    detach: bool = typer.Option(False, "--detach", help="Start in the background; print the id."),
    as_json: bool = typer.Option(False, "--json", help="Print the run as JSON when it stops."),
) -> None:
    """Execute a runbook for an incident; exits when the run finishes or waits on people."""
    loaded = load_runbook(runbook, parts.catalog(get_settings()))
    incident_obj = load_incident(incident)
    requested_by = user_actor(user)
    values = parse_pairs(inputs, "input")
    with open_runtime() as rt:
        resume_orphans(rt)
        run_id = rt.runner.create(loaded, incident_obj, requested_by=requested_by, inputs=values)
        if detach:
            log = in_background(rt, "advance", run_id, log_name=run_id)
            print_json({"run_id": run_id, "log": str(log)}) if as_json else console.print(run_id)
            return
        if not as_json:
            console.print(f"run {run_id} started by {requested_by}", highlight=False)
            if any(t.type == "agent" for t in loaded.runbook.steps):
                console.print(f"agents: {reasoner_line(rt.settings)}", highlight=False)
        status = follow(rt, run_id, lambda: rt.runner.advance(run_id), live=not as_json)
        if as_json:
            print_json(show_json(rt.db, run_id))
        else:
            summarise(rt, run_id, status)
    raise typer.Exit(exit_code(status))


def advance(run_id: str = typer.Argument(...)) -> None:
    """Advance one run in this process (used by `run --detach`)."""
    with open_runtime() as rt:
        status = rt.runner.advance(run_id)
        console.print(f"run {run_id} {status}", highlight=False)


def show_json(db: Database, run_id: str) -> dict[str, Any]:
    with db.read() as session:
        run_row = run_store.get_run(session, run_id=run_id)
        tasks = run_store.task_executions(session, run_id=run_id)
        items = item_store.list_items(session, status=None, run_id=run_id)
        item_views = [
            shapes.item_json(i, item_store.decisions(session, item_id=i.id)) for i in items
        ]
        events = run_store.timeline(session, run_id=run_id)
        effects = action_ledger.entries(session, run_id=run_id)
    order = task_order(db, run_row.runbook_version)
    tasks.sort(key=lambda t: order.index(t.task_id) if t.task_id in order else len(order))
    return {
        "run": shapes.run_json(run_row),
        "tasks": [shapes.task_json(t) for t in tasks],
        "items": item_views,
        "timeline": [shapes.event_json(e) for e in events],
        "ledger": [shapes.ledger_json(e) for e in effects],
    }


@runs_app.command("list")
def list_runs(
    status: RunStatus | None = typer.Option(None, help="Only runs in this status."),
    limit: int = typer.Option(50, min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Recent runs, newest first."""
    with open_db() as db, db.read() as session:
        rows = run_store.list_runs(session, status=status, limit=limit)
    if as_json:
        print_json([shapes.run_json(r) for r in rows])
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title="runs", title_justify="left")
    for column in ("run", "runbook", "incident", "status", "requested by", "started (UTC)"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.id,
            r.runbook_id,
            Text(r.incident_id),  # from the incident file: shown as is, never as markup
            views.styled(r.status),
            r.requested_by,
            r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


@runs_app.command("show")
def show(
    run_id: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One run: its tasks, items and timeline."""
    with open_db() as db:
        if as_json:
            print_json(show_json(db, run_id))
            return
        console.print(render(db, run_id))
        with db.read() as session:
            console.print(views.timeline_table(run_store.timeline(session, run_id=run_id)))


def recover(
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Resume runs left mid-step by a dead process, time out overdue items, and sign an
    audit checkpoint (run it from cron for periodic checkpoints)."""
    with open_runtime() as rt:
        results = rt.runner.recover(
            on_run=None if as_json else lambda r, s: console.print(f"recovered {r}: {s}")
        )
        rt.sign_checkpoint()
        unsigned = rt.signer is None
    if as_json:
        print_json({run_id: status.value for run_id, status in results.items()})
        return
    if not results:
        console.print("nothing to recover")
    if unsigned:
        err_console.print("note: no signing key, so no audit checkpoint (baton keys init)")


def cancel(
    run_id: str = typer.Argument(...),
    user: str | None = typer.Option(None, "--as", help="Who cancels (default: $USER)."),
    reason: str | None = typer.Option(None, "--reason"),
) -> None:
    """Cancel a run that waits on people; its pending items are withdrawn."""
    with open_runtime() as rt:
        status = rt.runner.cancel(run_id, by=user_actor(user), reason=reason)
    err_console.print(f"run {run_id} {status}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command(hidden=True)(advance)
    app.command()(recover)
    app.command()(cancel)
    app.add_typer(runs_app, name="runs")


def reasoner_line(settings: Settings) -> str:
    """Who reasons for agents, said plainly (no model configured means offline)."""
    if settings.model_provider == "offline":
        return "offline reasoners (deterministic; no network, no API key)"
    return f"model {settings.model_name} at {settings.model_base_url}"
