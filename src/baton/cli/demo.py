"""`baton demo`: an incident end to end on a throwaway `$BATON_HOME`.

The change agent and the log agent investigate in parallel (offline reasoner: no network,
no API key); one gate shows their findings and the rollback the change agent recommends;
the agent's own attempt to approve is refused; a clearly labelled demo approver approves;
the rollback (a demo stand-in that only writes a file) runs through the ledger and is
verified; the evidence pack is exported and verified offline.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from baton import parts
from baton.cli import views
from baton.cli.app import console, shown
from baton.cli.follow import follow
from baton.cli.runs import load_incident
from baton.domain import actor
from baton.domain.status import ItemKind, RunStatus
from baton.errors import Forbidden
from baton.evidence import bundle
from baton.evidence.keys import public_pem
from baton.runbooks.loader import load_runbook
from baton.settings import Settings, shipped
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store.models import PendingItemRow
from baton.tools.readers.itsm.store import ItsmStore, itsm_dir, read_files
from baton.tools.readers.logs.store import load_file, log_dir

if TYPE_CHECKING:
    from baton.runtime import Runtime

DEMO_REQUESTER = actor.human("demo-requester")
DEMO_APPROVER = actor.human("demo-approver")
DEMO_SRE = actor.human("demo-sre")
SHARED_STATE = "/tmp/baton-demo/rollbacks"  # noqa: S108 (replaced, never used)
"""The stand-in rollback's default `state_dir`; the demo points it into its own home."""
PEOPLE = """\
# The demo's people directory: who holds which roles (approver roles are checked).
people:
  demo-approver: [incident-commander]
  demo-sre: [sre, incident-commander]
"""


def load_data(settings: Settings) -> None:
    """The demo estate: ITSM records (ServiceNow Table API shapes) and service logs."""
    data = shipped("runbooks/data")
    ItsmStore(itsm_dir(settings)).put(read_files(sorted((data / "itsm").glob("*.json"))))
    for log in sorted((data / "logs").glob("*.log")) + sorted((data / "logs").glob("*.jsonl")):
        load_file(log_dir(settings.data_dir), log)


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)


def _show_gate(item: PendingItemRow) -> None:
    console.print(f"\n[bold]{shown(item.title)}[/bold] ({item.id}) shows the approver:")
    for line in views.item_lines(item.content):
        _say(f"  • {line}")


def _answer(rt: Runtime, item: PendingItemRow) -> RunStatus:
    if item.kind == ItemKind.APPROVAL:
        _show_gate(item)
        if not actor.is_human(item.requested_by):
            try:
                rt.runner.answer(item.id, by=item.requested_by, verdict="approve")
            except Forbidden as exc:
                _say(f"  ✗ {item.requested_by} tries to approve its own proposal: refused")
                _say(f"    ({exc.message}; the refusal is in the audit trail)")
        console.print(
            f"[reverse] DEMO APPROVER [/reverse] {DEMO_APPROVER} approves "
            "(a person does this with `baton approve`)",
            highlight=False,
        )
        answer = partial(
            rt.runner.answer, item.id, by=DEMO_APPROVER, verdict="approve", comment="demo"
        )
    else:
        console.print(
            f"\n[reverse] DEMO SRE [/reverse] {DEMO_SRE} completes {item.kind} "
            f"'{shown(item.title)}' (a person does this with `baton complete`)",
            highlight=False,
        )
        for line in str(item.content.get("instructions", "")).splitlines():
            _say(f"  {line}")
        answer = partial(
            rt.runner.answer, item.id, by=DEMO_SRE, verdict="complete", comment="demo: done"
        )
    return answer().run_status


def stand_ins(home: Path) -> Path:
    """The demo's stand-in catalog, copied into `home` so what it "rolls back" stays there."""
    catalog = home / "patterns"
    catalog.mkdir(parents=True, exist_ok=True)
    for source in shipped("runbooks/demo/patterns").glob("*.yaml"):
        text = source.read_text().replace(SHARED_STATE, str(home / "rollbacks"))
        (catalog / source.name).write_text(text)
    return catalog


def demo(
    runbook: Path = typer.Option(None, "--runbook", help="Default: runbooks/agent-triage.yaml"),
    home: Path | None = typer.Option(None, "--home", help="Keep state here instead of a temp dir."),
) -> None:
    """Run an incident end to end: agents in parallel, a gate, a stand-in rollback, evidence."""
    throwaway = home is None
    home = home or Path(tempfile.mkdtemp(prefix="baton-demo-"))
    settings = Settings(home=home, patterns_dir=stand_ins(home))
    loaded = load_runbook(runbook or shipped("runbooks/agent-triage.yaml"), parts.catalog(settings))
    incident = load_incident(shipped("runbooks/data/itsm/incident-checkout.yaml"))
    console.rule("[bold]Baton demo[/bold]")
    _say(f"state in {home} (SQLite; throwaway); reasoner: offline (no network, no API key)")
    home.mkdir(parents=True, exist_ok=True)
    (home / "people.yaml").write_text(PEOPLE)
    signer = parts.signer_or_new(settings)
    load_data(settings)
    detected = f"{incident.detected_at:%Y-%m-%d %H:%M} UTC"
    _say(f"incident {incident.id}: {incident.title} (detected {detected})")
    from baton.runtime import build_runtime  # LangGraph loads only for commands that run

    with build_runtime(settings) as rt:
        inputs: dict[str, Any] = {}
        if "state_dir" in loaded.runbook.inputs:
            inputs["state_dir"] = str(home / "deploys")
        run_id = rt.runner.create(loaded, incident, requested_by=DEMO_REQUESTER, inputs=inputs)
        _say(f"run {run_id} requested by {DEMO_REQUESTER}")
        status = follow(rt, run_id, lambda: rt.runner.advance(run_id))
        while status is RunStatus.WAITING:
            with rt.db.read() as session:
                items = item_store.list_items(session, run_id=run_id)
            if not items:
                break
            status = follow(rt, run_id, partial(_answer, rt, items[0]))
        with rt.db.read() as session:
            events = run_store.timeline(session, run_id=run_id)
        console.print(views.timeline_table(events))
        pack = bundle.export(rt.db, signer, home / f"evidence-{run_id}.zip", run=run_id)
        checked = bundle.verify_bundle(pack.path, public_pem(signer.public))
        _say(f"evidence pack {pack.path}: {checked.message}")
        if throwaway:
            console.print(
                f"run {run_id} [bold]{status}[/bold]; its throwaway home is removed "
                "(keep it with --home DIR to inspect the run afterwards)"
            )
        else:
            console.print(f"run {run_id} [bold]{status}[/bold]; inspect it with:")
            for command in (f"runs show {run_id}", "patterns list", "audit verify"):
                _say(
                    f"  BATON_HOME={home} BATON_PATTERNS_DIR={settings.patterns_dir} "
                    f"baton {command}"
                )
    if throwaway:
        shutil.rmtree(home, ignore_errors=True)
    raise typer.Exit(0 if status is RunStatus.SUCCEEDED else 1)


def register(app: typer.Typer) -> None:
    app.command()(demo)
