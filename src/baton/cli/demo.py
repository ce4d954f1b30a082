"""`baton demo`: one runbook end to end on a throwaway `$BATON_HOME`."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from baton.cli import views
from baton.cli.app import console
from baton.cli.follow import follow
from baton.domain import actor
from baton.domain.incident import Incident
from baton.domain.status import RunStatus
from baton.evidence import bundle
from baton.evidence.keys import init_keys, load_signer, public_pem
from baton.runbooks.loader import load_runbook
from baton.settings import Settings
from baton.store import items as item_store
from baton.store import runs as run_store

if TYPE_CHECKING:
    from baton.runtime import Runtime

DEMO_REQUESTER = actor.human("demo-requester")
DEMO_APPROVER = actor.human("demo-approver")
DEMO_INCIDENT = Incident(
    id="INC-DEMO-1",
    title="checkout-api 5xx error rate above 5% after deploy",
    severity="high",
    service="checkout-api",
    environment="production",
    cis=["checkout-api", "payments-db"],
    labels={"alertname": "HighErrorRate", "team": "payments"},
)


def _default_runbook() -> Path:
    here = Path("runbooks/bad-deploy-rollback.yaml")
    if here.exists():
        return here
    return Path(__file__).resolve().parents[3] / "runbooks" / "bad-deploy-rollback.yaml"


def _approve(rt: Runtime, item_id: str) -> RunStatus:
    outcome = rt.runner.answer(
        item_id, by=DEMO_APPROVER, verdict="approve", comment="demo: approved by script"
    )
    return outcome.run_status


def demo(
    runbook: Path = typer.Option(
        None, "--runbook", help="Default: runbooks/bad-deploy-rollback.yaml"
    ),
    home: Path | None = typer.Option(None, "--home", help="Keep state here instead of a temp dir."),
) -> None:
    """Run the bad-deploy rollback end to end, approving as a clearly labelled demo approver."""
    loaded = load_runbook(runbook or _default_runbook())
    home = home or Path(tempfile.mkdtemp(prefix="baton-demo-"))
    settings = Settings(home=home)
    console.rule("[bold]Baton demo[/bold]")
    console.print(f"state in {home} (SQLite; throwaway)", highlight=False)
    signer = load_signer(settings.signing_key_path) or init_keys(settings.signing_key_path)
    from baton.runtime import build_runtime  # LangGraph loads only for commands that run

    with build_runtime(settings) as rt:
        run_id = rt.runner.create(
            loaded,
            DEMO_INCIDENT,
            requested_by=DEMO_REQUESTER,
            inputs={"state_dir": str(home / "deploys")},
        )
        console.print(f"run {run_id} requested by {DEMO_REQUESTER}", highlight=False)
        status = follow(rt, run_id, lambda: rt.runner.advance(run_id))
        while status is RunStatus.WAITING:
            with rt.db.read() as session:
                items = item_store.list_items(session, run_id=run_id)
            for item in items:
                title = escape(item.title)
                if item.kind != "approval":
                    console.print(f"[yellow]waiting on {item.kind} {title}; stopping[/yellow]")
                    raise typer.Exit(1)
                console.print(f"\n[bold]{title}[/bold] ({item.id}) shows the approver:")
                for line in item.content.get("shows", []):
                    console.print(f"  • {line}", highlight=False, markup=False)
                console.print(
                    f"[reverse] DEMO APPROVER [/reverse] {DEMO_APPROVER} approves "
                    "(a person does this with `baton approve`)",
                    highlight=False,
                )
                status = follow(rt, run_id, partial(_approve, rt, item.id))
        with rt.db.read() as session:
            events = run_store.timeline(session, run_id=run_id)
        console.print(views.timeline_table(events))
        pack = bundle.export(rt.db, signer, home / f"evidence-{run_id}.zip", run=run_id)
        checked = bundle.verify_bundle(pack.path, public_pem(signer.public))
        console.print(f"evidence pack {pack.path}: {checked.message}", highlight=False)
        console.print(f"run {run_id} [bold]{status}[/bold]; inspect it with:")
        console.print(f"  BATON_HOME={home} baton runs show {run_id}", highlight=False)
        console.print(f"  BATON_HOME={home} baton audit verify", highlight=False)
    raise typer.Exit(0 if status is RunStatus.SUCCEEDED else 1)


def register(app: typer.Typer) -> None:
    app.command()(demo)
