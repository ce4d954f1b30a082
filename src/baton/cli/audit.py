"""`baton audit verify`."""

from __future__ import annotations

import typer

from baton.cli.app import console, err_console, open_runtime, print_json
from baton.store import audit

audit_app = typer.Typer(help="Check the audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify(as_json: bool = typer.Option(False, "--json")) -> None:
    """Walk the hash chain; name the first broken link (exit 1) or print `ok: N events`."""
    with open_runtime() as rt, rt.db.read() as session:
        verdict = audit.verify(session)
    if as_json:
        print_json(
            {
                "ok": verdict.ok,
                "events": verdict.events,
                "head": verdict.head,
                "broken_seq": verdict.broken_seq,
                "expected": verdict.expected,
                "found": verdict.found,
                "reason": verdict.reason,
            }
        )
    elif verdict.ok:
        console.print(str(verdict), highlight=False)
    else:
        err_console.print(f"[red]{verdict}[/red]", highlight=False)
    if not verdict.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
