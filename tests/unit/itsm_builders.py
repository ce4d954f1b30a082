"""Raw ServiceNow Table API records for tests, and a tool caller over a real store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from baton.tools.readers.base import ToolResult
from baton.tools.readers.itsm import ItsmStore, itsm_tools

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

    def __init__(self, store: ItsmStore) -> None:
        self.tools = {tool.name: tool for tool in itsm_tools(store)}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, args: dict[str, Any]) -> ToolResult:
        self.calls.append((name, args))
        tool = self.tools[name]
        return tool.call(tool.args_model.model_validate(args))
