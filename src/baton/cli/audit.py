"""`baton keys init` and `baton audit verify|checkpoint|export|verify-bundle`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from baton import parts
from baton.cli.app import console, err_console, open_db, print_json, shown
from baton.errors import ConfigError, InputError
from baton.evidence import bundle, checkpoints
from baton.evidence.keys import Signer, public_path
from baton.settings import get_settings
from baton.store.db import ensure_home, open_database_readonly

audit_app = typer.Typer(help="Check and export the audit trail.", no_args_is_help=True)
keys_app = typer.Typer(help="The key that signs audit checkpoints.", no_args_is_help=True)


@keys_app.command("init")
def keys_init(
    force: bool = typer.Option(False, "--force", help="Replace an existing key."),
) -> None:
    """Create the Ed25519 key pair (private key mode 0600) under $BATON_HOME/keys."""
    settings = get_settings()
    ensure_home(settings.home)
    signer = parts.new_signer(settings, force=force)
    console.print(
        f"created {settings.signing_key_path} (key id {signer.key_id});"
        f" share {public_path(settings.signing_key_path)} with whoever verifies evidence",
        highlight=False,
    )


@audit_app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json"),
    anchor: Path | None = typer.Option(
        None, "--anchor", help="Checkpoints anchored outside the database (audit checkpoint --out)."
    ),
) -> None:
    """Walk the chain and hold it against the latest signed checkpoint; exit 1 if broken.

    Reads only: it works on a read-only copy of a home, as an auditor has it.
    """
    settings = get_settings()
    key = parts.public_key(settings)
    anchored = checkpoints.read_anchor(anchor) if anchor is not None else None
    db = open_database_readonly(settings)
    try:
        with db.read() as session:
            report = checkpoints.check(session, key, anchored)
    finally:
        db.close()
    if as_json:
        chain = report.chain
        print_json(
            {
                "ok": report.ok,
                "events": chain.events,
                "head": chain.head,
                "broken_seq": chain.broken_seq,
                "expected": chain.expected,
                "found": chain.found,
                "reason": chain.reason or report.problem,
                "checkpoint": report.checkpoint.__dict__ if report.checkpoint else None,
            }
        )
    elif report.ok:
        console.print(str(report), highlight=False)
    else:
        err_console.print(f"[red]{shown(report)}[/red]", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


def _signer() -> Signer:
    settings = get_settings()
    signer = parts.signer(settings)
    if signer is None:
        raise ConfigError(f"no signing key at {settings.signing_key_path}: run `baton keys init`")
    return signer


@audit_app.command("checkpoint")
def checkpoint(
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Also append it to this file as one JSON line ('-': print it, e.g. for syslog):"
        " an anchor outside the database that `audit verify --anchor` checks.",
    ),
) -> None:
    """Sign a checkpoint of the audit log as it stands now."""
    signer = _signer()
    with open_db() as db:
        signed = checkpoints.sign_now(db, signer)
    if signed is None:
        console.print("the audit log is empty; nothing to sign")
        return
    line = checkpoints.anchor_line(signed)
    if out is not None and str(out) == "-":
        sys.stdout.write(line + "\n")
        return
    if out is not None:
        with out.open("a", encoding="utf-8") as anchors:
            anchors.write(line + "\n")
    console.print(
        f"signed checkpoint at {signed.tree_size}: root {signed.root}"
        + (f"; anchored in {out}" if out else ""),
        highlight=False,
    )


@audit_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="Evidence pack to write (zip)."),
    incident: str | None = typer.Option(None, "--incident"),
    run: str | None = typer.Option(None, "--run"),
) -> None:
    """Write a signed evidence pack for one incident or run, verifiable offline."""
    signer = _signer()
    with open_db() as db:
        done = bundle.export(db, signer, out, incident=incident, run=run)
    console.print(
        f"wrote {done.path}: {done.events} events, checkpoint at {done.tree_size}", highlight=False
    )


@audit_app.command("verify-bundle")
def verify_bundle(
    path: Path = typer.Argument(..., help="Evidence pack (zip)."),
    key: Path | None = typer.Option(None, "--key", help="Public key you expect (PEM)."),
) -> None:
    """Check an evidence pack offline, with no database; exit 1 on any problem."""
    if key is not None and not key.exists():
        raise InputError(f"key file {key} does not exist")
    report = bundle.verify_bundle(path, key.read_bytes() if key else None)
    if not report.ok:
        err_console.print(f"[red]{shown(report.message)}[/red]", highlight=False)
        raise typer.Exit(1)
    console.print(report.message, highlight=False)
    if key is None:
        err_console.print("note: trusted the key inside the pack; pass --key to pin yours")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.add_typer(keys_app, name="keys")
