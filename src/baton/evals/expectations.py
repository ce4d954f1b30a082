"""Expectations checked against the case's own data before anything runs.

A case whose expectation the recorded data cannot bear out is wrong, not hard: a culprit
change that is not in `itsm/change_request.json`, a root-cause CI nobody recorded, a key
phrase no file contains, a pattern the catalog does not have. Each problem points at the
line of `case.yaml` that says it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from baton.evals.case import Case, Expected
from baton.runbooks.marks import Marks
from baton.runbooks.problem import Problem


def check_case(
    case: Case,
    marks: Marks,
    folder: Path,
    itsm: Mapping[str, list[dict[str, Any]]] | None,
    patterns: Collection[str],
) -> list[Problem]:
    """Every problem of `case.yaml` against its folder; `itsm` is None when an ITSM file is
    broken (its records then judge nothing)."""
    file = str(folder / "case.yaml")
    return [
        *_identity(case, marks, folder, file),
        *_expectations(case, marks, file, itsm, patterns),
        *_phrases_present(case, marks, file, folder),
    ]


def _identity(case: Case, marks: Marks, folder: Path, file: str) -> list[Problem]:
    problems = []
    if case.id != folder.name:
        problems.append(
            _at(file, marks, ("id",), f"id '{case.id}' must be the folder name '{folder.name}'")
        )
    given = case.incident.detected_at
    if "detected_at" in case.incident.model_fields_set and given != case.detected_at:
        problems.append(
            _at(
                file,
                marks,
                ("incident", "detected_at"),
                f"incident.detected_at ({given.isoformat()}) differs from detected_at "
                f"({case.detected_at.isoformat()}); give it once, at the top",
            )
        )
    return problems


def _expectations(
    case: Case,
    marks: Marks,
    file: str,
    itsm: Mapping[str, list[dict[str, Any]]] | None,
    patterns: Collection[str],
) -> list[Problem]:
    """Expectations the recorded data cannot bear out are the case's fault, not the agent's.
    `itsm` is None when an ITSM file is broken: its records are then not checked against."""
    expected = case.expected
    problems = _patterns(expected, marks, file, patterns)
    if itsm is None:
        return problems
    numbers = {_text(r.get("number")) for r in itsm.get("change_request", [])}
    for key, values in (("culprit", expected.changes), ("alternatives", expected.alternatives)):
        for i, number in enumerate(values):
            if number not in numbers:
                problems.append(
                    _at(
                        file,
                        marks,
                        ("expected", key, i),
                        f"{number} is not a change in itsm/change_request.json",
                    )
                )
    ci = expected.root_cause_ci
    if ci is not None:
        names = {(_text(r.get("name")) or "").lower() for r in itsm.get("cmdb_ci", [])}
        names |= {c.lower() for c in case.incident.cis}
        names |= {case.incident.service.lower()} if case.incident.service else set()
        if ci.lower() not in names:
            problems.append(
                _at(
                    file,
                    marks,
                    ("expected", "root_cause_ci"),
                    f"root_cause_ci '{ci}' is neither a CI in itsm/cmdb_ci.json nor one of "
                    "the incident's cis or its service",
                )
            )
    return problems


def _patterns(
    expected: Expected, marks: Marks, file: str, patterns: Collection[str]
) -> list[Problem]:
    problems = []
    named: list[tuple[tuple[str | int, ...], str | None]] = [
        (("expected", "recommended_pattern"), expected.recommended_pattern),
        *(
            (("expected", "forbidden_actions", i), p)
            for i, p in enumerate(expected.forbidden_actions)
        ),
    ]
    for path, pattern in named:
        if pattern is not None and patterns and pattern not in patterns:
            problems.append(
                _at(file, marks, path, f"unknown pattern '{pattern}' (not in the catalog)")
            )
    if expected.recommended_pattern in expected.forbidden_actions:
        problems.append(
            _at(
                file,
                marks,
                ("expected", "recommended_pattern"),
                f"'{expected.recommended_pattern}' is both recommended and forbidden",
            )
        )
    return problems


def _phrases_present(case: Case, marks: Marks, file: str, folder: Path) -> list[Problem]:
    """A key phrase that no recorded file contains can never be quoted."""
    phrases = case.expected.key_phrases
    if not phrases:
        return []
    haystack = _corpus(folder)
    return [
        _at(
            file,
            marks,
            ("expected", "key_phrases", i),
            f"key phrase {phrase!r} occurs in none of the case's itsm/ or logs/ files",
        )
        for i, phrase in enumerate(phrases)
        if phrase.lower() not in haystack
    ]


def _corpus(folder: Path) -> str:
    """Lower-cased text of the data files, JSON strings also decoded (`\\"` reads as `"`)."""
    parts: list[str] = []
    for sub in ("itsm", "logs"):
        directory = folder / sub
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            parts.append(text)
            lines = text.splitlines() if path.suffix == ".jsonl" else [text]
            for line in lines:
                try:
                    parts.extend(_strings(json.loads(line)))
                except ValueError:
                    continue
    return "\n".join(parts).lower()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _at(file: str, marks: Marks, path: tuple[str | int, ...], message: str) -> Problem:
    line, col = marks.at(path) or (None, None)
    return Problem(file, line, col, None, message)


def _text(value: Any) -> str | None:
    """A Table API field as stored (`{"value": ...}` and display-value objects unwrapped)."""
    if isinstance(value, Mapping):
        value = value.get("value", value.get("display_value"))
    return None if value is None else str(value)
