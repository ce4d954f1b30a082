"""Pure parsers: one Table API record (a JSON object) -> one typed record.

A real ServiceNow connector reuses these on what `GET /api/now/table/<table>` returns.
Unknown fields are ignored (instances add `u_` fields freely); a field that is present but
unusable raises `RecordError` naming the table, the record and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from baton.tools.readers.itsm import fields
from baton.tools.readers.itsm.errors import FieldError, RecordError
from baton.tools.readers.itsm.records import (
    ChangeRequest,
    CiRelation,
    ConfigItem,
    Ref,
    TaskCi,
)

T = TypeVar("T")


class _Reader:
    """Reads fields of one raw record, turning a `FieldError` into a `RecordError`."""

    def __init__(self, table: str, raw: Any, position: int | None) -> None:
        self.table = table
        self.position = position
        if not isinstance(raw, Mapping):
            raise RecordError(
                table, self._name(None), None, f"must be a JSON object, got {type(raw).__name__}"
            )
        self.raw: Mapping[str, Any] = raw
        self.labels: dict[str, str] = {}

    def _name(self, key: str | None) -> str:
        where = f"result[{self.position}]" if self.position is not None else ""
        return f"{key} ({where})" if key and where else key or where or "(unnamed)"

    @property
    def record(self) -> str:
        key = None
        for name in ("number", "name", "sys_id"):
            value = self.raw.get(name)
            if isinstance(value, Mapping):
                value = value.get("value")
            if isinstance(value, str) and value:
                key = value
                break
        return self._name(key)

    def _get(self, field: str, convert: Callable[[Any], T]) -> T:
        try:
            return convert(self.raw.get(field))
        except FieldError as exc:
            raise RecordError(self.table, self.record, field, str(exc)) from None

    def text(self, field: str) -> str | None:
        return self._get(field, fields.text)

    def required(self, field: str) -> str:
        value = self.text(field)
        if value is None:
            raise RecordError(self.table, self.record, field, "is missing or empty")
        return value

    def choice(self, field: str, *, lower: bool = False) -> str | None:
        value, label = self._get(field, fields.choice)
        if label is not None:
            self.labels[field] = label
        return value.lower() if lower and value is not None else value

    def ref(self, field: str) -> Ref | None:
        return self._get(field, fields.reference)

    def required_ref(self, field: str) -> Ref:
        value = self.ref(field)
        if value is None:
            raise RecordError(self.table, self.record, field, "is missing or empty")
        return value

    def time(self, field: str) -> datetime | None:
        return self._get(field, fields.timestamp)

    def first_text(self, *names: str) -> str | None:
        """The first of several alternative fields (`version`, `u_version`) that has a value;
        a reference (e.g. an `issuer` pointing at a company) gives its display value."""
        for name in names:
            raw = self.raw.get(name)
            if isinstance(raw, Mapping) and raw.get("display_value"):
                return str(raw["display_value"])
            value = self.text(name)
            if value is not None:
                return value
        return None

    def first_time(self, *names: str) -> datetime | None:
        return next((t for name in names if (t := self.time(name)) is not None), None)


def parse_change_request(raw: Any, position: int | None = None) -> ChangeRequest:
    """A `change_request` record; `position` (index in the response) only improves errors."""
    r = _Reader("change_request", raw, position)
    return ChangeRequest(
        sys_id=r.required("sys_id"),
        number=r.required("number"),
        short_description=r.text("short_description"),
        description=r.text("description"),
        type=r.choice("type", lower=True),
        risk=r.choice("risk"),
        impact=r.choice("impact"),
        state=r.choice("state"),
        phase=r.choice("phase"),
        start_date=r.time("start_date"),
        end_date=r.time("end_date"),
        work_start=r.time("work_start"),
        work_end=r.time("work_end"),
        closed_at=r.time("closed_at"),
        close_code=r.choice("close_code", lower=True),
        close_notes=r.text("close_notes"),
        cmdb_ci=r.ref("cmdb_ci"),
        assignment_group=r.ref("assignment_group"),
        category=r.choice("category", lower=True),
        backout_plan=r.text("backout_plan"),
        implementation_plan=r.text("implementation_plan"),
        work_notes=r.text("work_notes"),
        labels=r.labels,
    )


def parse_config_item(raw: Any, position: int | None = None) -> ConfigItem:
    """A `cmdb_ci` record (or a record of any class extending it)."""
    r = _Reader("cmdb_ci", raw, position)
    return ConfigItem(
        sys_id=r.required("sys_id"),
        name=r.text("name"),
        sys_class_name=r.text("sys_class_name"),
        operational_status=r.choice("operational_status"),
        install_status=r.choice("install_status"),
        environment=r.choice("environment"),
        support_group=r.ref("support_group"),
        short_description=r.text("short_description"),
        version=r.first_text("version", "firmware_version", "u_version"),
        valid_from=r.first_time("valid_from", "u_valid_from"),
        valid_to=r.first_time("valid_to", "expiration_date", "u_valid_to", "u_expiration_date"),
        issuer=r.first_text("issuer", "u_issuer"),
        labels=r.labels,
    )


def parse_ci_relation(raw: Any, position: int | None = None) -> CiRelation:
    """A `cmdb_rel_ci` record; parent and child are required."""
    r = _Reader("cmdb_rel_ci", raw, position)
    return CiRelation(
        sys_id=r.required("sys_id"),
        parent=r.required_ref("parent"),
        child=r.required_ref("child"),
        type=r.ref("type"),
        strength=r.choice("connection_strength", lower=True),
    )


def parse_task_ci(raw: Any, position: int | None = None) -> TaskCi:
    """A `task_ci` record; task and ci_item are required."""
    r = _Reader("task_ci", raw, position)
    return TaskCi(
        sys_id=r.required("sys_id"),
        task=r.required_ref("task"),
        ci_item=r.required_ref("ci_item"),
    )


PARSERS: dict[str, Callable[[Any, int | None], Any]] = {
    "change_request": parse_change_request,
    "cmdb_ci": parse_config_item,
    "cmdb_rel_ci": parse_ci_relation,
    "task_ci": parse_task_ci,
}
"""Parser of each accepted table, keyed by table name."""
