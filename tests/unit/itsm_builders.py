"""Raw ServiceNow Table API records for tests, and a tool caller over a real store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from baton.tools.readers.base import ToolResult
from baton.tools.readers.itsm import ItsmStore, itsm_tools
from baton.tools.readers.logs.store import load_file
from baton.tools.readers.logs.tools import log_tools

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "itsm"


def sn_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def ci(name: str, cls: str = "cmdb_ci_appl", **extra: Any) -> dict[str, Any]:
    return {"sys_id": f"ci-{name}", "name": name, "sys_class_name": cls, **extra}


def rel(parent: str, child: str, kind: str = "Depends on::Used by") -> dict[str, Any]:
    return {
        "sys_id": f"rel-{parent}-{child}",
        "parent": {"display_value": parent, "value": f"ci-{parent}"},
        "child": {"display_value": child, "value": f"ci-{child}"},
        "type": {"display_value": kind, "value": "reltype"},
    }


def change(
    number: str,
    on: str,
    start: datetime,
    end: datetime | None,
    *,
    type: str = "normal",
    risk: str = "3",
    state: str = "3",
    close_code: str = "successful",
    actual: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A change on CI `on`; `actual` puts the window in work_start/work_end too."""
    return {
        "sys_id": f"chg-{number}",
        "number": number,
        "short_description": f"change {number}",
        "type": type,
        "risk": risk,
        "state": state,
        "start_date": sn_time(start),
        "end_date": sn_time(end),
        "work_start": sn_time(start) if actual else "",
        "work_end": sn_time(end) if actual else "",
        "close_code": close_code,
        "cmdb_ci": {"link": f"https://x/api/now/table/cmdb_ci/ci-{on}", "value": f"ci-{on}"},
        **extra,
    }


def task_ci(number: str, on: str) -> dict[str, Any]:
    return {"sys_id": f"tci-{number}-{on}", "task": f"chg-{number}", "ci_item": f"ci-{on}"}


class Caller:
    """The tool caller an agent gets, over the real ITSM tools; it records each call."""

    def __init__(self, store: ItsmStore, logs: Path | None = None) -> None:
        self.tools = {tool.name: tool for tool in itsm_tools(store)}
        if logs is not None:
            self.tools |= {tool.name: tool for tool in log_tools(logs)}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, args: dict[str, Any]) -> ToolResult:
        self.calls.append((name, args))
        tool = self.tools.get(name)
        if tool is None:  # e.g. the log tools, when a test gives no logs
            return ToolResult(tool=name, ok=False, error=f"{name} is not provided")
        return tool.call(tool.args_model.model_validate(args))


def log_line(when: datetime, level: str, component: str, message: str) -> str:
    """One log4j-style line: `2026-03-10 11:40:00,000 ERROR [main] checkout-api: ...`."""
    return f"{when:%Y-%m-%d %H:%M:%S},000 {level} [main] {component}: {message}"


def service_log(
    component: str,
    detected: datetime,
    *,
    errors: Sequence[str] = (),
    onset: timedelta = timedelta(minutes=10),
    burst: timedelta = timedelta(minutes=20),
    level: str = "ERROR",
    normal: Sequence[str] = ("GET /health 200", "handled request in 12 ms"),
    days: int = 8,
    extra: Iterable[tuple[datetime, str, str]] = (),
) -> list[str]:
    """A week of calm INFO lines from `component` up to detection, then `errors` (each every
    20 s, from `onset` before detection for `burst`); `extra` adds (time, level, message)
    lines. The calm lines make a baseline, so the errors are new in the incident window."""
    lines: list[tuple[datetime, str]] = []
    t = detected - timedelta(days=days)
    i = 0
    while t < detected + timedelta(minutes=15):
        lines.append((t, log_line(t, "INFO", component, normal[i % len(normal)])))
        t += timedelta(minutes=15)
        i += 1
    t = detected - onset
    while t < detected - onset + burst:
        for message in errors:
            lines.append((t, log_line(t, level, component, message)))
        t += timedelta(seconds=20)
    for when, lvl, message in extra:
        lines.append((when, log_line(when, lvl, component, message)))
    return [line for _, line in sorted(lines, key=lambda pair: pair[0])]


def log_store(folder: Path, *files: tuple[str, list[str]], now: datetime) -> Path:
    """Loads (name, lines) files into a log store under `folder` as `baton logs load` does;
    returns the store directory (for `Caller(..., logs=...)`)."""
    src, store = folder / "log-src", folder / "logs"
    src.mkdir(parents=True, exist_ok=True)
    for name, lines in files:
        path = src / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        load_file(store, path, now=now)
    return store
