"""An in-memory view of the ITSM records: CI lookup, CMDB walks, changes per CI and window."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from baton.tools.readers.itsm.records import ChangeRequest, CiRelation, ConfigItem, TaskCi

Via = Literal["cmdb_ci", "task_ci"]
"""How a change names a CI: as its own CI (`cmdb_ci`) or as an affected CI (`task_ci`)."""


@dataclass(frozen=True)
class Hop:
    """One step of a CMDB walk: from `source` over a relation to `target`."""

    source: str
    target: str
    relation: str
    """The relation read in the walk's direction, e.g. "depends on" or "used by"."""
    strength: str | None = None
    """The relation's `connection_strength` (always, often, occasionally, ...), if recorded."""

    def describe(self, index: ItsmIndex) -> str:
        return f"{index.label(self.source)} {self.relation} {index.label(self.target)}"


@dataclass(frozen=True)
class Neighbour:
    """A CI reached from the origin in `distance` hops (the shortest walk, either direction)."""

    sys_id: str
    distance: int
    path: tuple[Hop, ...]
    depended_on: bool = False
    """Whether the origin depends on it: reached over dependency relations only, each read
    from the dependent side (depends on, runs on, hosted on, uses, connected by...)."""


@dataclass(frozen=True)
class ChangeMatch:
    """A change touching one of the queried CIs: directly (`cmdb_ci`) or listed in `task_ci`."""

    change: ChangeRequest
    cis: tuple[tuple[str, Via], ...]


INVERTED = frozenset(
    {
        "provides",
        "powers",
        "hosts",
        "runs",
        "manages",
        "used by",
        "member of",
        "contained by",
        "connects",
        "virtualizes",
        "receives data from",
    }
)
"""Forward (parent-to-child) labels where the child depends on the parent. In every other
relation type the parent is the dependent (ServiceNow's convention: `Depends on::Used by`,
`Runs on::Runs`, `Hosted on::Hosts`, `Connected by::Connects`...)."""


def _directions(label: str) -> tuple[str, str]:
    """("Depends on", "Used by") from "Depends on::Used by": parent-to-child, child-to-parent."""
    forward, _, backward = label.partition("::")
    forward = forward.strip() or "related to"
    return forward.lower(), (backward.strip() or f"{forward} (reverse)").lower()


def windows(change: ChangeRequest) -> list[tuple[datetime, datetime | None]]:
    """The planned and actual windows of a change; an end of None means still in progress.

    A planned window without an end is an instant; an actual window without `work_end`
    ends at `closed_at`, and without that too it is still open.
    """
    spans: list[tuple[datetime, datetime | None]] = []
    planned = change.start_date or change.end_date
    if planned is not None:
        spans.append((planned, change.end_date or planned))
    if change.work_start:
        spans.append((change.work_start, change.work_end or change.closed_at))
    return spans


def touches(change: ChangeRequest, since: datetime, until: datetime) -> bool:
    """True when a planned or actual window of the change overlaps [since, until]."""
    return any(start <= until and (end is None or end >= since) for start, end in windows(change))


class ItsmIndex:
    """Parsed records of the four tables, indexed for the read-only tools."""

    def __init__(
        self,
        *,
        changes: list[ChangeRequest],
        cis: list[ConfigItem],
        relations: list[CiRelation],
        task_cis: list[TaskCi],
    ) -> None:
        self.cis = {ci.sys_id: ci for ci in cis}
        self.changes = {change.sys_id: change for change in changes}
        self._by_name: dict[str, list[ConfigItem]] = defaultdict(list)
        for ci in cis:
            if ci.name:
                self._by_name[ci.name.casefold()].append(ci)
        self._names: dict[str, str] = {}
        self._edges: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
        self._needs: dict[str, list[str]] = defaultdict(list)
        """CI -> the CIs it depends on directly."""
        for rel in relations:
            forward, backward = _directions(rel.type_label)
            self._edges[rel.parent.value].append((rel.child.value, forward, rel.strength))
            self._edges[rel.child.value].append((rel.parent.value, backward, rel.strength))
            if forward in INVERTED:
                self._needs[rel.child.value].append(rel.parent.value)
            else:
                self._needs[rel.parent.value].append(rel.child.value)
            for ref in (rel.parent, rel.child):
                if ref.display_value:
                    self._names.setdefault(ref.value, ref.display_value)
        self._changes_by_ci: dict[str, list[tuple[str, Via]]] = defaultdict(list)
        for change in changes:
            if change.cmdb_ci:
                self._changes_by_ci[change.cmdb_ci.value].append((change.sys_id, "cmdb_ci"))
        for link in task_cis:
            if link.task.value in self.changes:
                self._changes_by_ci[link.ci_item.value].append((link.task.value, "task_ci"))

    def label(self, sys_id: str, fallback: str | None = None) -> str:
        """A CI's name when known (from cmdb_ci or a relation's display value), else
        `fallback` (e.g. a reference's display value), else its sys_id."""
        ci = self.cis.get(sys_id)
        if ci and ci.name:
            return ci.name
        return self._names.get(sys_id) or fallback or sys_id

    def lookup(self, key: str) -> list[ConfigItem]:
        """CIs matching a sys_id exactly or a name case-insensitively (several if ambiguous)."""
        if key in self.cis:
            return [self.cis[key]]
        return list(self._by_name.get(key.casefold(), []))

    def related(self, sys_id: str, depth: int) -> list[Neighbour]:
        """CIs within `depth` relation hops, in either direction, nearest first (BFS)."""
        paths: dict[str, tuple[Hop, ...]] = {sys_id: ()}
        queue = deque([sys_id])
        found: list[Neighbour] = []
        needed = self.dependencies(sys_id, depth)
        while queue:
            current = queue.popleft()
            path = paths[current]
            if len(path) >= depth:
                continue
            for target, relation, strength in self._edges.get(current, []):
                if target in paths:
                    continue
                paths[target] = (*path, Hop(current, target, relation, strength))
                found.append(Neighbour(target, len(path) + 1, paths[target], target in needed))
                queue.append(target)
        return found

    def dependencies(self, sys_id: str, depth: int) -> set[str]:
        """CIs `sys_id` depends on, directly or through others, within `depth` hops."""
        seen = {sys_id: 0}
        queue = deque([sys_id])
        while queue:
            current = queue.popleft()
            if seen[current] >= depth:
                continue
            for target in self._needs.get(current, []):
                if target not in seen:
                    seen[target] = seen[current] + 1
                    queue.append(target)
        seen.pop(sys_id)
        return set(seen)

    def changes_on(self, ci_ids: set[str], since: datetime, until: datetime) -> list[ChangeMatch]:
        """Changes on any of `ci_ids` whose planned or actual window overlaps [since, until]."""
        matched: dict[str, list[tuple[str, Via]]] = defaultdict(list)
        for ci_id in sorted(ci_ids):  # a set: sorted, so the answer never varies
            for change_id, via in self._changes_by_ci.get(ci_id, []):
                if (ci_id, via) not in matched[change_id]:
                    matched[change_id].append((ci_id, via))
        result = [
            ChangeMatch(self.changes[change_id], tuple(cis))
            for change_id, cis in matched.items()
            if touches(self.changes[change_id], since, until)
        ]
        result.sort(key=lambda m: (_started(m.change), m.change.number), reverse=True)
        return result


def started(change: ChangeRequest) -> datetime | None:
    """When the change began: its actual start, else its planned one."""
    return change.work_start or change.start_date or change.end_date


def _started(change: ChangeRequest) -> datetime:
    return started(change) or datetime.min.replace(tzinfo=UTC)
