"""The offline ITSM-change reasoner: which recorded change explains this incident, if any.

Fixed plan, every read through the `call` it is given (so the loop checks, counts and
audits each one):

1. `itsm.related_cis` for each affected CI (it returns the CI itself too): the CMDB reach,
   several hops deep, with the class, version and certificate validity of every CI in it;
2. `logs.compare` and `logs.search` (`symptoms.gather`): the symptoms and their onset, in
   windows relative to detection, plus the alert that opened the incident;
3. one `itsm.recent_changes` over the CIs in reach, a month back from detection.

Each change is weighed by `change_score.assess` on each CI it touches (ruled out, or how
well it explains the symptoms, times its reach). The finding names the best one with the
reasons and quotes behind it, or abstains with the reason: no change explains the symptoms,
or something other than a change does: a certificate that expired, a capacity limit
reached, a dependency several affected CIs share failing, a power or facility failure, or a
change the logs show but no record holds (an unattended upgrade). The lines that appeared
just before the onset are quoted as context.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from baton.agents.base import AgentBrief, ToolCaller
from baton.agents.offline import symptoms as symptom_reader
from baton.agents.offline import vocab
from baton.agents.offline.change_score import (
    GENERIC_KIND,
    SKEW,
    Assessment,
    Reach,
    assess,
    change_text,
    duration,
    rarity,
    timing,
)
from baton.agents.offline.symptoms import Symptoms, Template, expired_certificate
from baton.domain.finding import AgentName, Finding, Quote, Suspect, SuspectKind

MAX_CHANGE_CIS = 200
"""The most CIs one `itsm.recent_changes` call accepts (its argument schema)."""
MAX_PLACES = 12
"""The most CIs in reach one change is weighed on (a change listing many CIs)."""


class ItsmChangeReasoner:
    """Deterministic stand-in for the ITSM-change agent (see the module docstring).

    `depth`: CMDB hops to follow from each affected CI. `lookback`: how far before
    detection changes are considered (the brief's window start, if earlier, wins).
    `min_score`: below it a change does not explain the incident. `max_cis`: affected CIs
    whose neighbours are walked (one call each); further affected CIs are still searched
    for changes, as affected CIs.
    """

    agent = AgentName.ITSM_CHANGE
    tools: tuple[str, ...] = (
        "itsm.get_ci",
        "itsm.related_cis",
        "itsm.recent_changes",
        "logs.compare",
        "logs.templates",
        "logs.search",
    )

    def __init__(
        self,
        *,
        depth: int = 4,
        lookback: timedelta = timedelta(days=30),
        min_score: float = 0.25,
        max_cis: int = 6,
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
            return _abstain(
                "No change checked: the incident names no configuration item.",
                ["the incident lists no affected CI, so there is nothing to correlate"],
                confidence=0.0,
            )
        reach, needs = self._reach(affected, call, notes)
        if not reach:
            return _abstain(
                "No change checked: no affected CI could be found in the CMDB (see notes).",
                notes,
                0.0,
            )
        affected_names = [r.name for r in reach.values() if r.distance == 0]
        seen = symptom_reader.gather(brief, call, affected_names)
        notes += seen.notes
        detected = seen.detected
        since = min(brief.window_start, detected - self.lookback)
        changes = self._changes(reach, since, detected, call, notes)
        if changes is None:
            return _abstain("Could not read recent changes.", notes, 0.0)
        seen.ci_names = {r.name for r in reach.values()}
        seen.affected = {r.name for r in reach.values() if r.distance == 0}
        seen.needs = needs
        seen.aliases = {r.name: _aliases(r) for r in reach.values()}
        seen.paths = {r.name: set(r.ci.get("through") or []) for r in reach.values()}
        ranked = self._assess(changes, reach, seen, notes)
        window = f"{duration((detected - since).total_seconds() / 60)} before detection"
        return self._decide(ranked, reach, seen, window, notes)

    # ---- reading ------------------------------------------------------------------------

    def _reach(
        self, keys: list[str], call: ToolCaller, notes: list[str]
    ) -> tuple[dict[str, Reach], dict[str, set[str]]]:
        """The CIs in reach of the affected ones (nearest way to each), and what each walked
        affected CI depends on (by name)."""
        reach: dict[str, Reach] = {}
        needs: dict[str, set[str]] = {}
        walked = 0
        for key in keys:
            if walked >= self.max_cis:
                reach.setdefault(key, Reach(key, key, 0, key, []))  # searched by name
                continue
            walked += 1
            result = call("itsm.related_cis", {"ci": key, "depth": self.depth, "limit": 300})
            if not result.ok:
                notes.append(f"itsm.related_cis failed for CI {key!r}: {result.error}")
                continue
            data = result.data or {}
            if not data.get("found"):
                notes.append(str(data.get("note") or f"unknown CI {key!r}"))
                continue
            ci = data["ci"]
            name = ci.get("name") or ci["sys_id"]
            reach[ci["sys_id"]] = Reach(ci["sys_id"], name, 0, name, [], [], ci)
            if result.truncated:
                notes.append(f"the CMDB reach of {name} was cut to its nearest CIs")
            related = data.get("related", [])
            needs[name] = {str(i.get("name")) for i in related if i.get("depended_on")}
            for item in related:
                sys_id, distance = item["sys_id"], int(item["distance"])
                known = reach.get(sys_id)
                if known is None or distance < known.distance:
                    reach[sys_id] = Reach(
                        sys_id,
                        item.get("name") or sys_id,
                        distance,
                        name,
                        item["path"],
                        item.get("strengths") or [],
                        item,
                    )
        if len(keys) > self.max_cis:
            notes.append(
                f"{len(keys)} affected CIs: the neighbours of the first {self.max_cis} were "
                "walked; changes on all of them were read"
            )
        return reach, needs

    def _changes(
        self,
        reach: dict[str, Reach],
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

    # ---- weighing -----------------------------------------------------------------------

    def _assess(
        self,
        changes: list[dict[str, Any]],
        reach: dict[str, Reach],
        seen: Symptoms,
        notes: list[str],
    ) -> list[Assessment]:
        placed: list[tuple[dict[str, Any], Reach, str]] = []
        for change in changes:
            state = (change.get("state") or "").lower()
            if state in ("canceled", "cancelled") and not change.get("work_start"):
                notes.append(f"{change['number']} was canceled before any work; ignored")
                continue
            links = [
                (reach[m["sys_id"]], m["via"])
                for m in change.get("matched_cis", [])
                if m["sys_id"] in reach
            ]
            links += [
                (reach[m["name"]], m["via"])
                for m in change.get("matched_cis", [])
                if m.get("name") in reach
            ]
            # one place per CI (the nearest way to it), nearest CIs first, names breaking ties
            places: dict[str, tuple[Reach, str]] = {}
            for where, via in sorted(links, key=lambda link: (link[0].distance, link[0].name)):
                places.setdefault(where.sys_id, (where, via))
            for where, via in list(places.values())[:MAX_PLACES]:
                placed.append((change, where, via))
        shared = rarity(list({c["number"]: (c, r) for c, r, _ in placed}.values()), seen)
        best: dict[str, Assessment] = {}
        for change, where, via in placed:
            when = timing(change)
            if when is None:
                continue
            a = assess(change, where, via, when, seen, shared)
            known = best.get(a.number)
            # a change made on several CIs is judged where it explains the symptoms best
            if known is None or _rank(a) < _rank(known):
                best[a.number] = a
        for a in best.values():
            a.superseded_by = _later_on_same_ci(a, changes, seen.onset)
        return sorted(best.values(), key=_rank)

    def _decide(
        self,
        ranked: list[Assessment],
        reach: dict[str, Reach],
        seen: Symptoms,
        window: str,
        notes: list[str],
    ) -> Finding:
        live = [a for a in ranked if a.ruled_out is None]
        for a in ranked:
            if a.ruled_out is not None:
                notes.append(f"{a.number} ruled out: it {a.ruled_out}")
        strong = [a for a in live if a.score >= self.min_score]
        other = _other_cause(seen, reach, strong[0] if strong else None, ranked)
        scope = f"{len(ranked)} change(s) on the {len(reach)} CIs in reach in the {window}"
        if other is not None:
            reason, quotes = other
            notes.append(f"not a change: {reason}")
            if strong:
                notes.append(
                    f"closest candidate {strong[0].number} scored {strong[0].score:.2f} but "
                    "does not explain that"
                )
            return _abstain(
                f"No change explains this: {reason}. {scope}.",
                notes,
                confidence=0.8 if seen.logs_read else 0.6,
                quotes=quotes,
                context=_onset_context(seen),
            )
        if not strong:
            best = live[0].score if live else 0.0
            if live:
                notes.append(
                    f"closest candidate {live[0].number} scored {best:.2f}, below the "
                    f"{self.min_score:.2f} floor: nothing links it to the symptoms"
                )
            evidence = "the logs and the alert" if seen.logs_read else "timing and the CMDB"
            return _abstain(
                f"No change explains this: {scope}, none linked to the symptoms by {evidence}.",
                notes,
                # recorded changes are never the whole truth (unrecorded changes happen)
                confidence=round((0.7 if seen.logs_read else 0.5) * (1 - best), 2),
                context=_onset_context(seen),
            )
        top = strong[0]
        runner_up = live[1].score if len(live) > 1 else 0.0
        return Finding(
            agent=AgentName.ITSM_CHANGE,
            produced_by="offline",
            summary=(
                f"{top.number} on {top.reach.name} is the most likely cause: "
                f"{'; '.join(top.reasons[:3])}. {scope}; {len(strong) - 1} other(s) above "
                "the floor."
            ),
            confidence=_confidence(top, runner_up, seen),
            suspects=[
                *(
                    _suspect(a, seen.detected, _cause_ci(a, reach, seen))
                    for a in strong[: self.max_suspects]
                ),
                *([context] if (context := _onset_context(seen)) else []),
            ],
            notes=notes,
        )


def _home(change: dict[str, Any]) -> set[str]:
    """The CIs a change is recorded on (its `cmdb_ci`), among those searched."""
    return {m["sys_id"] for m in change.get("matched_cis", []) if m.get("via") == "cmdb_ci"}


def _later_on_same_ci(a: Assessment, changes: list[dict[str, Any]], onset: datetime) -> list[str]:
    """Releases made on the same CI after this change's work ended and before the symptoms
    began: undoing 'the last deployment' there would undo those instead (and good releases
    with it). A fix shipped after the symptoms began is a reaction to them, not counted."""
    home = _home(a.change)
    if a.when.ended is None or not home:
        return []  # still in progress: what ships meanwhile is part of it
    later = []
    for other in changes:
        if other["number"] == a.number or not home & _home(other):
            continue
        when = timing(other)
        if when is None or not when.actual or not vocab.is_release(_title(other)):
            continue
        if a.when.ended <= when.started <= onset + SKEW:
            later.append(str(other["number"]))
    return sorted(later)


def _title(change: dict[str, Any]) -> str:
    return " ".join(
        str(q.get("text", ""))
        for q in change.get("quotes", [])
        if str(q.get("source", "")).endswith("#short_description")
    )


def _aliases(r: Reach) -> set[str]:
    """Host names and addresses the CMDB record of a CI gives (its description)."""
    text = " ".join(str(q.get("text", "")) for q in r.ci.get("quotes") or [])
    return vocab.hosts(text) - {r.name.lower()}


def _rank(a: Assessment) -> tuple[bool, float, float, int, str]:
    return (a.ruled_out is not None, -a.score, a.gap_to_onset, a.reach.distance, a.number)


def _other_cause(
    seen: Symptoms, reach: dict[str, Reach], top: Assessment | None, ranked: list[Assessment]
) -> tuple[str, list[Quote]] | None:
    """A cause that is not a change, when the evidence shows one and the best change does not
    explain it: an expired certificate in reach, or a capacity limit the logs report."""
    cert = expired_certificate([r.ci | {"name": r.name} for r in reach.values()], seen)
    if cert is not None and not (
        top is not None and "tls" in top.matched_kinds and top.gap_to_onset < 24 * 60
    ):
        return cert[1], _quotes(seen, "tls")
    shared = _shared_provider(seen, top)
    if shared is not None:
        return shared
    unrecorded = _unrecorded(seen, top, ranked)
    if unrecorded is not None:
        return unrecorded
    facility = [
        t
        for t in [*seen.main(), *seen.triggers()]
        if "facility" in t.kinds and t.severity in ("error", "warn")
    ]
    if facility and not (top is not None and "facility" in top.matched_kinds):
        where = next((c for c in sorted(seen.ci_names) if facility[0].mentions(c)), None)
        at = f" at {where}" if where else ""
        return (
            f"the logs report a power or facility failure{at} (template {facility[0].id}) "
            "and no change in reach was made to it",
            [q for t in facility[:2] for q in t.quotes[:2]],
        )
    main = seen.main()
    if not main or not any("capacity" in t.kinds for t in main[:2]):
        return None
    if top is not None and (
        "capacity" in top.matched_kinds
        or (top.gap_to_onset <= 120 and ("named" in top.evidence or "terms" in top.evidence))
    ):
        return None  # a change made just before, that the errors point at, explains it
    component = next((t.component for t in main if t.component), None)
    where = f" in {component}" if component else ""
    return (
        f"the logs report a capacity limit reached{where} (template {main[0].id}, "
        f"{main[0].count} lines) and no change in reach made it",
        _quotes(seen, "capacity"),
    )


def _shared_provider(seen: Symptoms, top: Assessment | None) -> tuple[str, list[Quote]] | None:
    """Two or more affected CIs log the same failure calling a dependency they share, and
    the best change is neither on it nor about it: that dependency failed."""
    for name, callers in sorted(seen.providers().items()):
        if top is not None and (
            top.reach.name == name
            or any(k in top.evidence for k in ("about", "path"))
            or top.reach.name in seen.needs.get(name, ())
        ):
            continue
        quotes = [
            q
            for t in seen.main()[:5]
            if t.mentions(name, seen.ci_names, seen.aliases.get(name, ()))
            for q in t.quotes[:2]
        ][:4]
        return (
            f"{' and '.join(sorted(callers))} log the same failure calling {name}, a "
            "dependency they share, and no change in reach was made to it",
            quotes,
        )
    return None


_ACTION = re.compile(
    r"\b(?:upgrad(?:e|ed|ing)|install(?:ed|ing)?|reinstall\w*|rolling (?:update|restart)\w*"
    r"|reload(?:ed|ing)?|restart(?:ed|ing)|config(?:uration)? (?:change|push|applied|update)\w*"
    r"|commit (?:job|complete)\w*|applying|applied|updat(?:ed|ing) to)\b",
    re.I,
)
"""Log words of something being changed: a package upgrade, a reload, a config push."""
SPECIFIC = ("terms", "about", "path")


def _specific(a: Assessment) -> bool:
    """Whether anything ties a change to what the symptoms are, beyond where and when."""
    return any(k in a.evidence for k in SPECIFIC) or a.evidence.get("kind", 0.0) > GENERIC_KIND


def _unrecorded(
    seen: Symptoms, top: Assessment | None, ranked: list[Assessment]
) -> tuple[str, list[Quote]] | None:
    """The logs show something being changed just before the symptoms (an unattended package
    upgrade, a config reload) that no recorded change accounts for, and the best recorded
    change has nothing but its time and place for it: an unrecorded change."""
    if top is not None and _specific(top):
        return None
    for t in seen.triggers():
        if t.first_seen is None or t.first_seen > seen.onset or not _ACTION.search(t.text):
            continue
        if any(_accounts_for(a, t, seen) for a in ranked):
            continue
        where = f" ({t.component})" if t.component else ""
        return (
            f"the logs show a change no record holds, made as the symptoms began{where}, "
            f"template {t.id} at {t.first_seen:%H:%M}",
            t.quotes[:3],
        )
    return None


def _accounts_for(a: Assessment, t: Template, seen: Symptoms) -> bool:
    """Whether a recorded change explains a log line of something being changed: it uses
    the change's own words, or comes from the change's CI while it was worked on."""
    own = vocab.terms(change_text(a.change)) - seen.ci_terms
    if len(own & t.terms) >= 2:
        return True
    first = t.first_seen
    if first is None or not t.comes_from(a.reach.name, seen.ci_names):
        return False
    end = (a.when.ended or first) + timedelta(minutes=30)
    return a.when.started - timedelta(minutes=5) <= first <= end


def _quotes(seen: Symptoms, kind: str) -> list[Quote]:
    return [q for t in seen.templates if kind in t.kinds for q in t.quotes[:2]][:4]


def _confidence(top: Assessment, runner_up: float, seen: Symptoms) -> float:
    """High only when timing, reach and the logs agree; lowered by a close runner-up."""
    agree = sum(
        (
            top.gap_to_onset <= 180 and seen.onset_source != "detection",
            top.reach.distance <= 1,
            top.log_backed,
        )
    )
    base = {3: 0.9, 2: 0.7, 1: 0.45, 0: 0.3}[agree]
    margin = (top.score - runner_up) / top.score if top.score else 0.0
    return round(min(1.0, base * (0.5 + 0.5 * margin)), 2)


def _cause_ci(a: Assessment, reach: dict[str, Reach], seen: Symptoms) -> str:
    """Where the cause of a change sits, which need not be the CI it is recorded on.

    A change made with a tool or from one CI acts on others too: its `task_ci` list, and the
    CIs named by log lines that began while it was worked on and name its own CI
    (`selector resolved to 412 hosts: index-fleet-use1 289, ..., billing-fleet-use1 4`).
    Only those the affected CIs depend on (or an affected CI) can have caused their
    symptoms. The recorded CI stands unless the evidence moves it:

    * a release ships code to its recorded CI: the defect lives there;
    * a change recorded on an affected CI sits there (symptoms surface there anyway);
    * another of its CIs logs or is named by the symptoms while the recorded one is not,
      and is not reached through it (a CI under the recorded one is part of what that
      stands for): the cause sits there (a standby's re-seed that wiped the primary);
    * the recorded CI is not one the affected CIs depend on and exactly one of its other
      CIs is (or one lies under a CI the symptoms point at): its effect came that way.
    """
    recorded = _recorded_ci(a.change) or a.reach.name
    by_name = {r.name: r for r in reach.values()}
    home = by_name.get(recorded)
    if vocab.is_release(_title(a.change)) or (home is not None and home.distance == 0):
        return recorded
    acted: dict[str, Reach] = {}
    for m in a.change.get("matched_cis", []):
        found = reach.get(m["sys_id"]) or by_name.get(str(m.get("name")))
        if found is not None:
            acted[found.name] = found
    begun = a.when.started - timedelta(minutes=5)
    done = (a.when.ended or a.when.started) + timedelta(minutes=30)
    texts = [
        "\n".join(q.text for q in t.quotes[1:3])
        for t in [*a.traces, *a.templates]
        if t.first_seen is not None
        and begun <= t.first_seen <= done
        and t.names(recorded, seen.ci_names, seen.aliases.get(recorded, ()))
    ]
    for r in reach.values():
        if any(vocab.mentions(body, r.name, seen.ci_names) for body in texts):
            acted[r.name] = r
    acted.pop(recorded, None)
    upstream = sorted(
        (r for r in acted.values() if r.distance == 0 or r.ci.get("depended_on")),
        key=lambda r: (r.distance, r.name),
    )
    if not upstream:
        return recorded
    pointed = seen.pointed_at(exclude=set())
    symptomatic = [
        r
        for r in upstream
        if r.distance > 0 and r.name in pointed and recorded not in seen.paths.get(r.name, ())
    ]
    if symptomatic and recorded not in pointed:
        return symptomatic[0].name
    if home is not None and home.ci.get("depended_on"):
        return recorded
    beneath = [r for r in upstream if pointed & seen.paths.get(r.name, set())]
    for group in (beneath, upstream):
        if len(group) == 1:
            return group[0].name
    return recorded


def _suspect(a: Assessment, detected: datetime, ci: str | None = None) -> Suspect:
    change = a.change
    recorded = _recorded_ci(change) or a.reach.name
    moved = []
    if ci and ci != recorded:
        moved.append(
            f"recorded on {recorded}, but it acted on {ci}, which the affected CI depends on "
            "and where the evidence puts the cause"
        )
    quotes = [Quote.model_validate(q) for q in change.get("quotes", [])]
    for t in a.templates[:2]:
        quotes += t.quotes[:2]
    return Suspect(
        kind=SuspectKind.CHANGE,
        ref=a.number,
        title=f"{a.number}: {change.get('type') or 'unknown-type'} change on {a.reach.name}",
        score=min(1.0, a.score),
        ci=ci or recorded,
        reasons=[_where(a.reach, a.via), *a.reasons, *moved],
        quotes=quotes,
        facts={
            "distance": a.reach.distance,
            "minutes_before": round(a.when.minutes_before(detected), 1),
            "gap_minutes": a.gap_to_onset,
            "type": change.get("type"),
            "risk": change.get("risk"),
            "state": change.get("state"),
            "close_code": change.get("close_code"),
            "category": change.get("category"),
            "ci_sys_id": a.reach.sys_id,
            "placed_at": a.reach.name,
            "ci_class": a.reach.ci.get("class"),
            "affected_ci": a.reach.origin,
            "path": a.reach.path,
            "via": a.via,
            "work_start": change.get("work_start"),
            "work_end": change.get("work_end"),
            "planned_start": change.get("planned_start"),
            "planned_end": change.get("planned_end"),
            "change_kinds": sorted(a.kinds),
            "backout_kinds": sorted(_backout_kinds(change)),
            "matched_kinds": sorted(a.matched_kinds),
            "evidence": a.evidence,
            "against": a.against,
            "explains": round(a.explains, 3),
            "reach_weight": round(a.reach.weight, 3),
            "log_templates": [t.id for t in a.templates[:3]],
            "superseded_by": a.superseded_by,
        },
    )


def _recorded_ci(change: dict[str, Any]) -> str | None:
    """The CI the change is recorded on (`cmdb_ci`): where its cause sits, whichever of its
    CIs it was judged on."""
    recorded = change.get("cmdb_ci")
    name = recorded.get("name") if isinstance(recorded, dict) else None
    return str(name) if name else None


def _backout_kinds(change: dict[str, Any]) -> set[str]:
    text = " ".join(
        str(q.get("text", ""))
        for q in change.get("quotes", [])
        if str(q.get("source", "")).endswith("#backout_plan")
    )
    return vocab.kinds(text) | ({"rollout_undo"} if "rollout undo" in text.lower() else set())


def _where(reach: Reach, via: str) -> str:
    listed = " (listed as affected in task_ci)" if via == "task_ci" else ""
    if reach.distance == 0:
        return f"made on affected CI {reach.name}{listed}"
    return (
        f"made on {reach.name}{listed}, {reach.distance} hop(s) from affected CI "
        f"{reach.origin}: {' / '.join(reach.path)}"
    )


def _onset_context(seen: Symptoms) -> Suspect | None:
    """The new log lines of the minutes before the symptoms began, quoted for the person who
    reads the finding (a failover, a package upgrade, a flag served): context, not a
    suspect, so it scores nothing."""
    triggers = sorted(seen.triggers(), key=lambda t: (t.first_seen or seen.onset, t.id))
    quotes = [q for t in triggers[:4] for q in (t.quotes[1:3] or t.quotes[:1])]
    if not quotes:
        return None
    return Suspect(
        kind=SuspectKind.COMPONENT,
        ref="onset",
        title=f"New log lines as the symptoms began ({seen.onset:%H:%M} UTC)",
        score=0.0,
        reasons=[f"first seen up to 10 min before the onset ({seen.onset_source})"],
        quotes=quotes[:8],
    )


def _abstain(
    summary: str,
    notes: list[str],
    confidence: float,
    quotes: list[Quote] | None = None,
    context: Suspect | None = None,
) -> Finding:
    suspects = []
    if quotes:
        suspects = [
            Suspect(
                kind=SuspectKind.COMPONENT,
                ref="not-a-change",
                title="Evidence of a cause other than a change",
                score=0.0,
                quotes=quotes,
            )
        ]
    if context is not None:
        suspects.append(context)
    return Finding(
        agent=AgentName.ITSM_CHANGE,
        produced_by="offline",
        summary=summary,
        abstained=True,
        confidence=confidence,
        suspects=suspects,
        notes=notes,
    )
