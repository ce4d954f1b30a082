"""Checks a schema cannot express: cross-references, cycles, branches, templates, params.

Every problem names the file, line, column and task, so a person can go straight to it
(the habit of LangGraph's `StateGraph.validate`, with positions added).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from baton.domain.incident import Incident
from baton.domain.params import EXECUTOR_PARAMS
from baton.runbooks import dag
from baton.runbooks.marks import Marks, Path
from baton.runbooks.model import (
    ActionTask,
    AgentTask,
    ApprovalTask,
    DecisionTask,
    HumanTask,
    Runbook,
)
from baton.runbooks.problem import Problem
from baton.runbooks.template import (
    CONTEXT_NAMES,
    RUN_FIELDS,
    TASK_FIELDS,
    check_syntax,
    environment,
    references,
)

AGENT_REJECTED = "agent tasks arrive with the agents feature"

AnyTask = ActionTask | ApprovalTask | HumanTask | DecisionTask | AgentTask


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def is_template(value: str) -> bool:
    """Does this string hold Jinja syntax (and so is checked only after rendering)?"""
    return "{{" in value or "{%" in value


@dataclass
class _Checker:
    rb: Runbook
    marks: Marks
    file: str
    problems: list[Problem] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    needs: dict[str, list[str]] = field(default_factory=dict)

    def add(self, path: Path, task_id: str | None, message: str) -> None:
        line, col = self.marks.at(path) or (None, None)
        self.problems.append(Problem(self.file, line, col, task_id, message))

    def run(self) -> list[Problem]:
        self.ids = [t.id for t in self.rb.tasks]
        first: dict[str, int] = {}
        for i, task in enumerate(self.rb.tasks):
            if task.id in first:
                line = (self.marks.at(("tasks", first[task.id], "id")) or (None,))[0]
                at = f" (first on line {line})" if line else ""
                self.add(("tasks", i, "id"), task.id, f"duplicate task id '{task.id}'{at}")
            else:
                first[task.id] = i
        for i, task in enumerate(self.rb.tasks):
            self.check_task(i, task)
        # Graph checks use the known ids only; unknown ones were reported above.
        full = dag.effective_needs(self.rb)
        self.needs = {t: [n for n in deps if n in full and n != t] for t, deps in full.items()}
        if cycle := dag.find_cycle(self.needs):
            i = self.ids.index(cycle[0])
            self.add(("tasks", i, "id"), cycle[0], "dependency cycle: " + " -> ".join(cycle))
        for i, task in enumerate(self.rb.tasks):
            self.check_templates(i, task)
        return self.problems

    def check_task(self, i: int, task: AnyTask) -> None:
        base: Path = ("tasks", i)
        if isinstance(task, AgentTask):
            self.add((*base, "type"), task.id, AGENT_REJECTED)
        for j, need in enumerate(task.needs):
            if need == task.id:
                self.add((*base, "needs", j), task.id, "a task cannot need itself")
            elif need not in self.ids:
                hint = _suggest(need, self.ids)
                self.add((*base, "needs", j), task.id, f"needs unknown task '{need}'{hint}")
        if not isinstance(task, ActionTask):
            if task.on_failure == "human":
                self.add(
                    (*base, "on_failure"),
                    task.id,
                    "on_failure: human applies to action tasks only",
                )
            if task.retries:
                self.add((*base, "retries"), task.id, "retries apply to action tasks only")
        if isinstance(task, DecisionTask):
            self.check_decision(i, task)
        if isinstance(task, ActionTask):
            self.check_params(i, task)

    def check_decision(self, i: int, task: DecisionTask) -> None:
        base: Path = ("tasks", i)
        seen: set[str] = set()
        for k, option in enumerate(task.options):
            if option in seen:
                self.add((*base, "options", k), task.id, f"option '{option}' is listed twice")
            seen.add(option)
            if option not in task.on:
                self.add((*base, "options", k), task.id, f"option '{option}' has no entry in 'on'")
        for option, targets in task.on.items():
            if option not in seen:
                self.add(
                    (*base, "on", option),
                    task.id,
                    f"'on' names option '{option}' that is not in options"
                    + _suggest(option, task.options),
                )
            for k, target in enumerate(targets):
                path = (*base, "on", option, k)
                if target == task.id:
                    self.add(path, task.id, "a decision cannot lead to itself")
                elif target not in self.ids:
                    hint = _suggest(target, self.ids)
                    self.add(
                        path, task.id, f"option '{option}' leads to unknown task '{target}'{hint}"
                    )
        if task.choose is None and task.assignee is None:
            self.add(
                base, task.id, "a decision needs 'choose' (from data) or 'assignee' (a person)"
            )

    def check_params(self, i: int, task: ActionTask) -> None:
        model = EXECUTOR_PARAMS.get(task.executor)
        if model is None:  # the model's Literal makes this unreachable today
            self.add(("tasks", i, "executor"), task.id, f"unknown executor '{task.executor}'")
            return
        try:
            model.model_validate(task.params)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                if _under_template(task.params, loc):
                    continue  # checked again once rendered, by the executor
                path: Path = ("tasks", i, "params", *loc)
                if err["type"] == "missing":
                    self.add(path[:-1], task.id, f"params: missing required field '{loc[-1]}'")
                elif err["type"] == "extra_forbidden":
                    known = list(model.model_fields)
                    hint = _suggest(str(loc[-1]), known)
                    msg = f"params: unknown field '{loc[-1]}' for executor '{task.executor}'"
                    self.add(path, task.id, msg + hint)
                else:
                    where = ".".join(str(p) for p in loc)
                    self.add(path, task.id, f"params.{where}: {err['msg']}")

    def check_templates(self, i: int, task: AnyTask) -> None:
        for path, text, expression in _template_fields(i, task):
            if (reason := check_syntax(text, expression=expression)) is not None:
                self.add(path, task.id, f"{_label(path)}: template syntax error: {reason}")
                continue
            for ref in sorted(references(text, expression=expression)):
                if (msg := self.check_reference(task.id, ref)) is not None:
                    self.add(path, task.id, f"{_label(path)}: {msg}")

    def check_reference(self, task_id: str, ref: tuple[str, ...]) -> str | None:
        head = ref[0]
        dotted = ".".join(ref)
        if head not in CONTEXT_NAMES:
            if head in environment().globals:
                return None
            names = ", ".join(sorted(CONTEXT_NAMES))
            return f"unknown name '{head}' in '{dotted}' (available: {names})"
        if len(ref) < 2:
            return None
        key = ref[1]
        if head == "inputs" and key not in self.rb.inputs:
            return f"'{dotted}' uses undeclared input '{key}'" + _suggest(key, list(self.rb.inputs))
        if head == "run" and key not in RUN_FIELDS:
            return f"'{dotted}': run has no field '{key}'" + _suggest(key, sorted(RUN_FIELDS))
        if head == "incident" and key not in Incident.model_fields:
            known = list(Incident.model_fields)
            return f"'{dotted}': incident has no field '{key}'" + _suggest(key, known)
        if head == "tasks":
            if key not in self.ids:
                return f"'{dotted}' refers to unknown task '{key}'" + _suggest(key, self.ids)
            broken = any(n not in self.ids for n in self.rb.task(task_id).needs)
            if not broken and key not in dag.reachable(self.needs, task_id):
                # (with a misspelt need, the typo is the problem worth reporting)
                return (
                    f"'{dotted}' uses task '{key}', which this task does not depend on "
                    f"(add '{key}' to needs)"
                )
            if len(ref) > 2 and ref[2] not in TASK_FIELDS:
                fields = ", ".join(sorted(TASK_FIELDS))
                return f"'{dotted}': a task has no field '{ref[2]}' (use {fields})"
        return None


def _label(path: Path) -> str:
    # ("tasks", 3, "params", "argv", 1) -> "params.argv[1]"
    out = ""
    for part in path[2:]:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _under_template(params: Any, loc: tuple[Any, ...]) -> bool:
    """Is the value at `loc` (or a value enclosing it) a template string?"""
    value = params
    for part in loc:
        if isinstance(value, str):
            break
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(value, str) and is_template(value)


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, k))
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from _strings(v, (*path, k))


def _template_fields(i: int, task: AnyTask) -> Iterator[tuple[Path, str, bool]]:
    """(path, text, is_expression) of every string the runtime renders or evaluates."""
    base: Path = ("tasks", i)
    if task.when is not None:
        yield (*base, "when"), task.when, True
    if isinstance(task, DecisionTask) and task.choose is not None:
        yield (*base, "choose"), task.choose, True
    if isinstance(task, ActionTask):
        for path, text in _strings(task.params, (*base, "params")):
            yield path, text, False
    if isinstance(task, ApprovalTask):
        for k, text in enumerate(task.shows):
            yield (*base, "shows", k), text, False
    if isinstance(task, HumanTask):
        yield (*base, "instructions"), task.instructions, False


def validate(rb: Runbook, marks: Marks | None = None, file: str = "<runbook>") -> list[Problem]:
    """Every semantic problem of `rb`; `marks` (from the loader) adds lines and columns."""
    return _Checker(rb, marks or Marks(), file).run()
