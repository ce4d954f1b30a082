"""JSON views of ITSM records for tool results.

Identifiers and codes are plain values; free text typed by people (descriptions, close
notes) leaves only as a `Quote` with provenance `itsm:<table>/<record>#<field>`, so a model
or a person reading a tool result sees it as data, never as instructions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from baton.domain.finding import Quote
from baton.tools.readers.itsm.index import ChangeMatch, ItsmIndex, Neighbour
from baton.tools.readers.itsm.records import ChangeRequest, ConfigItem, Ref

CHANGE_TEXT_FIELDS = (
    "short_description",
    "description",
    "close_notes",
    "backout_plan",
    "implementation_plan",
    "work_notes",
)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _ref(ref: Ref | None) -> dict[str, str] | None:
    return {"sys_id": ref.value, "name": ref.label} if ref else None


def quotes(table: str, record: str, values: dict[str, str | None]) -> list[dict[str, Any]]:
    """Quote each non-empty free-text field, tagged `itsm:<table>/<record>#<field>`."""
    return [
        Quote.of(f"itsm:{table}/{record}#{name}", text).model_dump()
        for name, text in values.items()
        if text
    ]


def _details(ci: ConfigItem) -> dict[str, Any]:
    """Structured CI fields beyond the basics: version, certificate validity and issuer."""
    return {
        "version": ci.version,
        "valid_from": _time(ci.valid_from),
        "valid_to": _time(ci.valid_to),
        "issuer": Quote.of(f"itsm:cmdb_ci/{ci.label}#issuer", ci.issuer).text
        if ci.issuer
        else None,
    }


def ci_view(ci: ConfigItem) -> dict[str, Any]:
    return {
        "sys_id": ci.sys_id,
        "name": ci.name,
        "class": ci.sys_class_name,
        "operational_status": ci.operational_status_label,
        "environment": ci.environment,
        "support_group": _ref(ci.support_group),
        **_details(ci),
        "quotes": quotes("cmdb_ci", ci.label, {"short_description": ci.short_description}),
    }


def neighbour_view(index: ItsmIndex, neighbour: Neighbour) -> dict[str, Any]:
    ci = index.cis.get(neighbour.sys_id)
    return {
        "sys_id": neighbour.sys_id,
        "name": index.label(neighbour.sys_id),
        "class": ci.sys_class_name if ci else None,
        "operational_status": ci.operational_status_label if ci else None,
        "in_cmdb": ci is not None,
        "distance": neighbour.distance,
        "path": [hop.describe(index) for hop in neighbour.path],
        "through": [index.label(hop.target) for hop in neighbour.path[:-1]],
        "strengths": [hop.strength for hop in neighbour.path],
        "depended_on": neighbour.depended_on,
        **(_details(ci) if ci else {}),
        "quotes": (
            quotes("cmdb_ci", ci.label, {"short_description": ci.short_description}) if ci else []
        ),
    }


def change_view(index: ItsmIndex, match: ChangeMatch) -> dict[str, Any]:
    change: ChangeRequest = match.change
    return {
        "number": change.number,
        "sys_id": change.sys_id,
        "type": change.type,
        "risk": change.risk_label,
        "impact": change.impact_label,
        "state": change.state_label,
        "phase": change.phase,
        "close_code": change.close_code,
        "planned_start": _time(change.start_date),
        "planned_end": _time(change.end_date),
        "work_start": _time(change.work_start),
        "work_end": _time(change.work_end),
        "closed_at": _time(change.closed_at),
        "cmdb_ci": (
            {
                "sys_id": change.cmdb_ci.value,
                "name": index.label(change.cmdb_ci.value, change.cmdb_ci.display_value),
            }
            if change.cmdb_ci
            else None
        ),
        "assignment_group": _ref(change.assignment_group),
        "category": change.category,
        "matched_cis": [
            {"sys_id": ci_id, "name": index.label(ci_id), "via": via} for ci_id, via in match.cis
        ],
        "quotes": quotes(
            "change_request",
            change.number,
            {name: getattr(change, name) for name in CHANGE_TEXT_FIELDS},
        ),
    }
