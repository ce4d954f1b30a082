"""`baton pending`, `baton approve`, `baton complete`, `baton decide`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from baton.cli import views
from baton.cli.app import console, err_console, open_db, open_runtime, print_json
from baton.cli.follow import follow
from baton.cli.runs import exit_code, parse_pairs, resume_orphans, summarise, user_actor
from baton.domain.status import RunStatus
from baton.settings import get_settings
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store import shapes

if TYPE_CHECKING:
    from baton.graph.runner import AnswerOutcome


def pending(
    run_id: str | None = typer.Option(None, "--run", help="Only this run's items."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Items waiting for a person: approvals, human tasks, decisions, fallbacks."""
    with open_db() as db, db.read() as session:
        if run_id is not None:
            run_store.get_run(session, run_id=run_id)  # NotFound names an unknown run
        rows = [
            (i, item_store.decisions(session, item_id=i.id))
            for i in item_store.list_items(session, run_id=run_id)
        ]
    if as_json:
        print_json([shapes.item_json(i, d) for i, d in rows])
    elif rows:
        settings = get_settings()
        if not settings.people_path.exists():
            state = (
                "answers are recorded as UNVERIFIED (BATON_ALLOW_UNVERIFIED_APPROVERS=1)"
                if settings.allow_unverified_approvers
                else "nobody can answer until `baton init --user YOU` writes one"
            )
            err_console.print(f"warning: no people directory ({settings.people_path}): {state}")
        if settings.dry_run:
            err_console.print("note: dry run: approved actions are recorded, not performed")
        console.print(views.items_table(rows))
        for item, _ in rows:
            for line in views.item_lines(item.content):
                console.print(f"  {item.id}: {line}", highlight=False, markup=False)
    else:
        console.print("nothing is waiting")


def _answer(
    item_id: str,
    user: str | None,
    verdict: str,
    *,
    comment: str | None = None,
    outputs: dict[str, str] | None = None,
    choice: str | None = None,
    changes: dict[str, str] | None = None,
    break_glass: bool = False,
) -> None:
    by = user_actor(user)
    with open_runtime() as rt:
        resume_orphans(rt)
        outcome: dict[str, AnswerOutcome] = {}

        def work() -> RunStatus:
            outcome["o"] = rt.runner.answer(
                item_id,
                by=by,
                verdict=verdict,
                comment=comment,
                outputs=outputs,
                choice=choice,
                changes=changes,
                break_glass=break_glass,
            )
            return outcome["o"].run_status

        with rt.db.read() as session:
            run_id = item_store.get_item(session, item_id=item_id).run_id
        status = follow(rt, run_id, work)
        result = outcome["o"]
        if result.item_status == "pending":
            console.print(
                f"{verdict}d by {by}: {result.approvals}/{result.needed} approvals, still waiting",
                highlight=False,
            )
        summarise(rt, run_id, status)
    raise typer.Exit(exit_code(status))


def approve(
    item_id: str = typer.Argument(...),
    user: str = typer.Option(..., "--as", help="Who approves."),
    reject: bool = typer.Option(False, "--reject", help="Reject instead of approving."),
    comment: str | None = typer.Option(None, "--comment"),
    params: list[str] = typer.Option(
        [], "--param", help="Change a pattern parameter as you approve (key=value)."
    ),
    break_glass: bool = typer.Option(
        False,
        "--break-glass",
        help="Approve alone, standing in for missing approvers (needs --reason; audited "
        "at high severity; opens a review).",
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why break-glass is needed."),
) -> None:
    """Approve (or reject) an approval gate."""
    _answer(
        item_id,
        user,
        "reject" if reject else "approve",
        comment=reason if break_glass else comment,
        changes=parse_pairs(params, "param"),
        break_glass=break_glass,
    )


def complete(
    item_id: str = typer.Argument(...),
    user: str = typer.Option(..., "--as", help="Who did the work."),
    outputs: list[str] = typer.Option([], "--output", help="Declared output as key=value."),
    failed: bool = typer.Option(False, "--failed", help="The work could not be done."),
    comment: str | None = typer.Option(None, "--comment", help="Notes for the record."),
) -> None:
    """Mark a human task (or a failed action handed to a person) done."""
    _answer(
        item_id,
        user,
        "fail" if failed else "complete",
        comment=comment,
        outputs=parse_pairs(outputs, "output"),
    )


def decide(
    item_id: str = typer.Argument(...),
    user: str = typer.Option(..., "--as", help="Who decides."),
    choice: str = typer.Option(..., "--choice", help="One of the decision's options."),
    comment: str | None = typer.Option(None, "--comment"),
) -> None:
    """Choose a branch at a decision made by a person."""
    _answer(item_id, user, "choose", choice=choice, comment=comment)


def register(app: typer.Typer) -> None:
    app.command()(pending)
    app.command()(approve)
    app.command()(complete)
    app.command()(decide)
