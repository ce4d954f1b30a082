"""Graph helpers: implicit decision edges, cycles, order, ancestry."""

from __future__ import annotations

from typing import Any

import pytest

from baton.runbooks.dag import (
    ancestors,
    descendants,
    effective_needs,
    find_cycle,
    topological_order,
)
from baton.runbooks.model import Runbook


def _action(task_id: str, needs: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": task_id,
        "type": "action",
        "title": task_id,
        "executor": "wait",
        "params": {"seconds": 1},
        "needs": needs or [],
    }


def _runbook(tasks: list[dict[str, Any]]) -> Runbook:
    return Runbook.model_validate({"id": "rb", "title": "t", "owner": "o", "tasks": tasks})


def _branching() -> Runbook:
    return _runbook(
        [
            _action("diagnose"),
            _action("act", ["diagnose"]),
            {
                "id": "pick",
                "type": "decision",
                "title": "pick",
                "needs": ["act"],
                "options": ["good", "bad"],
                "choose": "'good'",
                "on": {"good": ["close"], "bad": ["escalate", "close"]},
            },
            _action("close"),
            _action("escalate", ["diagnose"]),
            _action("report", ["close"]),
        ]
    )


def test_effective_needs_adds_decision_edges_once() -> None:
    needs = effective_needs(_branching())
    assert needs["close"] == ["pick"]
    assert needs["escalate"] == ["diagnose", "pick"]
    assert needs["diagnose"] == []


def test_topological_order_respects_needs_and_document_order() -> None:
    order = topological_order(_branching())
    assert order == ["diagnose", "act", "pick", "close", "escalate", "report"]


def test_topological_order_raises_on_cycle() -> None:
    rb = _runbook([_action("a", ["b"]), _action("b", ["a"])])
    with pytest.raises(ValueError, match="a -> b -> a"):
        topological_order(rb)


def test_ancestors_and_descendants_are_transitive() -> None:
    rb = _branching()
    assert ancestors(rb, "report") == {"close", "pick", "act", "diagnose"}
    assert ancestors(rb, "diagnose") == set()
    assert descendants(rb, "act") == {"pick", "close", "escalate", "report"}
    assert descendants(rb, "report") == set()


def test_find_cycle_returns_the_loop() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"x": [], "a": ["b"], "b": ["c"], "c": ["b"]}) == ["b", "c", "b"]
    assert find_cycle({"a": ["a"]}) == ["a", "a"]


def test_find_cycle_none_for_dag_and_ignores_unknown_ids() -> None:
    assert find_cycle({"a": ["b", "ghost"], "b": [], "c": ["a", "b"]}) is None
