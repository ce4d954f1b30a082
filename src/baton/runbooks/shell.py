"""Templates that would become code: `argv: [sh, -c, "echo {{ incident.title }}"]` runs
whatever the incident title says. Refused at validation unless quoted for the shell.

A shell's `-c` argument may hold templates only through the `shell_quote` filter
(`{{ incident.title | shell_quote }}`). An interpreter's code argument (`python -c`,
`perl -e`, `node -e`…) may hold none: quoting for a shell is not quoting for Python; pass
values as further argv items or in `env` instead. After rendering, an argv item whose
value came from a template and starts with `-` is refused (option injection).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from baton.runbooks.walk import is_template

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "fish"})
INTERPRETERS = {
    "python": ("-c",),
    "perl": ("-e", "-E"),
    "ruby": ("-e",),
    "node": ("-e", "--eval", "-p", "--print"),
    "php": ("-r",),
    "lua": ("-e",),
    "pwsh": ("-c", "-command", "-Command"),
    "powershell": ("-c", "-command", "-Command"),
    "osascript": ("-e",),
}
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)
_QUOTED = re.compile(r"\|\s*shell_quote\s*$")


def _program(argv0: str) -> str:
    name = argv0.rsplit("/", 1)[-1]
    return re.sub(r"[\d.]+$", "", name)  # python3.11 → python


def code_arguments(argv: Sequence[Any]) -> Iterator[tuple[int, str]]:
    """(index, interpreter) of each argv item that an interpreter runs as code."""
    if not argv or not isinstance(argv[0], str):
        return
    start = 0
    program = _program(argv[0])
    if program == "env":  # env [VAR=x…] sh -c …
        for i, item in enumerate(argv[1:], 1):
            if isinstance(item, str) and "=" not in item and not item.startswith("-"):
                start, program = i, _program(item)
                break
    flags = ("-c",) if program in SHELLS else INTERPRETERS.get(program)
    if flags is None:
        return
    for i in range(start + 1, len(argv) - 1):
        item = argv[i]
        if isinstance(item, str) and (
            item in flags or (item.startswith("-") and item[-1:] == "c" and program in SHELLS)
        ):
            yield i + 1, program
            return


def injection_problems(argv: Sequence[Any]) -> list[tuple[int, str]]:
    """(index, message) for each code argument that templates could inject into."""
    problems: list[tuple[int, str]] = []
    for index, program in code_arguments(argv):
        text = argv[index]
        if not isinstance(text, str) or not is_template(text):
            continue
        if program not in SHELLS:
            problems.append(
                (
                    index,
                    f"a template inside {program}'s code argument can inject code; pass the "
                    "value as another argv item or in env and read it from there",
                )
            )
            continue
        for match in _EXPRESSION.finditer(text):
            statement, expression = match.group(2), match.group(1)
            if statement is not None or not _QUOTED.search(expression or ""):
                problems.append(
                    (
                        index,
                        f"template {match.group(0).strip()!r} inside {program} -c can inject "
                        "shell commands; write it as {{ … | shell_quote }}",
                    )
                )
    return problems


def option_injections(template: Sequence[Any], rendered: Sequence[Any]) -> list[str]:
    """Rendered argv items that became options though their template did not start as one."""
    found = []
    for before, after in zip(template, rendered, strict=False):
        if (
            isinstance(before, str)
            and is_template(before)
            and not before.lstrip().startswith("-")
            and isinstance(after, str)
            and after.startswith("-")
        ):
            found.append(after)
    return found
