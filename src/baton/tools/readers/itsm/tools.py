"""The read-only ITSM tools agents may call: `itsm.get_ci`, `itsm.related_cis`,
`itsm.recent_changes`. Each answers from the embedded store; a missing record is an ok
result with a note, a broken store an `ok=False` result, never an exception.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from baton.errors import BatonError
from baton.settings import Settings
from baton.tools.readers.base import ReadTool, ToolResult
from baton.tools.readers.itsm.index import ItsmIndex
from baton.tools.readers.itsm.records import ConfigItem
from baton.tools.readers.itsm.store import ItsmStore, itsm_dir
from baton.tools.readers.itsm.views import change_view, ci_view, neighbour_view

CI_KEY_DOC = "A CI's sys_id, or its name (case-insensitive), e.g. 'checkout-api'."


class GetCiArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ci: str = Field(min_length=1, max_length=200, description=CI_KEY_DOC)


class RelatedCisArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ci: str = Field(min_length=1, max_length=200, description=CI_KEY_DOC)
    depth: int = Field(
        default=2, ge=1, le=5, description="Relation hops to follow, in both directions."
    )
    limit: int = Field(default=100, ge=1, le=500, description="Most CIs to return, nearest first.")


class RecentChangesArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ci_ids: list[str] = Field(
        min_length=1,
        max_length=200,
        description="CIs (sys_ids or names); a change counts if it names any of them as its "
        "CI (cmdb_ci) or lists it as affected (task_ci).",
    )
    since: datetime = Field(description="Window start, ISO 8601; a time without zone is UTC.")
    until: datetime = Field(description="Window end, ISO 8601; a time without zone is UTC.")
    limit: int = Field(
        default=50, ge=1, le=200, description="Most changes to return, latest first."
    )

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    @model_validator(mode="after")
    def _ordered(self) -> RecentChangesArgs:
        if self.since > self.until:
            raise ValueError("'since' must not be after 'until'")
        return self


def _unknown(key: str) -> dict[str, Any]:
    return {
        "query": key,
        "found": False,
        "note": f"unknown CI {key!r}: no cmdb_ci record has this sys_id or name",
    }


def _resolve(index: ItsmIndex, key: str) -> ConfigItem | dict[str, Any]:
    """The one CI a key names, or the data of an ok result explaining why there is none."""
    matches = index.lookup(key)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        return _unknown(key)
    return {
        "query": key,
        "found": False,
        "note": f"CI name {key!r} is ambiguous ({len(matches)} CIs); ask again by sys_id",
        "candidates": [ci_view(ci) for ci in matches],
    }


class _ItsmTool(ABC):
    """Shared plumbing: argument coercion and turning store errors into results."""

    name: str
    description: str
    args_model: type[BaseModel]

    def __init__(self, store: ItsmStore) -> None:
        self.store = store

    def call(self, args: BaseModel) -> ToolResult:
        try:
            parsed = self.args_model.model_validate(args.model_dump())
            return self._answer(self.store.index(), parsed)
        except ValidationError as exc:
            return ToolResult(tool=self.name, ok=False, error=f"invalid arguments: {exc}")
        except BatonError as exc:
            return ToolResult(tool=self.name, ok=False, error=f"ITSM store: {exc.message}")

    @abstractmethod
    def _answer(self, index: ItsmIndex, args: Any) -> ToolResult:
        """Answer validated `args` from the current index."""


class GetCi(_ItsmTool):
    name = "itsm.get_ci"
    description = (
        "Look up one configuration item (CI) in the CMDB by sys_id or name: class, "
        "operational status, support group. Unknown CIs come back with found=false."
    )
    args_model: type[BaseModel] = GetCiArgs

    def _answer(self, index: ItsmIndex, args: GetCiArgs) -> ToolResult:
        ci = _resolve(index, args.ci)
        if isinstance(ci, dict):
            return ToolResult(tool=self.name, ok=True, data=ci)
        return ToolResult(
            tool=self.name, ok=True, data={"query": args.ci, "found": True, "ci": ci_view(ci)}
        )


class RelatedCis(_ItsmTool):
    name = "itsm.related_cis"
    description = (
        "CIs related to one CI through CMDB relations (cmdb_rel_ci), both directions, up to "
        "`depth` hops: the blast radius. Each comes with its distance and the relation path."
    )
    args_model: type[BaseModel] = RelatedCisArgs

    def _answer(self, index: ItsmIndex, args: RelatedCisArgs) -> ToolResult:
        ci = _resolve(index, args.ci)
        if isinstance(ci, dict):
            return ToolResult(tool=self.name, ok=True, data=ci)
        related = index.related(ci.sys_id, args.depth)
        shown = related[: args.limit]
        return ToolResult(
            tool=self.name,
            ok=True,
            truncated=len(related) > len(shown),
            data={
                "query": args.ci,
                "found": True,
                "ci": ci_view(ci),
                "depth": args.depth,
                "count": len(related),
                "related": [neighbour_view(index, n) for n in shown],
            },
        )


class RecentChanges(_ItsmTool):
    name = "itsm.recent_changes"
    description = (
        "Change requests on the given CIs whose planned or actual window overlaps "
        "[since, until], latest first: type, risk, state, close code, windows, and their "
        "text as quoted data."
    )
    args_model: type[BaseModel] = RecentChangesArgs

    def _answer(self, index: ItsmIndex, args: RecentChangesArgs) -> ToolResult:
        ci_ids: set[str] = set()
        unknown: list[str] = []
        for key in dict.fromkeys(args.ci_ids):
            matches = index.lookup(key)
            if matches:
                ci_ids.update(ci.sys_id for ci in matches)
            else:
                unknown.append(key)
        found = index.changes_on(ci_ids, args.since, args.until)
        shown = found[: args.limit]
        data: dict[str, Any] = {
            "since": args.since.isoformat(),
            "until": args.until.isoformat(),
            "cis": sorted(ci_ids),
            "count": len(found),
            "changes": [change_view(index, match) for match in shown],
        }
        if unknown:
            data["unknown_cis"] = unknown
            data["note"] = f"unknown CI(s), not searched: {', '.join(map(repr, unknown))}"
        return ToolResult(tool=self.name, ok=True, truncated=len(found) > len(shown), data=data)


def itsm_tools(source: Settings | Path | ItsmStore) -> list[ReadTool]:
    """The three ITSM tools over one store: `Settings` (its `data_dir/itsm`), a directory,
    or an `ItsmStore`. They share the store, so its parsed index is built once."""
    if isinstance(source, ItsmStore):
        store = source
    elif isinstance(source, Settings):
        store = ItsmStore(itsm_dir(source))
    else:
        store = ItsmStore(source)
    return [GetCi(store), RelatedCis(store), RecentChanges(store)]
