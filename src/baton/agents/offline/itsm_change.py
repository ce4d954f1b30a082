"""The offline ITSM-change reasoner: which recorded change most likely caused this incident.

Fixed plan, every read through the `call` it is given (so the loop checks, counts and
audits each one): `itsm.get_ci` for each affected CI, `itsm.related_cis` for each one found
(the blast radius), then one `itsm.recent_changes` over those CIs and their neighbours for
the lookback window before detection. Candidates are scored by `change_score` (time to
detection, CMDB distance, type, risk, outcome); the finding lists those above a floor, best
first, or abstains: "no change explains this".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from baton.agents.base import AgentBrief, ToolCaller
from baton.agents.offline.change_score import duration, score_change, timing
from baton.domain.finding import AgentName, Finding, Quote, Suspect, SuspectKind

MAX_CHANGE_CIS = 200
"""The most CIs one `itsm.recent_changes` call accepts (its argument schema)."""


@dataclass
class _Reach:
    """How a CI relates to the incident: hops from an affected CI, and the path walked."""

    sys_id: str
    name: str
    distance: int
    origin: str
    path: list[str]


@dataclass
class _Candidate:
    change: dict[str, Any]
    reach: _Reach
    via: str
    score: float
    factors: dict[str, float]
    reasons: list[str]
    minutes_before: float
    gap_minutes: float


class ItsmChangeReasoner:
    """Deterministic stand-in for the ITSM-change agent (see the module docstring).

    `depth`: CMDB hops to follow from each affected CI. `lookback`: how far before
    detection changes are considered (the brief's window start, if earlier, wins).
    `min_score`: the floor below which a change does not explain the incident.
    `max_cis`: affected CIs examined (two calls each), so the plan fits a tool budget.
    """

    agent = AgentName.ITSM_CHANGE
    tools: tuple[str, ...] = ("itsm.get_ci", "itsm.related_cis", "itsm.recent_changes")

    def __init__(
        self,
        *,
        depth: int = 2,
        lookback: timedelta = timedelta(days=7),
        min_score: float = 0.1,
        max_cis: int = 5,
        max_suspects: int = 5,
    ) -> None:
        self.depth = depth
        self.lookback = lookback
        self.min_score = min_score
        self.max_cis = max_cis
        self.max_suspects = max_suspects

    def reason(self, brief: AgentBrief, call: ToolCaller) -> Finding:
        notes: list[str] = []
        affected = list(dict.fromkeys(brief.incident.cis))
        if not affected:
            return self._abstain(
                "No change checked: the incident names no configuration item.",
                ["the incident lists no affected CI, so there is nothing to correlate"],
                confidence=0.0,
            )
        if len(affected) > self.max_cis:
            notes.append(
                f"{len(affected)} affected CIs; only the first {self.max_cis} were examined"
            )
            affected = affected[: self.max_cis]

        reach = self._affected(affected, call, notes)
        if not reach:
            return self._abstain(
                "No change checked: no affected CI could be found in the CMDB (see notes).",
                notes,
                0.0,
            )
        self._neighbours(reach, call, notes)

        detected = brief.incident.detected_at
        since = min(brief.window_start, detected - self.lookback)
        changes = self._changes(reach, since, detected, call, notes)
        if changes is None:
            return self._abstain("Could not read recent changes.", notes, 0.0)

        candidates = self._score(changes, reach, detected, notes)
        window = f"{duration((detected - since).total_seconds() / 60)} before detection"
        strong = [c for c in candidates if c.score >= self.min_score][: self.max_suspects]
        if not strong:
            best = candidates[0].score if candidates else 0.0
            if candidates:
                notes.append(
                    f"closest candidate {candidates[0].change['number']} scored {best:.2f}, "
                    f"below the {self.min_score:.2f} floor"
                )
            return self._abstain(
                f"No change explains this: {len(candidates)} change(s) on the {len(reach)} "
                f"CIs in reach in the {window}, none close enough in time and topology.",
                notes,
                # Recorded changes are never the whole truth (unrecorded changes happen).
                confidence=round(0.8 * (1 - best), 2),
            )
        top = strong[0]
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        others = len(candidates) - 1
        return Finding(
            agent=self.agent,
            produced_by="offline",
            summary=(
                f"{top.change['number']} on {top.reach.name} is the most likely cause: "
                f"{'; '.join(top.reasons[:2])}. {others} other change(s) on the {len(reach)} "
                f"CIs in reach in the {window}, {len(strong) - 1} of them also above the floor."
            ),
            # A close runner-up makes the top suspect less certain.
            confidence=round(max(0.0, top.score - runner_up / 2), 2),
            suspects=[self._suspect(c) for c in strong],
            notes=notes,
        )

    def _affected(self, keys: list[str], call: ToolCaller, notes: list[str]) -> dict[str, _Reach]:
        reach: dict[str, _Reach] = {}
        for key in keys:
            result = call("itsm.get_ci", {"ci": key})
            if not result.ok:
                notes.append(f"itsm.get_ci failed for CI {key!r}: {result.error}")
                continue
            data = result.data or {}
            if not data.get("found"):
                notes.append(str(data.get("note") or f"unknown CI {key!r}"))
                continue
            ci = data["ci"]
            name = ci.get("name") or ci["sys_id"]
            reach.setdefault(ci["sys_id"], _Reach(ci["sys_id"], name, 0, name, []))
        return reach

    def _neighbours(self, reach: dict[str, _Reach], call: ToolCaller, notes: list[str]) -> None:
        """Add each affected CI's CMDB neighbours to `reach`, keeping the shortest path."""
        for origin in list(reach.values()):
            result = call("itsm.related_cis", {"ci": origin.sys_id, "depth": self.depth})
            if not result.ok:
                notes.append(f"itsm.related_cis failed for {origin.name}: {result.error}")
                continue
            if result.truncated:
                notes.append(f"blast radius of {origin.name} was cut to the nearest CIs")
            for item in (result.data or {}).get("related", []):
                sys_id, distance = item["sys_id"], int(item["distance"])
                known = reach.get(sys_id)
                if known is None or distance < known.distance:
                    name = item.get("name") or sys_id
                    reach[sys_id] = _Reach(sys_id, name, distance, origin.name, item["path"])

    def _changes(
        self,
        reach: dict[str, _Reach],
        since: datetime,
        until: datetime,
        call: ToolCaller,
        notes: list[str],
    ) -> list[dict[str, Any]] | None:
        nearest = sorted(reach.values(), key=lambda r: r.distance)
        if len(nearest) > MAX_CHANGE_CIS:
            notes.append(f"{len(nearest)} CIs in reach; changes read for the nearest 200")
            nearest = nearest[:MAX_CHANGE_CIS]
        result = call(
            "itsm.recent_changes",
            {
                "ci_ids": [r.sys_id for r in nearest],
                "since": since.isoformat(),
                "until": until.isoformat(),
                "limit": 200,
            },
        )
        if not result.ok:
            notes.append(f"itsm.recent_changes failed: {result.error}")
            return None
        if result.truncated:
            notes.append("more changes in the window than one read returns; the latest were used")
        changes: list[dict[str, Any]] = (result.data or {}).get("changes", [])
        return changes

    def _score(
        self,
        changes: list[dict[str, Any]],
        reach: dict[str, _Reach],
        detected: datetime,
        notes: list[str],
    ) -> list[_Candidate]:
        candidates: list[_Candidate] = []
        for change in changes:
            when = timing(change)
            state = (change.get("state") or "").lower()
            if when is None or when.started > detected:
                continue  # began after detection: cannot be the cause
            if state in ("canceled", "cancelled") and not change.get("work_start"):
                notes.append(f"{change['number']} was canceled before any work; ignored")
                continue
            matched = change.get("matched_cis", [])
            links = [(reach[m["sys_id"]], m["via"]) for m in matched if m["sys_id"] in reach]
            if not links:
                continue
            where, via = min(links, key=lambda link: link[0].distance)
            score = score_change(change, when, where.distance, detected)
            score.reasons.insert(1, _where(where, via))
            candidates.append(
                _Candidate(
                    change,
                    where,
                    via,
                    score.value,
                    score.factors,
                    score.reasons,
                    round(when.minutes_before(detected), 1),
                    round(when.gap_minutes(detected), 1),
                )
            )
        candidates.sort(key=lambda c: (-c.score, c.minutes_before, c.change["number"]))
        return candidates

    def _suspect(self, c: _Candidate) -> Suspect:
        change = c.change
        return Suspect(
            kind=SuspectKind.CHANGE,
            ref=change["number"],
            title=f"{change['number']}: {change.get('type') or 'unknown-type'} change on "
            f"{c.reach.name}",
            score=c.score,
            ci=c.reach.name,
            reasons=c.reasons,
            quotes=[Quote.model_validate(q) for q in change.get("quotes", [])],
            facts={
                "distance": c.reach.distance,
                "minutes_before": c.minutes_before,
                "gap_minutes": c.gap_minutes,
                "type": change.get("type"),
                "risk": change.get("risk"),
                "state": change.get("state"),
                "close_code": change.get("close_code"),
                "ci_sys_id": c.reach.sys_id,
                "affected_ci": c.reach.origin,
                "path": c.reach.path,
                "via": c.via,
                "work_start": change.get("work_start"),
                "work_end": change.get("work_end"),
                "planned_start": change.get("planned_start"),
                "planned_end": change.get("planned_end"),
                "factors": c.factors,
            },
        )

    def _abstain(self, summary: str, notes: list[str], confidence: float) -> Finding:
        return Finding(
            agent=self.agent,
            produced_by="offline",
            summary=summary,
            abstained=True,
            confidence=confidence,
            notes=notes,
        )


def _where(reach: _Reach, via: str) -> str:
    listed = " (listed as affected in task_ci)" if via == "task_ci" else ""
    if reach.distance == 0:
        return f"made on affected CI {reach.name}{listed}"
    return (
        f"made on {reach.name}{listed}, {reach.distance} hop(s) from affected CI "
        f"{reach.origin}: {' / '.join(reach.path)}"
    )
