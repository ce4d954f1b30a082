"""A pattern proposal: exactly what would run, as a person is shown it and as it is hashed.

The approval binds to the hash of this content; before executing, the node rebuilds it and
refuses to run anything that hashes differently from what was approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from baton.graph.inbox import content_hash
from baton.runbooks.catalog import LoadedPattern
from baton.runbooks.pattern_params import check_params
from baton.runbooks.template import TemplateError, render_value
from baton.store import audit
from baton.tools.executors.base import Executor, is_secret_name


class ProposalError(ValueError):
    """The parameters do not make a valid invocation of the pattern."""


@dataclass(frozen=True)
class Proposal:
    loaded: LoadedPattern
    params: dict[str, Any]
    invocation: BaseModel
    content: dict[str, Any]
    hash: str


def build_proposal(
    loaded: LoadedPattern,
    executor: Executor,
    given: dict[str, Any],
    *,
    rationale: str | None,
    context: dict[str, Any],
    evidence: list[str],
    proposed_by: str,
) -> Proposal:
    """Check `given` against the pattern and render the exact executor invocation."""
    pattern = loaded.pattern
    params, problems = check_params(pattern, given)
    if problems:
        raise ProposalError("; ".join(problems))
    try:
        raw = render_value(pattern.invocation, {"params": params}, name=f"{pattern.id}.invocation")
        invocation = executor.params_model.model_validate(raw)
    except (TemplateError, ValidationError) as exc:
        raise ProposalError(f"pattern {pattern.id}: invalid invocation: {exc}") from exc
    content = {
        "pattern": pattern.id,
        "title": pattern.title,
        "version": loaded.version,
        "risk": pattern.risk.value,
        "blast_radius": pattern.blast_radius,
        "params": {k: _shown(k, v) for k, v in params.items()},
        "invocation": executor.describe(invocation),
        "verify": pattern.verify.kind,
        "rationale": rationale,
        "evidence": evidence,
        "context": context,
        "proposed_by": proposed_by,
    }
    return Proposal(loaded, params, invocation, content, content_hash(content))


def is_secret_param(name: str) -> bool:
    """Parameters holding credentials (tokens, passwords, `*_key`): shown as digests only."""
    return is_secret_name(name) or name.endswith("_key")


def _shown(name: str, value: Any) -> Any:
    """Secret-named values (tokens, keys) appear as their digest: bound, never revealed."""
    if is_secret_param(name):
        return audit.digest(audit.canonical_json(value))
    return value
