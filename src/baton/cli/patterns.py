"""`baton patterns list|show|evidence|demote|eval|signoff`: the catalog and its promotion ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from baton import parts
from baton.cli.app import console, open_db, print_json
from baton.cli.runs import parse_pairs, user_actor
from baton.errors import InputError, NotFound
from baton.graph.promotion import ledger_lines
from baton.policies.context import checked_context, context_key, describe_context
from baton.policies.promotion import Standing, requirements
from baton.runbooks.catalog import Catalog, LoadedPattern
from baton.settings import get_settings
from baton.store import promotion_ledger as pattern_store

patterns_app = typer.Typer(
    help="The pattern catalog and its promotion ledger.", no_args_is_help=True
)


def _catalog() -> Catalog:
    return parts.catalog(get_settings())


def _agreement(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def list_patterns(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every pattern: risk, and per condition context its state, streak and agreement."""
    catalog = _catalog()
    with open_db() as db:
        rows = [(loaded, ledger_lines(db, loaded)) for loaded in catalog.values()]
    if as_json:
        print_json(
            [
                {
                    "id": loaded.pattern.id,
                    "version": loaded.version,
                    "risk": loaded.pattern.risk.value,
                    "blast_radius": loaded.pattern.blast_radius,
                    "autonomy_possible": loaded.pattern.autonomy_possible,
                    "contexts": lines,
                }
                for loaded, lines in rows
            ]
        )
        return
    table = Table(title=f"patterns ({catalog.source})")
    for column in ("pattern", "risk", "context", "state", "streak", "agreement", "failures"):
        table.add_column(column)
    for loaded, lines in rows:
        p = loaded.pattern
        first = [p.id, p.risk.value]
        if not lines:
            never = "" if p.autonomy_possible else " (never autonomous)"
            threshold = p.promotion.threshold
            table.add_row(*first, "-", f"gated{never}", f"0/{threshold}", "-", "0")
        for i, line in enumerate(lines):
            state = line["state"] + (" (new version)" if line["new_version"] else "")
            table.add_row(
                *(first if i == 0 else ["", ""]),
                line["conditions"],
                state,
                f"{line['streak']}/{line['threshold']}",
                _agreement(line["agreement"]),
                str(line["failures"]),
            )
    console.print(table)


def show(pattern_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """One pattern: its definition, ledger lines and what stands between each and autonomy."""
    loaded = _catalog().require(pattern_id)
    with open_db() as db:
        lines = ledger_lines(db, loaded)
        with db.read() as session:
            runs = pattern_store.pattern_runs(session, pattern_id=pattern_id)[-10:]
    recent: list[dict[str, Any]] = [
        {
            "run_id": r.run_id,
            "conditions": describe_context(r.context),
            "mode": r.mode,
            "outcome": r.outcome,
            "agreement": r.agreement,
            "approved_by": r.approved_by,
            "at": r.at.isoformat(),
        }
        for r in runs
    ]
    if as_json:
        print_json(
            {
                "pattern": loaded.pattern.model_dump(mode="json"),
                "version": loaded.version,
                "agents": None if loaded.agents is None else vars(loaded.agents),
                "file": loaded.file,
                "contexts": lines,
                "recent_runs": recent,
            }
        )
        return
    p = loaded.pattern
    console.print(f"[bold]{p.id}[/bold] — {p.title}", highlight=False)
    console.print(
        f"risk {p.risk} · blast radius: {p.blast_radius} · idempotent: {p.idempotent} · "
        f"verify: {p.verify.kind} · approvers: {', '.join(p.approvers)} (min {p.min_approvals})",
        highlight=False,
    )
    console.print(f"version {loaded.version}  ({loaded.file})", highlight=False)
    if loaded.agents is not None:
        console.print(f"bound to the eval of {loaded.agents.describe()}", highlight=False)
    conditions = ", ".join(p.conditions) or "none"
    console.print(f"evidence counts per: {conditions}; threshold {p.promotion.threshold}")
    fresh = requirements(Standing(version=loaded.version), p)
    empty: dict[str, Any] = {"conditions": "(no runs yet)", "state": "gated", "missing": fresh}
    for line in lines or [empty]:
        missing = "; ".join(line["missing"]) or "nothing"
        console.print(
            f"  {line['conditions']}: {line['state']}, "
            f"{line.get('streak', 0)}/{p.promotion.threshold}, agreement "
            f"{_agreement(line.get('agreement'))}; still needed: {missing}",
            highlight=False,
            markup=False,
        )
    for run in recent:
        console.print(
            f"  {run['at'][:19]} {run['run_id']} {run['mode']} {run['outcome']} "
            f"({run['conditions']})",
            highlight=False,
            markup=False,
        )


def _context_of(loaded: LoadedPattern, pairs: list[str]) -> dict[str, Any]:
    return checked_context(loaded.pattern, parse_pairs(pairs, "context"))


def evidence(
    pattern_id: str,
    context: list[str] = typer.Option([], "--context", help="Condition as field=value."),
    out: Path = typer.Option(..., "--out", help="Where to write the signed evidence pack."),
) -> None:
    """Export the signed evidence pack for a pattern's promotion in one context."""
    from baton.evidence import bundle

    loaded = _catalog().require(pattern_id)
    wanted = _context_of(loaded, context)
    signer = parts.signer(get_settings())
    if signer is None:
        raise InputError("no signing key: run `baton keys init` first")
    with open_db() as db:
        with db.read() as session:
            key = context_key(wanted)
            if pattern_store.get_standing(session, pattern_id=pattern_id, context_key=key) is None:
                raise NotFound(f"no evidence for {pattern_id} in {describe_context(wanted)}")
        exported = bundle.export(db, signer, out, pattern=pattern_id, context=key)
    console.print(
        f"wrote {exported.path}: {exported.events} events, checkpoint of "
        f"{exported.tree_size}; check it with `baton audit verify-bundle {exported.path}`",
        highlight=False,
    )


def demote(
    pattern_id: str,
    user: str = typer.Option(..., "--as", help="Who demotes."),
    reason: str = typer.Option(..., "--reason", help="Why the gate is restored."),
    context: list[str] = typer.Option([], "--context", help="Condition as field=value."),
) -> None:
    """Restore the gate for a pattern in one context and reset its streak (audited)."""
    from baton.graph.promotion import demote as demote_line

    by = user_actor(user)
    loaded = _catalog().require(pattern_id)
    wanted = _context_of(loaded, context)
    if not reason.strip():
        raise InputError("--reason must say why")
    with open_db() as db, db.write() as session:
        demote_line(session, loaded=loaded, context=wanted, by=by, reason=reason.strip())
    console.print(
        f"{pattern_id} is gated in {describe_context(wanted)}; streak reset (by {by})",
        highlight=False,
    )


def eval_suite(
    pattern_id: str,
    user: str = typer.Option(..., "--as", help="Who runs the eval (its actor in the audit)."),
    timeout: float = typer.Option(
        600.0, "--timeout", min=1, max=86400, help="Seconds before the suite is killed."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run the pattern's eval suite (promotion.eval) for its current version, here.

    The suite gets the model settings (BATON_MODEL_*, BATON_AGENT_*), so it scores the
    agents as configured, which the pattern's version is bound to. A pass counts for every
    context at this version and promotes those that only waited for it; a failure clears
    the pass. Exits 1 when the suite fails.
    """
    from baton.graph.pattern_eval import evaluate

    by = user_actor(user)
    settings = get_settings()
    loaded = _catalog().require(pattern_id)
    with open_db() as db:
        outcome = evaluate(
            db,
            loaded,
            by=by,
            timeout=timeout,
            output_limit=settings.output_limit_bytes,
            settings=settings,
            cwd=Path.cwd(),
        )
    if as_json:
        print_json(
            {
                "pattern": outcome.pattern_id,
                "version": outcome.version,
                "passed": outcome.passed,
                "exit_code": outcome.exit_code,
                "error": outcome.error,
                "output_digest": outcome.output_digest,
                "audit_seq": outcome.audit_seq,
                "contexts": outcome.lines,
            }
        )
    else:
        verdict = "passed" if outcome.passed else f"failed ({outcome.error})"
        console.print(
            f"eval of {pattern_id} {outcome.version[:19]} {verdict}; audited as event "
            f"{outcome.audit_seq}",
            highlight=False,
            markup=False,
        )
        for line in outcome.lines:
            moved = "; ".join(f"{m['kind']}: {m['reason']}" for m in line["moves"])
            console.print(
                f"  {line['conditions']}: {line['state']}" + (f" ({moved})" if moved else ""),
                highlight=False,
                markup=False,
            )
    if not outcome.passed:
        raise typer.Exit(1)


def signoff(
    pattern_id: str,
    user: str = typer.Option(..., "--as", help="Who signs off (must hold the signoff_role)."),
    context: list[str] = typer.Option([], "--context", help="Condition as field=value."),
    comment: str | None = typer.Option(None, "--comment", help="What was checked."),
) -> None:
    """Sign off a pattern's promotion in one context (audited).

    Promotes when nothing else is missing. Approvers of the streak's runs cannot sign off
    their own evidence.
    """
    from baton.graph.signoff import sign_off_line

    by = user_actor(user)
    loaded = _catalog().require(pattern_id)
    wanted = _context_of(loaded, context)
    directory = parts.directory(get_settings())
    with open_db() as db:
        after = sign_off_line(
            db, loaded=loaded, context=wanted, by=by, comment=comment, directory=directory
        )
    missing = "; ".join(requirements(after, loaded.pattern)) or "nothing"
    console.print(
        f"{pattern_id} signed off by {by} in {describe_context(wanted)}: now {after.state} "
        f"(still needed: {missing})",
        highlight=False,
        markup=False,
    )


def register(app: typer.Typer) -> None:
    patterns_app.command("list")(list_patterns)
    patterns_app.command()(show)
    patterns_app.command()(evidence)
    patterns_app.command()(demote)
    patterns_app.command("eval")(eval_suite)
    patterns_app.command()(signoff)
    app.add_typer(patterns_app, name="patterns")
