"""Runbook YAML → validated `Runbook`, or `RunbookInvalid` listing every problem found.

YAML 1.2, so `on:` is a string key and `yes` is a string. Problems point at the line and
column of the offending key, so an editor can jump there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from baton.errors import InputError, RunbookInvalid
from baton.runbooks.canonical import canonical_json, version_of
from baton.runbooks.marks import Marks, plain_data
from baton.runbooks.model import Runbook
from baton.runbooks.problem import Problem
from baton.runbooks.validate import validate

if TYPE_CHECKING:
    from baton.runbooks.catalog import Catalog

M = TypeVar("M", bound=BaseModel)

MAX_BYTES = 1024 * 1024
"""Larger files are refused: a runbook is a page of YAML, not a data dump."""

_TASK_TYPES = {"action", "approval", "human", "decision", "agent"}


@dataclass(frozen=True)
class LoadedRunbook:
    """A valid runbook with its version, canonical JSON and the text it was read from."""

    runbook: Runbook
    version: str
    canonical: str
    source: str


def load_runbook(path: Path, catalog: Catalog | None = None) -> LoadedRunbook:
    """Read, parse and validate a runbook file (against `catalog` when given)."""
    return parse_runbook(read_document(path, "runbook"), str(path), catalog)


def read_document(path: Path, what: str) -> str:
    """The UTF-8 text of a YAML document, or an `InputError` that says why not."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: {what} is {size} bytes; the limit is {MAX_BYTES}")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such {what} file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory, not a {what} file") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from exc


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    return yaml


def parse_runbook(text: str, file: str, catalog: Catalog | None = None) -> LoadedRunbook:
    """Parse and validate runbook text; `file` names it in problems.

    With a `catalog`, pattern tasks are checked against it too (unknown ids, parameters).
    """
    runbook, marks, problems = parse_model(text, file, Runbook, what="runbook")
    problems += validate(runbook, marks, file, catalog)
    if problems:
        raise _invalid(problems)
    return LoadedRunbook(runbook, version_of(runbook), canonical_json(runbook), text)


def parse_model(
    text: str, file: str, model: type[M], *, what: str
) -> tuple[M, Marks, list[Problem]]:
    """YAML text → a validated pydantic `model`, the marks of its nodes, and the problems
    that did not stop it from validating (duplicate keys) for the caller to report with its own.

    Every problem carries file, line and column; fatal ones are raised together.
    """
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise RunbookInvalid([Problem(file, None, None, None, f"{what} is larger than 1 MiB")])
    yaml = _yaml()
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        reason = " ".join(str(s) for s in (exc.context, exc.problem) if s) or str(exc)
        raise RunbookInvalid([Problem(file, line, col, None, f"invalid YAML: {reason}")]) from exc
    except YAMLError as exc:
        raise RunbookInvalid([Problem(file, None, None, None, f"invalid YAML: {exc}")]) from exc
    if root is None:
        raise RunbookInvalid([Problem(file, None, None, None, f"{what} is empty")])
    report = plain_data(root, lambda node: yaml.constructor.construct_object(node, deep=True))
    data, marks = report.data, report.marks
    problems = [
        Problem(file, line, col, _task_id(data, path), msg)
        for path, (line, col), msg in report.problems
    ]
    if not isinstance(data, dict):
        line, col = marks.at(()) or (None, None)
        problems.append(Problem(file, line, col, None, f"a {what} must be a mapping"))
        raise _invalid(problems)
    try:
        instance = model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, data, marks, file))
        raise _invalid(problems) from exc
    return instance, marks, problems


def _invalid(problems: list[Problem]) -> RunbookInvalid:
    """All problems, in the order a person reads the file."""
    return RunbookInvalid([*sorted(problems, key=lambda p: (p.line or 0, p.column or 0))])


def _task_id(data: Any, path: tuple[Any, ...]) -> str | None:
    if len(path) >= 2 and path[0] == "tasks" and isinstance(path[1], int):
        tasks = data.get("tasks") if isinstance(data, dict) else None
        if isinstance(tasks, list) and path[1] < len(tasks) and isinstance(tasks[path[1]], dict):
            task_id = tasks[path[1]].get("id")
            return task_id if isinstance(task_id, str) else None
    return None


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Pydantic's `loc` without the union tags it inserts (`tasks.0.action.params`)."""
    path: list[Any] = []
    value = data
    for part in loc:
        if isinstance(value, dict) and part not in value:
            if part in _TASK_TYPES and value.get("type") == part:
                continue  # the discriminator's branch name, not a key of the document
            path.append(part)
            value = None
            continue
        path.append(part)
        try:
            value = value[part] if value is not None else None
        except (KeyError, IndexError, TypeError):
            value = None
    return tuple(path)


def _describe(path: tuple[Any, ...]) -> str:
    start = 2 if len(path) >= 2 and path[0] == "tasks" and isinstance(path[1], int) else 0
    out = ""
    for part in path[start:]:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_problems(
    exc: ValidationError, data: dict[str, Any], marks: Marks, file: str
) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors():
        path = _data_path(data, tuple(err["loc"]))
        task_id = _task_id(data, path)
        kind = err["type"]
        if kind == "missing":
            pos = marks.at(path[:-1])
            where = _describe(path[:-1])
            msg = f"missing required field '{path[-1]}'" + (f" in {where}" if where else "")
        elif kind == "extra_forbidden":
            pos = marks.at(path)
            msg = f"unknown field '{path[-1]}'"
            if len(path) > 1 and (where := _describe(path[:-1])):
                msg += f" in {where}"
        else:
            if kind == "union_tag_invalid":
                path = (*path, "type")
                kinds = ", ".join(sorted(_TASK_TYPES))
                err["msg"] = f"unknown task type {err['ctx']['tag']!r}; use one of: {kinds}"
            elif kind == "union_tag_not_found":
                err["msg"] = "missing required field 'type'"
            pos = marks.at(path)
            where = _describe(path)
            msg = f"{where}: {err['msg']}" if where else err["msg"]
        line, col = pos or (None, None)
        problems.append(Problem(file, line, col, task_id, msg))
    return problems
