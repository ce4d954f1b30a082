"""Change freeze windows: while one is active, gates are re-imposed (and some risks refused)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from baton.errors import ConfigError, flat, one_line
from baton.runbooks.pattern import Risk


class FreezeWindow(BaseModel):
    """A period (e.g. quarter-end close) in which no pattern runs without a person."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    start: datetime
    end: datetime
    environments: list[str] = Field(default_factory=list, description="Empty: every one.")
    block: list[Risk] = Field(
        default_factory=list, description="Risks refused outright during the window."
    )
    reason: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> FreezeWindow:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a timezone (e.g. 2026-12-31T00:00:00Z)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def covers(self, at: datetime, environment: str | None) -> bool:
        in_time = self.start <= at < self.end
        return in_time and (not self.environments or environment in self.environments)


class FreezeCalendar(BaseModel):
    model_config = ConfigDict(extra="forbid")

    windows: list[FreezeWindow] = Field(default_factory=list)

    def active(self, at: datetime, environment: str | None) -> FreezeWindow | None:
        """The first window covering `at` in `environment`, if any."""
        return next((w for w in self.windows if w.covers(at, environment)), None)


def load_calendar(path: Path | None) -> FreezeCalendar:
    """The calendar in `path` (YAML `windows: [...]`); none configured or absent → empty."""
    if path is None or not path.exists():
        return FreezeCalendar()
    try:
        yaml = YAML(typ="safe", pure=True)
        data = yaml.load(path.read_text(encoding="utf-8")) or {}
        return FreezeCalendar.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid freeze calendar: {one_line(exc)}") from None
    except (OSError, YAMLError) as exc:
        raise ConfigError(f"{path}: invalid freeze calendar: {flat(exc)}") from None
