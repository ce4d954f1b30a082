"""Checks a schema cannot express: cross-references, cycles, branches, templates, params.

Every problem names the file, line, column and task, so a person can go straight to it
(the habit of LangGraph's `StateGraph.validate`, with positions added).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import ValidationError

from baton.domain.incident import Incident
from baton.domain.params import EXECUTOR_PARAMS, url_problem
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
from baton.runbooks.pattern_params import check_params
from baton.runbooks.problem import Problem, suggest
from baton.runbooks.shell import injection_problems
from baton.runbooks.template import (
    CONTEXT_NAMES,
    RUN_FIELDS,
    TASK_FIELDS,
    check_syntax,
    environment,
    references,
)
from baton.runbooks.walk import strings, under_template

if TYPE_CHECKING:
    from baton.runbooks.catalog import Catalog

AnyTask = ActionTask | ApprovalTask | HumanTask | DecisionTask | AgentTask


@dataclass
class _Checker:
    rb: Runbook
    marks: Marks
    file: str
    catalog: Catalog | None = None
    problems: list[Problem] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    entries: list[tuple[Path, AnyTask]] = field(default_factory=list)
    needs: dict[str, list[str]] = field(default_factory=dict)

    def add(self, path: Path, task_id: str | None, message: str) -> None:
        line, col = self.marks.at(path) or (None, None)
        self.problems.append(Problem(self.file, line, col, task_id, message))

    def run(self) -> list[Problem]:
        self.entries = [(("on_start", j), t) for j, t in enumerate(self.rb.on_start)]
        self.entries += [(("tasks", i), t) for i, t in enumerate(self.rb.tasks)]
        self.ids = [t.id for t in self.rb.steps]
        first: dict[str, Path] = {}
        for base, task in self.entries:
            if task.id in first:
                line = (self.marks.at((*first[task.id], "id")) or (None,))[0]
                at = f" (first on line {line})" if line else ""
                self.add((*base, "id"), task.id, f"duplicate task id '{task.id}'{at}")
            else:
                first[task.id] = base
        for base, task in self.entries:
            self.check_task(base, task)
        # Graph checks use the known ids only; unknown ones were reported above.
        full = dag.effective_needs(self.rb)
        self.needs = {t: [n for n in deps if n in full and n != t] for t, deps in full.items()}
        cycles, behind = dag.stuck(self.needs)
        for cycle in cycles:
            base = self.entries[self.ids.index(cycle[0])][0]
            self.add((*base, "id"), cycle[0], "dependency cycle: " + " -> ".join(cycle))
        for task_id, need in behind.items():
            base = self.entries[self.ids.index(task_id)][0]
            self.add(
                (*base, "id"),
                task_id,
                f"unreachable: it needs '{need}', which waits on a dependency cycle",
            )
        for base, task in self.entries:
            self.check_templates(base, task)
        return self.problems

    def check_task(self, base: Path, task: AnyTask) -> None:
        for j, need in enumerate(task.needs):
            if need == task.id:
                self.add((*base, "needs", j), task.id, "a task cannot need itself")
            elif need not in self.ids:
                hint = suggest(need, self.ids)
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
            self.check_decision(base, task)
        if isinstance(task, ActionTask):
            if base[0] == "on_start" and task.pattern is None:
                self.add(base, task.id, "on_start lists pattern actions only")
            if base[0] == "on_start" and task.needs:
                self.add((*base, "needs"), task.id, "on_start actions fire first: no needs")
            if task.pattern is not None:
                self.check_pattern(base, task)
                self.check_recommender(base, task)
            else:
                self.check_params(base, task)

    def check_pattern(self, base: Path, task: ActionTask) -> None:
        if self.catalog is None:
            return
        assert task.pattern is not None
        if task.pattern not in self.catalog:
            hint = suggest(task.pattern, list(self.catalog))
            self.add((*base, "pattern"), task.id, f"unknown pattern '{task.pattern}'{hint}")
            return
        pattern = self.catalog[task.pattern].pattern
        concrete = {k: v for k, v in task.params.items() if not under_template(task.params, (k,))}
        _, problems = check_params(pattern, concrete)
        for problem in problems:
            if problem.startswith("missing required") and task.recommended_by is not None:
                continue  # the agent's recommendation supplies it at run time
            if problem.startswith("missing required") and any(
                under_template(task.params, (k,)) for k in task.params
            ):
                name = problem.split("'")[1]
                if name in task.params:
                    continue
            self.add((*base, "params"), task.id, problem)
        if task.gate is not None and task.gate.approvers is not None:
            wider = sorted(set(task.gate.approvers) - set(pattern.approvers))
            if wider:
                allowed = ", ".join(pattern.approvers)
                self.add(
                    (*base, "gate", "approvers"),
                    task.id,
                    f"gate approvers {', '.join(wider)} are not approvers of pattern "
                    f"{pattern.id} ({allowed}); a runbook can narrow a gate, never widen it",
                )

    def check_recommender(self, base: Path, task: ActionTask) -> None:
        source = task.recommended_by
        if source is None:
            return
        if source not in self.ids:
            hint = suggest(source, self.ids)
            self.add((*base, "recommended_by"), task.id, f"unknown task '{source}'{hint}")
        elif not isinstance(self.rb.task(source), AgentTask):
            self.add((*base, "recommended_by"), task.id, f"'{source}' is not an agent task")
        elif source not in task.needs:
            self.add(
                (*base, "recommended_by"),
                task.id,
                f"recommended_by '{source}': add it to needs (the agent must finish first)",
            )

    def check_decision(self, base: Path, task: DecisionTask) -> None:
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
                    + suggest(option, task.options),
                )
            for k, target in enumerate(targets):
                path = (*base, "on", option, k)
                if target == task.id:
                    self.add(path, task.id, "a decision cannot lead to itself")
                elif target not in self.ids:
                    hint = suggest(target, self.ids)
                    self.add(
                        path, task.id, f"option '{option}' leads to unknown task '{target}'{hint}"
                    )
        if task.choose is None and task.assignee is None:
            self.add(
                base, task.id, "a decision needs 'choose' (from data) or 'assignee' (a person)"
            )

    def check_params(self, base: Path, task: ActionTask) -> None:
        model = EXECUTOR_PARAMS.get(task.executor or "")
        if model is None:  # the model's Literal makes this unreachable today
            self.add((*base, "executor"), task.id, f"unknown executor '{task.executor}'")
            return
        argv = task.params.get("argv") if task.executor == "command" else None
        if isinstance(argv, list):
            for index, message in injection_problems(argv):
                self.add(
                    (*base, "params", "argv", index), task.id, f"params.argv[{index}]: {message}"
                )
        url = task.params.get("url") if task.executor == "http" else None
        literal = isinstance(url, str) and not under_template(task.params, ("url",))
        if literal and (problem := url_problem(str(url))):
            self.add((*base, "params", "url"), task.id, f"params.url: {problem[1]}")
        try:
            model.model_validate(task.params)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                if under_template(task.params, loc):
                    continue  # checked again once rendered, by the executor
                path: Path = (*base, "params", *loc)
                if err["type"] == "missing":
                    self.add(path[:-1], task.id, f"params: missing required field '{loc[-1]}'")
                elif err["type"] == "extra_forbidden":
                    known = list(model.model_fields)
                    hint = suggest(str(loc[-1]), known)
                    msg = f"params: unknown field '{loc[-1]}' for executor '{task.executor}'"
                    self.add(path, task.id, msg + hint)
                else:
                    where = ".".join(str(p) for p in loc)
                    self.add(path, task.id, f"params.{where}: {err['msg']}")

    def check_templates(self, base: Path, task: AnyTask) -> None:
        for path, text, expression in _template_fields(base, task):
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
            return f"'{dotted}' uses undeclared input '{key}'" + suggest(key, list(self.rb.inputs))
        if head == "run" and key not in RUN_FIELDS:
            return f"'{dotted}': run has no field '{key}'" + suggest(key, sorted(RUN_FIELDS))
        if head == "incident" and key not in Incident.model_fields:
            known = list(Incident.model_fields)
            return f"'{dotted}': incident has no field '{key}'" + suggest(key, known)
        if head == "tasks":
            if key not in self.ids:
                return f"'{dotted}' refers to unknown task '{key}'" + suggest(key, self.ids)
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


def _template_fields(base: Path, task: AnyTask) -> Iterator[tuple[Path, str, bool]]:
    """(path, text, is_expression) of every string the runtime renders or evaluates."""
    if task.when is not None:
        yield (*base, "when"), task.when, True
    if isinstance(task, DecisionTask) and task.choose is not None:
        yield (*base, "choose"), task.choose, True
    if isinstance(task, ActionTask):
        for path, text in strings(task.params, (*base, "params")):
            yield path, text, False
        if task.rationale is not None:
            yield (*base, "rationale"), task.rationale, False
    if isinstance(task, ApprovalTask):
        for k, text in enumerate(task.shows):
            yield (*base, "shows", k), text, False
    if isinstance(task, HumanTask):
        yield (*base, "instructions"), task.instructions, False


def validate(
    rb: Runbook, marks: Marks | None = None, file: str = "<runbook>", catalog: Catalog | None = None
) -> list[Problem]:
    """Every semantic problem of `rb`; `marks` (from the loader) adds lines and columns.

    With a `catalog`, pattern ids and their parameters are checked too.
    """
    return _Checker(rb, marks or Marks(), file, catalog).run()
