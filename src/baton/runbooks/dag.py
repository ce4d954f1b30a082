"""Pure graph helpers over a runbook's tasks.

Edges point from a task to what it needs. Tasks listed in a decision's `on` implicitly
need that decision: they cannot start before the branch is chosen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from baton.runbooks.model import DecisionTask, Runbook

Needs = Mapping[str, list[str]]


def effective_needs(rb: Runbook) -> dict[str, list[str]]:
    """Each task's `needs` plus every decision whose `on` lists it, in document order."""
    out: dict[str, list[str]] = {}
    for task in rb.steps:
        out.setdefault(task.id, [])
        for need in task.needs:
            if need not in out[task.id]:
                out[task.id].append(need)
    for task in rb.steps:
        if isinstance(task, DecisionTask):
            for branch in task.on.values():
                for target in branch:
                    deps = out.get(target)
                    if deps is not None and task.id not in deps:
                        deps.append(task.id)
    return out


def find_cycle(needs: Needs) -> list[str] | None:
    """A dependency cycle as `[a, b, c, a]` (a needs b needs c needs a), or None.

    Ids that are not keys of `needs` (unknown tasks) are ignored.
    """
    done: set[str] = set()
    for start in needs:
        if start in done:
            continue
        stack: list[str] = [start]
        on_stack = {start}
        iters = [iter(needs[start])]
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                iters.pop()
                finished = stack.pop()
                on_stack.discard(finished)
                done.add(finished)
                continue
            if nxt not in needs or nxt in done:
                continue
            if nxt in on_stack:
                return [*stack[stack.index(nxt) :], nxt]
            stack.append(nxt)
            on_stack.add(nxt)
            iters.append(iter(needs[nxt]))
    return None


def stuck(needs: Needs) -> tuple[list[list[str]], dict[str, str]]:
    """Every dependency cycle, and each other task that can never start because of one.

    The second part maps such a task to the need it waits on for ever (itself in a cycle,
    or behind one). Ids that are not keys of `needs` are ignored, as in `find_cycle`.
    """
    waiting = {t: [n for n in deps if n in needs] for t, deps in needs.items()}
    changed = True
    while changed:  # peel off every task whose needs can all finish
        free = [t for t, deps in waiting.items() if not any(n in waiting for n in deps)]
        changed = bool(free)
        for t in free:
            del waiting[t]
    cycles: list[list[str]] = []
    members: set[str] = set()
    graph = dict(waiting)
    while cycle := find_cycle(graph):
        cycles.append(cycle)
        members.update(cycle)
        graph = {
            t: [n for n in d if n not in members] for t, d in graph.items() if t not in members
        }
    behind = {
        t: next(n for n in deps if n in waiting) for t, deps in waiting.items() if t not in members
    }
    return cycles, behind


def _order(needs: Needs) -> list[str]:
    remaining = {t: {n for n in deps if n in needs and n != t} for t, deps in needs.items()}
    order: list[str] = []
    while remaining:
        ready = [t for t, deps in remaining.items() if not deps]  # document order: stable
        if not ready:
            cycle = find_cycle(needs) or sorted(remaining)
            raise ValueError("dependency cycle: " + " -> ".join(cycle))
        for t in ready:
            del remaining[t]
            order.append(t)
        for deps in remaining.values():
            deps.difference_update(ready)
    return order


def topological_order(rb: Runbook) -> list[str]:
    """Task ids with every task after what it needs; ties keep document order.

    Raises ValueError on a cycle (validation reports cycles before anyone gets here).
    """
    return _order(effective_needs(rb))


def reachable(edges: Needs, start: str) -> set[str]:
    """Everything reachable from `start` along `edges`, `start` itself excluded."""
    seen: set[str] = set()
    todo: list[str] = list(edges.get(start, []))
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(edges.get(node, []))
    seen.discard(start)
    return seen


def reverse(edges: Needs) -> dict[str, list[str]]:
    """Edges turned around: task → the tasks that need it."""
    out: dict[str, list[str]] = {t: [] for t in edges}
    for task, deps in edges.items():
        for dep in deps:
            out.setdefault(dep, []).append(task)
    return out


def ancestors(rb: Runbook, task_id: str) -> set[str]:
    """Every task that must finish before `task_id` can start (transitive needs)."""
    return reachable(effective_needs(rb), task_id)


def descendants(rb: Runbook, task_id: str) -> set[str]:
    """Every task that waits, directly or not, on `task_id`."""
    return reachable(reverse(effective_needs(rb)), task_id)


def roots(needs: Needs) -> Iterable[str]:
    """Tasks that need nothing: where a run starts."""
    return [t for t, deps in needs.items() if not deps]
