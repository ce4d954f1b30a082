"""`baton logs load FILE…` and `baton logs templates FILE [--json]`.

Log text is hostile: it is written out with control characters escaped (or JSON-encoded),
never through rich markup.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from baton.cli.app import print_json
from baton.errors import InputError
from baton.settings import get_settings
from baton.tools.readers.logs.lines import parse_lines
from baton.tools.readers.logs.miner import TemplateMiner, template_id
from baton.tools.readers.logs.store import LoadResult, load_file, log_dir

logs_app = typer.Typer(help="Load log files and mine their templates.", no_args_is_help=True)


@logs_app.command("load")
def load(
    files: list[Path] = typer.Argument(..., help="Log files: plain timestamped lines or JSON."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result."),
) -> None:
    """Parse files into the log store ($BATON_HOME/data/logs) that the log tools read."""
    directory = log_dir(get_settings().data_dir)
    results = [load_file(directory, path) for path in files]
    if as_json:
        print_json([r.model_dump(mode="json") for r in results])
        return
    for path, result in zip(files, results, strict=True):
        sys.stdout.write(_summary(path, result) + "\n")


@logs_app.command("templates")
def templates(
    file: Path = typer.Argument(..., help="A log file, or - for standard input."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Print each line's template id and template (mined over the whole file first)."""
    lines = _read_lines(file)
    now = datetime.now(UTC)
    messages = [r.message for r in parse_lines(lines, file.name, now.year, now)]
    mined = TemplateMiner().assign(messages)
    ids: dict[str, str] = {}
    out = sys.stdout
    for number, template in enumerate(mined, start=1):
        tid = ids.get(template) or ids.setdefault(template, template_id(template))
        if as_json:
            row = {"line": number, "template_id": tid, "template": template}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            out.write(f"{number}\t{tid}\t{_printable(template)}\n")


def _read_lines(file: Path) -> list[str]:
    if str(file) == "-":
        return sys.stdin.read().splitlines()
    try:
        return file.read_bytes().decode("utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read log file {file}: {exc.strerror or exc}") from exc


def _summary(path: Path, result: LoadResult) -> str:
    f = result.file
    span = f"{_iso(f.first)} .. {_iso(f.last)}" if f.first and f.last else "no readable timestamps"
    return (
        f"{result.status} {_printable(str(path))} as {_printable(f.source)}: {f.lines} lines,"
        f" {f.with_ts} with timestamps, {span}"
    )


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def register(app: typer.Typer) -> None:
    app.add_typer(logs_app, name="logs")
