"""The pattern catalog: every `*.yaml` in a directory, validated like runbooks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from baton.domain.params import EXECUTOR_PARAMS
from baton.errors import InputError, NotFound, RunbookInvalid
from baton.runbooks.loader import parse_model, read_document
from baton.runbooks.marks import Marks
from baton.runbooks.pattern import ParamSpec, Pattern
from baton.runbooks.problem import Problem, suggest
from baton.runbooks.shell import injection_problems
from baton.runbooks.template import TemplateError, check_syntax, references, render_value
from baton.runbooks.walk import strings
from baton.settings import Settings


@dataclass(frozen=True)
class AgentStamp:
    """The agents as configured: model (`offline` or a model name) and agent version
    (`baton.agents.version`)."""

    model: str
    version: str

    @property
    def who(self) -> str:
        """The agents in words, for evidence and demotion reasons."""
        if self.model == "offline":
            return "the offline reasoners"
        return f"model {self.model}" if self.model else "a model with no name set"

    def describe(self) -> str:
        return f"{self.who} (agent version {self.version[:19]})"


@dataclass(frozen=True)
class LoadedPattern:
    pattern: Pattern
    version: str
    canonical: str
    file: str
    agents: AgentStamp | None = None
    """The agents whose eval this version's promotion rests on (`with_agents`)."""


def pattern_canonical(pattern: Pattern) -> str:
    data = pattern.model_dump(mode="json", by_alias=True, exclude_none=False)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def loaded_pattern(pattern: Pattern, file: str) -> LoadedPattern:
    canonical = pattern_canonical(pattern)
    version = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return LoadedPattern(pattern, version, canonical, file)


class Catalog(Mapping[str, LoadedPattern]):
    """Patterns by id. Lookups of unknown ids say which ids are close."""

    def __init__(self, patterns: Mapping[str, LoadedPattern], source: str = "<catalog>") -> None:
        self._patterns = dict(patterns)
        self.source = source

    def __getitem__(self, pattern_id: str) -> LoadedPattern:
        return self._patterns[pattern_id]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._patterns))

    def __len__(self) -> int:
        return len(self._patterns)

    def require(self, pattern_id: str) -> LoadedPattern:
        if pattern_id not in self._patterns:
            hint = suggest(pattern_id, list(self._patterns))
            raise NotFound(f"unknown pattern {pattern_id!r}{hint} (catalog: {self.source})")
        return self._patterns[pattern_id]


def with_agents(catalog: Catalog, agents: AgentStamp) -> Catalog:
    """`catalog` with `agents` folded into the version of every pattern that has a
    `promotion.eval`: that eval scores the agents, so its pass and the streak it completes
    hold for these agents only. Another model, prompt or reasoner is then a new pattern
    version, which the ledger demotes and which needs a fresh eval pass."""

    def bind(loaded: LoadedPattern) -> LoadedPattern:
        if loaded.pattern.promotion.eval is None:
            return loaded
        text = f"{loaded.canonical}\0agents:{agents.version}"
        version = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        return replace(loaded, version=version, agents=agents)

    return Catalog({pid: bind(loaded) for pid, loaded in catalog.items()}, catalog.source)


def load_catalog(directory: Path) -> Catalog:
    """Every pattern in `directory`; all problems of all files are raised together."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no such pattern catalog directory")
    problems: list[Problem] = []
    patterns: dict[str, LoadedPattern] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            pattern, marks, found = parse_model(
                read_document(path, "pattern"), str(path), Pattern, what="pattern"
            )
        except RunbookInvalid as exc:
            problems.extend(p for p in exc.problems if isinstance(p, Problem))
            continue
        found += check_pattern(pattern, marks, str(path))
        if pattern.id in patterns:
            line, col = marks.at(("id",)) or (None, None)
            other = patterns[pattern.id].file
            found.append(
                Problem(
                    str(path), line, col, None, f"pattern {pattern.id} is also defined in {other}"
                )
            )
        problems.extend(found)
        if not found:
            patterns[pattern.id] = loaded_pattern(pattern, str(path))
    if problems:
        raise RunbookInvalid(problems)
    return Catalog(patterns, str(directory))


def check_pattern(pattern: Pattern, marks: Marks, file: str) -> list[Problem]:
    """Templates reference declared params only, and the invocation fits its executor."""
    problems: list[Problem] = []

    def add(path: tuple[Any, ...], message: str) -> None:
        line, col = marks.at(path) or (None, None)
        problems.append(Problem(file, line, col, None, message))

    for path, text in strings(pattern.invocation, ("invocation",)):
        _check_template(text, path, pattern, add)
    if pattern.verify.kind in ("command", "http"):
        for path, text in strings(pattern.verify.invocation, ("verify", "invocation")):
            _check_template(text, path, pattern, add)
    if pattern.verify.query:
        _check_template(pattern.verify.query, ("verify", "query"), pattern, add)
    for key, invocation, executor in (
        (("invocation",), pattern.invocation, pattern.executor),
        (("verify", "invocation"), pattern.verify.invocation, pattern.verify.kind),
    ):
        argv = invocation.get("argv") if executor == "command" and invocation else None
        if isinstance(argv, list):
            for index, message in injection_problems(argv):
                add((*key, "argv", index), f"{'.'.join(key)}.argv[{index}]: {message}")
    sample = {name: _sample(spec) for name, spec in pattern.params.items()}
    for key, invocation, executor in (
        (("invocation",), pattern.invocation, pattern.executor),
        (("verify", "invocation"), pattern.verify.invocation, pattern.verify.kind),
    ):
        if executor not in ("command", "http", "wait") or problems:
            continue
        try:
            rendered = render_value(invocation, {"params": sample}, name=".".join(key))
            model = EXECUTOR_PARAMS[executor]
            model.model_validate(rendered)
        except (TemplateError, ValidationError) as exc:
            add(key, f"{'.'.join(key)} does not fit executor {executor}: {exc}")
    return problems


def _check_template(text: str, path: tuple[Any, ...], pattern: Pattern, add: Any) -> None:
    if (reason := check_syntax(text, expression=False)) is not None:
        add(path, f"template syntax error: {reason}")
        return
    for ref in sorted(references(text, expression=False)):
        if ref[0] != "params":
            add(path, f"'{'.'.join(ref)}': pattern templates may use params.<name> only")
        elif len(ref) > 1 and ref[1] not in pattern.params:
            hint = suggest(ref[1], list(pattern.params))
            add(path, f"'{'.'.join(ref)}' uses undeclared param '{ref[1]}'{hint}")


def _sample(spec: ParamSpec) -> Any:
    """A value of the right type, to check that an invocation renders into valid params."""
    if spec.default is not None:
        return spec.default
    if spec.enum:
        return spec.enum[0]
    return {"string": "x", "integer": 1, "number": 1.0, "boolean": True}[spec.type]


def open_catalog(settings: Settings) -> Catalog:
    """The pattern catalog in use: `BATON_PATTERNS_DIR`, else `./runbooks/patterns`, else
    the starter catalog shipped beside this checkout; none found → an empty catalog."""
    for directory in settings.pattern_dirs:
        if directory.is_dir():
            return load_catalog(directory)
    return Catalog({}, "(no catalog)")
