"""A person's sign-off of a pattern's promotion in one context (`promotion.signoff_role`).

Checked by `policies.signoff` against the line's current streak, audited as
`pattern_signoff`, and promoting the line when nothing else is missing. A refused sign-off
changes nothing but is audited as a `refusal`: the attempt is evidence too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from baton.errors import Conflict, Forbidden, InputError
from baton.graph.promotion import save_ledger, standing_of, streak_runs
from baton.policies.context import describe_context
from baton.policies.people import Directory
from baton.policies.promotion import Standing, sign_off
from baton.policies.signoff import check_signoff
from baton.runbooks.catalog import LoadedPattern
from baton.store import audit
from baton.store.db import Database


def sign_off_line(
    db: Database,
    *,
    loaded: LoadedPattern,
    context: dict[str, Any],
    by: str,
    comment: str | None,
    directory: Directory,
) -> Standing:
    """Record `by`'s sign-off of `loaded` in `context`; raise (and audit) if refused."""
    try:
        with db.write() as session:
            return _sign_off(session, loaded, context, by, comment, directory)
    except (Forbidden, Conflict, InputError) as exc:
        with db.write() as session:
            audit.append(
                session,
                actor=by,
                kind="refusal",
                payload={
                    "attempted": "signoff",
                    "code": exc.code,
                    "reason": exc.message,
                    "version": loaded.version,
                    "context": context,
                },
                pattern=loaded.pattern.id,
            )
        raise


def _sign_off(
    session: Session,
    loaded: LoadedPattern,
    context: dict[str, Any],
    by: str,
    comment: str | None,
    directory: Directory,
) -> Standing:
    ledger = standing_of(session, loaded, context)
    runs = streak_runs(session, loaded, context, ledger.streak)
    approvers = {a for run in runs for a in run.approved_by}
    role = check_signoff(by, loaded.pattern, ledger, directory, approvers)
    audit.append(
        session,
        actor=by,
        kind="pattern_signoff",
        payload={
            "version": loaded.version,
            "context": context,
            "conditions": describe_context(context),
            "role": role,
            "comment": comment,
            "streak": ledger.streak,
            "threshold": loaded.pattern.promotion.threshold,
            "runs": [run.run_id for run in runs],
        },
        pattern=loaded.pattern.id,
    )
    after, moves = sign_off(ledger, loaded.pattern, by)
    save_ledger(session, loaded, context, after, moves, by=by)
    return after
