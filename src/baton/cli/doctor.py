"""`baton doctor`: is this installation ready for an incident? One line per check."""

from __future__ import annotations

import os
from collections.abc import Callable

import typer

from baton import parts
from baton.cli.app import console, open_db, print_json
from baton.errors import BatonError
from baton.settings import Settings, get_settings

Check = tuple[str, Callable[[Settings], str]]


def _home(settings: Settings) -> str:
    home = settings.home
    if home.exists() and not os.access(home, os.W_OK):
        raise BatonError(f"{home} is not writable")
    return f"{home} ({'exists' if home.exists() else 'created on first use'})"


def _database(settings: Settings) -> str:
    from baton.store import audit

    with open_db() as db, db.read() as session:
        head = audit.head_seq(session)
    return f"{settings.resolved_database_url.split('?')[0]} (audit chain at seq {head})"


def _signing_key(settings: Settings) -> str:
    signer = parts.signer(settings)
    if signer is None:
        raise BatonError(f"no signing key at {settings.signing_key_path}: run `baton keys init`")
    return f"key {signer.key_id}"


def _catalog(settings: Settings) -> str:
    catalog = parts.catalog(settings)
    if not len(catalog):
        raise BatonError("no pattern catalog found (BATON_PATTERNS_DIR or ./runbooks/patterns)")
    return f"{len(catalog)} patterns from {catalog.source}"


def _people(settings: Settings) -> str:
    directory = parts.directory(settings)
    if not directory.enforced:
        raise BatonError(
            f"no people directory at {settings.people_path}: approver roles are NOT checked"
        )
    return f"{len(directory.people)} people, roles checked"


def _freeze(settings: Settings) -> str:
    from baton.store.models import utcnow

    calendar = parts.freeze_calendar(settings)
    active = [w.name for w in calendar.windows if w.start <= utcnow() < w.end]
    now = f", active now: {', '.join(active)}" if active else ""
    return f"{len(calendar.windows)} windows{now}"


def _data(settings: Settings) -> str:
    from baton.tools.readers.itsm.store import ItsmStore, itsm_dir
    from baton.tools.readers.logs.store import log_dir, manifest

    itsm = ItsmStore(itsm_dir(settings))
    changes = len(itsm.records("change_request"))
    cis = len(itsm.records("cmdb_ci"))
    logs = len(manifest(log_dir(settings.data_dir)))
    if not (changes or cis or logs):
        raise BatonError("no ITSM records or logs: agents will report that they found no data")
    return f"ITSM: {cis} CIs, {changes} changes; logs: {logs} file(s)"


def _model(settings: Settings) -> str:
    from baton.agents.check import check_model

    if settings.model_provider == "offline":
        return "offline reasoners (no network, no API key)"
    problems = check_model(settings)
    if problems:
        raise BatonError("; ".join(problems))
    return f"{settings.model_name} at {settings.model_base_url} answers and calls tools"


CHECKS: list[Check] = [
    ("home", _home),
    ("database", _database),
    ("signing key", _signing_key),
    ("pattern catalog", _catalog),
    ("people directory", _people),
    ("freeze calendar", _freeze),
    ("agent data", _data),
    ("model", _model),
]


def doctor(as_json: bool = typer.Option(False, "--json")) -> None:
    """Check home, database, signing key, catalog, people, freeze calendar, data and model."""
    settings = get_settings()
    results = []
    for name, check in CHECKS:
        try:
            results.append({"check": name, "ok": True, "detail": check(settings)})
        except BatonError as exc:
            results.append({"check": name, "ok": False, "detail": exc.message})
    if as_json:
        print_json(results)
    else:
        for r in results:
            mark = "[green]ok[/green]  " if r["ok"] else "[red]FAIL[/red]"
            console.print(f"{mark} {r['check']}: {r['detail']}", highlight=False)
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
