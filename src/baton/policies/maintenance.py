"""Maintenance windows: alerts that match one while it is open start nothing.

`$BATON_HOME/maintenance.yaml` (or `BATON_MAINTENANCE_FILE`):

    windows:
      - name: db-upgrade-2026-12
        start: 2026-12-05T01:00:00Z
        end: 2026-12-05T03:00:00Z
        match: {service: postgres}     # alert labels (or service/environment); all must hold
        reason: planned major upgrade, CHG0040012

An alert in a window is recorded (it is evidence) and answered `suppressed` with the window's
name; an incident already open for its group still takes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from baton.errors import ConfigError, flat, one_line


class MaintenanceWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    start: datetime
    end: datetime
    match: dict[str, str] = Field(default_factory=dict, description="Empty: every alert.")
    reason: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a timezone (e.g. 2026-12-31T00:00:00Z)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def covers(self, at: datetime, labels: Mapping[str, str]) -> bool:
        in_time = self.start <= at < self.end
        return in_time and all(labels.get(k) == v for k, v in self.match.items())


class MaintenanceCalendar(BaseModel):
    model_config = ConfigDict(extra="forbid")

    windows: list[MaintenanceWindow] = Field(default_factory=list)

    def active(self, at: datetime, labels: Mapping[str, str]) -> MaintenanceWindow | None:
        return next((w for w in self.windows if w.covers(at, labels)), None)


def load_maintenance(path: Path | None) -> MaintenanceCalendar:
    """The calendar in `path`; absent → no windows. A bad file is a config error, not silence."""
    if path is None or not path.exists():
        return MaintenanceCalendar()
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}
        return MaintenanceCalendar.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid maintenance calendar: {one_line(exc)}") from None
    except (OSError, YAMLError) as exc:
        raise ConfigError(f"{path}: invalid maintenance calendar: {flat(exc)}") from None
