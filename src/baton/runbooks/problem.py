"""One finding about a runbook, pointing at the place a person has to edit."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """`file:line:col: task 'x': message`; line and column are 1-based, `None` when unknown."""

    file: str
    line: int | None
    column: int | None
    task_id: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        task = f"task '{self.task_id}': " if self.task_id else ""
        return f"{where}: {task}{self.message}"


def suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
