"""Where suite runs are kept: one JSON file per run, and `latest.md`/`latest.html` beside.

The JSON files are the record (each names its suite and agent versions); the two latest
files are rendered from the newest run plus the history of the folder, so a reader sees
pass rate, cost and latency per model and version side by side.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from pydantic import ValidationError

from baton.evals.render_html import render_html
from baton.evals.render_md import render_markdown
from baton.evals.report import Report

HISTORY = 20
"""Earlier runs shown in the history tables."""


def save(report: Report, directory: Path) -> list[Path]:
    """Write the run's JSON, then `latest.md` and `latest.html`; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.strftime("%Y%m%dT%H%M%S.%fZ")
    model = re.sub(r"[^A-Za-z0-9._-]+", "_", report.model)[:60]
    record = directory / f"{stamp}-{model}-{report.agent.version[7:15]}.json"
    _write(record, report.model_dump_json(indent=1) + "\n")
    earlier = history(directory)
    markdown, page = directory / "latest.md", directory / "latest.html"
    _write(markdown, render_markdown(report, earlier))
    _write(page, render_html(report, earlier))
    return [record, markdown, page]


def history(directory: Path) -> list[Report]:
    """Stored runs, newest first (files that are not results are skipped)."""
    runs = []
    for path in directory.glob("*.json"):
        try:
            runs.append(Report.model_validate_json(path.read_bytes()))
        except (OSError, ValidationError):
            continue
    runs.sort(key=lambda r: r.started_at, reverse=True)
    return runs[:HISTORY]


def _write(path: Path, text: str) -> None:
    """Atomically: a reader (or a crash) never sees half a report."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # a report is for reading; mkstemp would leave it owner-only
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
