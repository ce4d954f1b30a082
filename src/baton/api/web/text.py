"""How hostile or machine-written text is shown to a person.

Jinja2 escapes HTML; this also removes terminal escapes and control characters, names who
wrote a line (a person, an automation, an agent and its model), and flags model-written
text that speaks to the approver ("approve this", "ignore previous instructions").
"""

from __future__ import annotations

from typing import Any

from baton.domain.text import addresses_approver, printable, written_by_model


def clean(value: object) -> str:
    """Text without terminal escapes or control characters (newlines and tabs stay)."""
    return printable(value)


def actor_badge(actor: str | None) -> dict[str, str]:
    """`human:alice` → person alice; `agent:itsm_change@gpt-x` → agent itsm_change, model."""
    actor = actor or ""
    kind, _, name = actor.partition(":")
    if kind == "human":
        return {"kind": "human", "label": name, "title": "a person"}
    if kind == "agent":
        agent, _, model = name.partition("@")
        return {"kind": "agent", "label": f"{agent}@{model}", "title": f"AI agent, {model}"}
    if kind == "automation":
        return {"kind": "automation", "label": name, "title": "automation"}
    return {"kind": "system", "label": actor or "system", "title": "Baton itself"}


def model_words(text: Any, produced_by: str | None) -> dict[str, Any]:
    """A finding's words with who wrote them: code (offline) or a model, and whether they
    address the approver (they never should: a proposal is computed by code)."""
    shown = clean(text)
    return {
        "text": shown,
        "by_model": written_by_model(produced_by),
        "addresses_approver": addresses_approver(shown),
    }
