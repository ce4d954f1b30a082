"""A pattern's eval suite (`promotion.eval`): run it for the current version, record the result.

The suite runs outside any database transaction (it may take minutes, and the write lock
must not wait on it), through the command executor: an argv with no shell, a minimal
environment, a timeout that kills its process group, and a bounded capture. Then, in one
transaction: the `pattern_eval` audit event, the latest result of that version (so a ledger
line created later sees the pass, see `promotion.standing_of`), and the result applied to
every ledger line at that version, promoting a line for which it was the last requirement.

A pattern bound to the agents (`runbooks.catalog.with_agents`) has its suite run with the
model settings of the agents it is bound to (`agents.version.model_env`): the minimal
environment would otherwise score the offline reasoners whatever model is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from baton.agents.version import agent_stamp, model_env
from baton.domain.envelope import ActionResult
from baton.domain.params import CommandParams
from baton.errors import Conflict, InputError
from baton.graph.promotion import save_ledger, streak_runs
from baton.policies.context import describe_context
from baton.policies.promotion import Standing, Transition, record_eval
from baton.runbooks.catalog import LoadedPattern
from baton.settings import Settings
from baton.store import audit
from baton.store import promotion_ledger as pattern_store
from baton.store.db import Database
from baton.store.models import PatternEvalRow, utcnow
from baton.tools.executors.base import ExecutionContext
from baton.tools.executors.command import CommandExecutor

OUTPUT_TAIL = 2000
"""Characters of each stream's end kept in the audit event; the digest covers all of it."""


@dataclass(frozen=True)
class EvalOutcome:
    """What an eval found and what it changed."""

    pattern_id: str
    version: str
    passed: bool
    exit_code: int | None
    error: str | None
    output_digest: str
    audit_seq: int
    lines: list[dict[str, Any]]
    """Per ledger line at this version: context, conditions, state after, transitions."""


def evaluate(
    db: Database,
    loaded: LoadedPattern,
    *,
    by: str,
    timeout: float,
    output_limit: int,
    settings: Settings,
    cwd: Path | None = None,
) -> EvalOutcome:
    """Run the eval suite of `loaded` (its current version) and record the result.

    `settings` are the ones `loaded` was versioned with; a catalog bound to other agents is
    refused, since its pass would be recorded for agents the suite did not score."""
    env: dict[str, str] = {}
    if loaded.agents is not None:
        configured = agent_stamp(settings)
        if configured != loaded.agents:
            raise Conflict(
                f"pattern {loaded.pattern.id} {loaded.version[:19]} is bound to "
                f"{loaded.agents.describe()}, but the settings configure "
                f"{configured.describe()}: load the catalog again"
            )
        env = model_env(settings)
    result = run_suite(loaded, timeout=timeout, output_limit=output_limit, cwd=cwd, env=env)
    with db.write() as session:
        return record_result(session, loaded=loaded, result=result, by=by)


def run_suite(
    loaded: LoadedPattern,
    *,
    timeout: float,
    output_limit: int,
    cwd: Path | None,
    env: dict[str, str] | None = None,
) -> ActionResult:
    argv = loaded.pattern.promotion.eval
    if not argv:
        raise InputError(f"pattern {loaded.pattern.id} has no eval suite (promotion.eval)")
    # The executor's context names a ledger entry; an eval has none, so it gets a stable
    # label of its own (nothing keys on it: an eval is not an action on the world).
    context = ExecutionContext(
        run_id=f"eval:{loaded.pattern.id}",
        task_id="eval",
        attempt=1,
        idempotency_key=f"{loaded.pattern.id}@{loaded.version}",
        intent_at=utcnow(),
        timeout=timeout,
    )
    params = CommandParams(argv=argv, cwd=None if cwd is None else str(cwd), env=env or {})
    return CommandExecutor(output_limit).execute(params, context)


def record_result(
    session: Session, *, loaded: LoadedPattern, result: ActionResult, by: str
) -> EvalOutcome:
    """Audit the eval, keep it as the version's latest result, apply it to the ledger."""
    pattern = loaded.pattern
    stdout = str(result.data.get("stdout", ""))
    stderr = str(result.data.get("stderr", ""))
    output_digest = audit.digest(audit.canonical_json({"stdout": stdout, "stderr": stderr}))
    exit_code = result.data.get("exit_code")
    event = audit.append(
        session,
        actor=by,
        kind="pattern_eval",
        status="passed" if result.ok else "failed",
        payload={
            "version": loaded.version,
            "argv": pattern.promotion.eval,
            "result": result.status.value,
            "exit_code": exit_code,
            "error": result.error,
            "duration_ms": result.data.get("duration_ms"),
            "timeout": result.invocation.get("timeout"),
            "output_digest": output_digest,
            "stdout_tail": stdout[-OUTPUT_TAIL:],
            "stderr_tail": stderr[-OUTPUT_TAIL:],
        }
        | _agents(loaded),
        pattern=pattern.id,
    )
    pattern_store.save_eval(
        session,
        PatternEvalRow(
            pattern_id=pattern.id,
            pattern_version=loaded.version,
            passed=result.ok,
            exit_code=exit_code,
            output_digest=output_digest,
            by=by,
            audit_seq=event.seq,
            at=utcnow(),
        ),
    )
    lines = []
    for row in pattern_store.standings(session, pattern_id=pattern.id):
        before = Standing.model_validate(row.standing)
        if before.version != loaded.version:
            continue  # reset when next used; it then finds this result (standing_of)
        lapsed = _lapsed_signoff(session, loaded, row.context, before)
        if lapsed is not None:
            before = before.model_copy(update={"signed_off_by": None})
        after, moves = record_eval(before, pattern, loaded.version, passed=result.ok)
        save_ledger(session, loaded, row.context, after, [*_lapsed_moves(lapsed), *moves], by=by)
        lines.append(
            {
                "context": row.context,
                "conditions": describe_context(row.context),
                "state": after.state,
                "streak": after.streak,
                "moves": [m.model_dump() for m in moves],
            }
        )
    return EvalOutcome(
        pattern.id,
        loaded.version,
        result.ok,
        exit_code if isinstance(exit_code, int) else None,
        result.error,
        output_digest,
        event.seq,
        lines,
    )


def _agents(loaded: LoadedPattern) -> dict[str, Any]:
    """The agents the suite scored, when the version is bound to them."""
    if loaded.agents is None:
        return {}
    return {"agents": {"model": loaded.agents.model, "version": loaded.agents.version}}


def _lapsed_signoff(
    session: Session, loaded: LoadedPattern, context: dict[str, Any], line: Standing
) -> str | None:
    """Who signed this line off but has since approved a run of its streak (the line stays
    gated while it waits for the eval, so its approvers may include the signer by then)."""
    signer = line.signed_off_by
    if signer is None:
        return None
    runs = streak_runs(session, loaded, context, line.streak)
    return signer if any(signer in run.approved_by for run in runs) else None


def _lapsed_moves(signer: str | None) -> list[Transition]:
    if signer is None:
        return []
    reason = f"the sign-off by {signer} lapsed: they approved a run of this streak since"
    return [Transition(kind="eligible", reason=reason)]
