"""Typed ITSM records: the fields of ServiceNow tables that change correlation needs.

Values are kept as ServiceNow stores them (choice codes such as risk "2", state "-1"), with
the label when the response carried one; the `*_label` properties fall back to the labels
of an out-of-the-box instance. Free-text fields (descriptions, notes) are attacker-
influenced: they are stored as given and only ever leave through `Quote`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

TABLES = ("change_request", "cmdb_ci", "cmdb_rel_ci", "task_ci")
"""The tables the ITSM store accepts, in the order they are loaded and reported."""

# Out-of-the-box choice labels (change_request since Istanbul; cmdb_ci operational_status).
CHANGE_STATES = {
    "-5": "new",
    "-4": "assess",
    "-3": "authorize",
    "-2": "scheduled",
    "-1": "implement",
    "0": "review",
    "3": "closed",
    "4": "canceled",
}
CHANGE_RISKS = {"1": "very high", "2": "high", "3": "moderate", "4": "low"}
CHANGE_IMPACTS = {"1": "high", "2": "medium", "3": "low"}
OPERATIONAL_STATUS = {
    "1": "operational",
    "2": "non-operational",
    "3": "repair in progress",
    "4": "dr standby",
    "5": "ready",
    "6": "retired",
}


class Ref(BaseModel):
    """A reference field: the sys_id it points at, and its display value when known."""

    model_config = ConfigDict(frozen=True)

    value: str = Field(description="sys_id of the referenced record.")
    display_value: str | None = None
    link: str | None = None

    @property
    def label(self) -> str:
        return self.display_value or self.value


def _label(value: str | None, given: str | None, known: dict[str, str]) -> str | None:
    if given:
        return given.lower()
    if value is None:
        return None
    return known.get(value, value.lower())


class ChangeRequest(BaseModel):
    """One `change_request` record."""

    model_config = ConfigDict(frozen=True)

    sys_id: str
    number: str
    short_description: str | None = None
    description: str | None = None
    type: str | None = Field(default=None, description="normal, standard or emergency.")
    risk: str | None = None
    impact: str | None = None
    state: str | None = None
    phase: str | None = None
    start_date: datetime | None = Field(default=None, description="Planned start (UTC).")
    end_date: datetime | None = Field(default=None, description="Planned end (UTC).")
    work_start: datetime | None = Field(default=None, description="Actual start (UTC).")
    work_end: datetime | None = Field(default=None, description="Actual end (UTC).")
    closed_at: datetime | None = None
    close_code: str | None = None
    close_notes: str | None = None
    cmdb_ci: Ref | None = None
    assignment_group: Ref | None = None
    category: str | None = Field(default=None, description="e.g. software, network, hardware.")
    backout_plan: str | None = None
    implementation_plan: str | None = None
    work_notes: str | None = None
    labels: dict[str, str] = Field(
        default_factory=dict, description="Display values the response carried, by field."
    )

    @property
    def state_label(self) -> str | None:
        return _label(self.state, self.labels.get("state"), CHANGE_STATES)

    @property
    def risk_label(self) -> str | None:
        return _label(self.risk, self.labels.get("risk"), CHANGE_RISKS)

    @property
    def impact_label(self) -> str | None:
        return _label(self.impact, self.labels.get("impact"), CHANGE_IMPACTS)


class ConfigItem(BaseModel):
    """One `cmdb_ci` record (any class: the class is in `sys_class_name`)."""

    model_config = ConfigDict(frozen=True)

    sys_id: str
    name: str | None = None
    sys_class_name: str | None = None
    operational_status: str | None = None
    install_status: str | None = None
    environment: str | None = None
    support_group: Ref | None = None
    short_description: str | None = None
    version: str | None = Field(default=None, description="Installed version or firmware.")
    valid_from: datetime | None = Field(default=None, description="Certificate: valid from.")
    valid_to: datetime | None = Field(default=None, description="Certificate: expiry (UTC).")
    issuer: str | None = Field(default=None, description="Certificate: issuing CA.")
    labels: dict[str, str] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name or self.sys_id

    @property
    def operational_status_label(self) -> str | None:
        return _label(
            self.operational_status, self.labels.get("operational_status"), OPERATIONAL_STATUS
        )


class CiRelation(BaseModel):
    """One `cmdb_rel_ci` record: `parent` relates to `child` by `type`.

    The type's display value reads parent-first, e.g. "Depends on::Used by": the parent
    depends on the child, the child is used by the parent.
    """

    model_config = ConfigDict(frozen=True)

    sys_id: str
    parent: Ref
    child: Ref
    type: Ref | None = None
    strength: str | None = Field(
        default=None,
        description="connection_strength: always, often, occasionally, seldom, infrequently.",
    )

    @property
    def type_label(self) -> str:
        """`Depends on::Used by`: the display value, or the name of a ServiceNow base type
        when the export holds only its sys_id (these are the same on every instance)."""
        if self.type is None:
            return "related to"
        if not self.type.display_value and self.type.value in BASE_REL_TYPES:
            return BASE_REL_TYPES[self.type.value]
        return self.type.label


BASE_REL_TYPES = {
    "1a9cb166f1571100a92eb60da2bce5c5": "Depends on::Used by",
    "60bc4e22c0a8010e01f074cbe6bd73c3": "Runs on::Runs",
    "5f985e0ec0a8010e00a9714f2a172815": "Hosted on::Hosts",
    "55c95bf6c0a8010e0118ec7056ebc54d": "Contains::Contained by",
    "5599a965c0a8010e00da3b58b113d70e": "Connects to::Connected by",
    "cb5592603751200032ff8c00dfbe5d17": "Uses::Used by",
    "a99d39118f10310091769012cbbe4429": "Cluster of::Cluster",
    "25242fb2377a9200738d021a54990e88": "Owns::Owned by",
}
"""sys_ids of relation types every ServiceNow instance ships (cmdb_rel_type), by name."""


class TaskCi(BaseModel):
    """One `task_ci` record: a task (here, a change) lists `ci_item` as an affected CI."""

    model_config = ConfigDict(frozen=True)

    sys_id: str
    task: Ref
    ci_item: Ref
