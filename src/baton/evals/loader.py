"""A suite folder → its cases, each loaded or refused with every problem at file:line.

A case that cannot be trusted is never scored: a missing or unreadable file, a bad ITSM
record, an unknown field in `case.yaml`, or an expectation the recorded data cannot bear out
(a culprit change that is not in `itsm/change_request.json`, a key phrase no file contains)
makes it an `InvalidCase`, which the runner reports as failed. The data files are read with
the readers `baton itsm load` uses, so a case holds exactly what a user could load.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton.domain.incident import Incident
from baton.errors import InputError, RunbookInvalid
from baton.evals.case import Case
from baton.evals.expectations import check_case
from baton.runbooks.loader import parse_model, read_document
from baton.runbooks.marks import Marks
from baton.runbooks.problem import Problem
from baton.tools.readers.itsm.store import read_files

CASE_FILE = "case.yaml"
LOG_SUFFIXES = (".log", ".jsonl")
DATA_DIRS = ("itsm", "logs", "metrics")
REQUIRED_TABLES = ("change_request", "cmdb_ci", "cmdb_rel_ci")


@dataclass(frozen=True)
class LoadedCase:
    """A case whose files and expectations all check out, ready to replay."""

    case: Case
    folder: Path
    itsm: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Validated Table API records per table, as `baton itsm load` would store them."""
    logs: list[Path] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.case.id


@dataclass(frozen=True)
class InvalidCase:
    """A case that is refused: never replayed, reported as failed with its problems."""

    id: str
    folder: Path
    problems: list[Problem]


@dataclass(frozen=True)
class Suite:
    root: Path
    cases: list[LoadedCase | InvalidCase]


def load_suite(root: Path, patterns: Collection[str] = ()) -> Suite:
    """Every case folder under `root` (hidden ones skipped), by name.

    `patterns`: the pattern ids in the catalog; expectations naming any other are refused
    (empty: not checked). Raises `InputError` when `root` is not a directory.
    """
    if not root.is_dir():
        raise InputError(f"{root}: no such eval suite directory")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return Suite(root, [load_case(folder, patterns) for folder in folders])


def load_case(folder: Path, patterns: Collection[str] = ()) -> LoadedCase | InvalidCase:
    """One case folder, or the list of everything wrong with it."""
    problems: list[Problem] = []
    problems += _entries(folder)
    before = len(problems)
    itsm = _itsm(folder / "itsm", problems)
    readable = len(problems) == before  # else the records cannot judge the expectations
    if readable:
        problems += _missing_tables(folder / "itsm", itsm)
    logs = _logs(folder / "logs", problems)
    _metrics(folder / "metrics", problems)
    parsed = _case_file(folder, problems)
    if parsed is None:
        return _invalid(folder, problems)
    case, marks = parsed
    problems += check_case(case, marks, folder, itsm if readable else None, patterns)
    if problems:
        return _invalid(folder, problems)
    return LoadedCase(case.model_copy(update={"incident": _incident(case)}), folder, itsm, logs)


def _invalid(folder: Path, problems: list[Problem]) -> InvalidCase:
    ordered = sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0))
    return InvalidCase(folder.name, folder, ordered)


def _case_file(folder: Path, problems: list[Problem]) -> tuple[Case, Marks] | None:
    path = folder / CASE_FILE
    try:
        case, marks, warnings = parse_model(
            read_document(path, "case"), str(path), Case, what="case"
        )
    except InputError as exc:
        problems.append(Problem(str(path), None, None, None, _strip(exc.message, path)))
        return None
    except RunbookInvalid as exc:
        problems.extend(p for p in exc.problems if isinstance(p, Problem))
        return None
    problems.extend(warnings)  # duplicate keys: the second value would be silently lost
    return case, marks


def _entries(folder: Path) -> list[Problem]:
    """A misspelt folder (`log/`) would silently drop its data: refuse what is not ours."""
    problems = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name.startswith(".") or name == CASE_FILE or name.lower().endswith(".md"):
            continue
        if name in DATA_DIRS and entry.is_dir():
            continue
        problems.append(
            Problem(
                str(entry),
                None,
                None,
                None,
                f"unexpected entry '{name}' in a case folder; a case holds {CASE_FILE}, "
                f"{'/, '.join(DATA_DIRS)}/ and *.md notes",
            )
        )
    return problems


def _itsm(directory: Path, problems: list[Problem]) -> dict[str, list[dict[str, Any]]]:
    batches: dict[str, list[dict[str, Any]]] = {}
    for path in _files(directory, (".json",), problems):
        try:
            text = path.read_text(encoding="utf-8")
            json.loads(text)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), None, None, None, f"cannot read: {exc}"))
            continue
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), exc.lineno, exc.colno, None, f"not JSON: {exc.msg}"))
            continue
        try:
            found = read_files([path])
        except InputError as exc:
            line = _record_line(text, exc.message)
            problems.append(Problem(str(path), line, None, None, _strip(exc.message, path)))
            continue
        for table, records in found.items():
            batches.setdefault(table, []).extend(records)
    return batches


def _missing_tables(directory: Path, itsm: Mapping[str, list[dict[str, Any]]]) -> list[Problem]:
    """An ITSM export without its changes, CIs or relations would leave the change agent
    blind for a reason that is the case's, not the agent's."""
    if not directory.is_dir():
        return []
    return [
        Problem(
            str(directory / f"{table}.json"),
            None,
            None,
            None,
            f"missing file: no {table} records in {directory.name}/ (an ITSM export holds "
            f"{', '.join(t + '.json' for t in REQUIRED_TABLES)}; task_ci.json is optional)",
        )
        for table in REQUIRED_TABLES
        if table not in itsm
    ]


def _logs(directory: Path, problems: list[Problem]) -> list[Path]:
    return _files(directory, LOG_SUFFIXES, problems)


def _metrics(directory: Path, problems: list[Problem]) -> None:
    """Not read by the agents yet; still refused when broken, so they stay usable."""
    for path in _files(directory, (".json",), problems):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), exc.lineno, exc.colno, None, f"not JSON: {exc.msg}"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), None, None, None, f"cannot read: {exc}"))


def _files(directory: Path, suffixes: tuple[str, ...], problems: list[Problem]) -> list[Path]:
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.name.lower().endswith(".md"):
            continue
        if not path.is_file() or not path.name.endswith(suffixes):
            problems.append(
                Problem(
                    str(path),
                    None,
                    None,
                    None,
                    f"not a {' or '.join('*' + s for s in suffixes)} file; "
                    f"{directory.name}/ holds only those",
                )
            )
            continue
        found.append(path)
    return found


def _incident(case: Case) -> Incident:
    """The incident as the replay sees it: detected at the case's clock, named by its id."""
    update: dict[str, Any] = {"detected_at": case.detected_at}
    if case.incident.id is None:
        update["id"] = case.id
    return case.incident.model_copy(update=update)


_RECORD = re.compile(r"(\w+) record (?:(\S+) )?\(?result\[(\d+)\]")


def _record_line(text: str, message: str) -> int | None:
    """The line of the record an ITSM error names: by its key, else by its position."""
    match = _RECORD.search(message)
    if match is None:
        return None
    table, key, index = match.group(1), match.group(2), int(match.group(3))
    if key:
        at = text.find(json.dumps(key))
        if at >= 0:
            return text.count("\n", 0, at) + 1
    start = text.find(json.dumps(table))
    start = text.find('"result"', max(start, 0))
    bracket = text.find("[", start) if start >= 0 else -1
    if bracket < 0:
        return None
    decoder = json.JSONDecoder()
    pos = bracket + 1
    for i in range(index + 1):
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if i == index:
            return text.count("\n", 0, pos) + 1
        try:
            _, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return None
    return None


def _strip(message: str, path: Path) -> str:
    """Messages of the readers start with the path; the problem already names it."""
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message
