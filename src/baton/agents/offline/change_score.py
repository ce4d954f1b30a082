"""How well one recorded change *explains* an incident: evidence for and against, as odds.

A change is a suspect only when something links it to the symptoms; being recent, near or
risky is not enough. Per candidate:

* **Ruled out** (never ranked): it began after the symptoms did (onset from the logs, the
  alert or detection), or it was canceled before any work.
* **Prior odds** `0.5 * p(gap)^2 * reach`: `gap` from the end of its work to the onset,
  `p(gap) = 1 / (1 + ln(1 + gap / 60 min) / 2)`, a heavy tail (20 min 0.87, 1 day 0.38,
  27 days 0.24) so a latent defect stays rankable when the logs tie it to the symptoms;
  `reach` 0.75 per CMDB hop from an affected CI (0.55 over an occasional relation).
* **Evidence for** (likelihood ratios, multiplied):
  - *named*: the symptoms come from its CI or name it (x2 on an affected CI, which logs
    errors whatever their cause; x5 further away; x1.3 for minor templates only), or the
    alert's labels name it (x2);
  - *about*: the errors name a CI its text is about (`switch to smtp-relay-v2`, x3);
  - *path*: the errors point at a CI between the affected one and its CI (x2.5);
  - *kind*: its own words are about what the errors are about (TLS, DNS, a flag: up to x6;
    a broad kind such as database or network x3 unless both use one same word, `mtu`);
    the class of its CI counts only when the errors do not already name it;
  - *terms*: distinctive words shared with the errors and the lines just before them, by
    rarity among candidates and length (a class or job name says more than `run`), x3..x12;
  - *trace*: the logs show it taking effect just before the onset, or what it did going on
    during the symptoms (x3); a line that merely confirms recorded work times, x1.2;
  - *version*: its CI runs the version it installed (x1.5): it is live.
* **Against**: backed out before the symptoms (x0.15); no record it started (x0.3); about
  another kind than the errors (x0.4); errors that point elsewhere (x0.6); errors that do
  not speak of it at all (x0.35); the same symptoms logged by, or pointing at, CIs it does
  not reach (x0.35: a cause they share); documentation or monitoring only (x0.3). Type,
  risk and outcome are shown, not weighed (a standard change is how most deploys ship).

`score = odds / (1 + odds)`. The weights are general priors of change management and
diagnosis, set once for every incident, never fitted to one.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from baton.agents.offline import vocab
from baton.agents.offline.symptoms import Symptoms, Template

SKEW = timedelta(minutes=2)
"""Clock skew between ITSM records, logs and alerts that is forgiven."""
HOP = 0.75
WEAK_HOP = 0.55
WEAK_STRENGTHS = {"occasionally", "seldom", "infrequently"}
NOT_STARTED_STATES = {"new", "assess", "authorize", "scheduled"}
FAILED_CODES = {"unsuccessful", "backed_out", "backed out", "rolled_back", "rolled back"}
GENERIC_KINDS = {"deploy", "config"}
"""Kinds almost every change has: they never make a change 'about something else'."""

PRIOR = 0.5
"""Odds that a change just before the symptoms, on an affected CI, caused them."""
NAMED_AFFECTED = 2.0
NAMED_REMOTE = 5.0
NAMED_MINOR = 1.3
UNLINKED = 0.35
TRACE_ALONE = 1.5
ALERT_NAMES = 2.0
POINTS_ELSEWHERE = 0.6
KIND = 6.0
KIND_BROAD = 3.0
BROAD_KINDS = {"database", "network", "platform", "capacity"}
"""Kinds so common in errors and changes that sharing one says less."""
GENERIC_KIND = 1.3
OTHER_KIND = 0.4
TERMS = 5.0
TERMS_MAX = 12.0
ABOUT = 3.0
PATH = 2.5
PARTIAL = 0.35
INERT = 0.3
TRACE = 3.0
TRACE_CONFIRMS = 1.2
TRACE_LEAD = timedelta(minutes=30)
"""A trace this close before the onset shows the change taking effect as the symptoms began."""
VERSION = 1.5
NOT_STARTED = 0.3
BACKED_OUT = 0.15


@dataclass(frozen=True)
class ChangeTiming:
    """When a change touched the system."""

    started: datetime
    ended: datetime | None
    """End of the work; None while it was still in progress."""
    actual: bool
    """True when taken from work_start/work_end, False when only the plan is known."""

    def minutes_before(self, moment: datetime) -> float:
        return (moment - self.started).total_seconds() / 60

    def gap_minutes(self, moment: datetime) -> float:
        """Minutes from the end of the work to `moment` (0 if still going on then)."""
        if self.ended is None or self.ended >= moment:
            return 0.0
        return (moment - self.ended).total_seconds() / 60


@dataclass
class Reach:
    """How a CI relates to the incident: hops from an affected CI, and the path walked."""

    sys_id: str
    name: str
    distance: int
    origin: str
    path: list[str]
    strengths: list[str | None] = field(default_factory=list)
    ci: dict[str, Any] = field(default_factory=dict)
    """What the CMDB says of the CI: class, version, certificate validity..."""

    @property
    def weight(self) -> float:
        weight = 1.0
        for i in range(self.distance):
            strength = self.strengths[i] if i < len(self.strengths) else None
            weight *= WEAK_HOP if (strength or "").lower() in WEAK_STRENGTHS else HOP
        return weight


@dataclass
class Assessment:
    """One candidate change, the evidence about it and its score."""

    change: dict[str, Any]
    reach: Reach
    via: str
    when: ChangeTiming
    score: float = 0.0
    explains: float = 0.0
    ruled_out: str | None = None
    evidence: dict[str, float] = field(default_factory=dict)
    against: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    matched_kinds: set[str] = field(default_factory=set)
    templates: list[Template] = field(default_factory=list)
    """Symptom and trace templates that point at it."""
    traces: list[Template] = field(default_factory=list)
    """New log lines that show it being applied (`_traces`): what it did, in the logs' words."""
    gap_to_onset: float = 0.0
    superseded_by: list[str] = field(default_factory=list)
    """Later changes on the same CI (set by the reasoner): a rollback would undo those."""

    @property
    def number(self) -> str:
        return str(self.change["number"])

    @property
    def log_backed(self) -> bool:
        """Whether the symptoms themselves point at it (not only its timing)."""
        kind = self.evidence.get("kind", 0.0) > GENERIC_KIND
        return kind or any(k in self.evidence for k in ("named", "terms", "trace"))


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def timing(change: dict[str, Any]) -> ChangeTiming | None:
    """Actual window when recorded, else the planned one; None when the change has neither."""
    work_start = _parse(change.get("work_start"))
    if work_start is not None:
        end = _parse(change.get("work_end")) or _parse(change.get("closed_at"))
        return ChangeTiming(work_start, end, actual=True)
    planned_start = _parse(change.get("planned_start"))
    planned_end = _parse(change.get("planned_end"))
    start = planned_start or planned_end
    if start is None:
        return None
    return ChangeTiming(start, planned_end or start, actual=False)


def duration(minutes: float) -> str:
    """'45 min', '3.5 h', '2.1 days': the unit a person would use."""
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def proximity(gap_minutes: float) -> float:
    """How plausible a latency from change to symptoms is: 1 at once, a heavy tail after."""
    return 1 / (1 + math.log1p(max(gap_minutes, 0.0) / 60) / 2)


def change_text(change: dict[str, Any]) -> str:
    """What the change says it does: its quoted fields but the close notes (an outcome, often
    boilerplate: `health checks green`), and its category; never a ticket number."""
    parts = [
        str(q.get("text", ""))
        for q in change.get("quotes", [])
        if str(q.get("source", "")).rsplit("#", 1)[-1] != "close_notes"
    ]
    parts.append(str(change.get("category") or ""))
    return vocab.without_change_numbers("\n".join(parts))


def change_kinds(change: dict[str, Any], reach: Reach) -> set[str]:
    """What a change is about: its own words (not its close notes), its category and the
    class of its CI."""
    return text_kinds(change) | vocab.kinds(str(reach.ci.get("class") or ""))


def text_kinds(change: dict[str, Any], names: Collection[str] = ()) -> set[str]:
    """What a change says it is about: its own words (not its close notes) and category,
    without the CI names in them (`kafka-intake` in `Configuration change on kafka-intake`
    is where it was made, not what it is about)."""
    return vocab.kinds(vocab.without_names(change_text(change), names))


def assess(
    change: dict[str, Any],
    reach: Reach,
    via: str,
    when: ChangeTiming,
    symptoms: Symptoms,
    rarity: dict[str, int],
) -> Assessment:
    """Weigh one change against the symptoms; `rarity` counts candidates sharing each term."""
    a = Assessment(change, reach, via, when)
    onset = symptoms.onset
    if when.started > onset + SKEW:
        a.ruled_out = (
            f"began {duration(when.minutes_before(onset) * -1)} after the symptoms started "
            f"({onset:%Y-%m-%d %H:%M} UTC, from {symptoms.onset_source})"
        )
        return a
    gap = when.gap_minutes(onset)
    a.gap_to_onset = round(gap, 1)
    near = proximity(gap)
    if gap == 0:
        a.reasons.append(
            f"work began {duration(when.minutes_before(onset))} before the symptoms started "
            "and was still going on"
        )
    else:
        a.reasons.append(
            f"{'work' if when.actual else 'planned window'} ended {duration(gap)} before the "
            f"symptoms started ({onset:%H:%M} UTC, from {symptoms.onset_source})"
        )
    prior = PRIOR * near * near * reach.weight
    evidence: dict[str, float] = {}
    against: dict[str, float] = {}

    linked = _link(a, symptoms, rarity, evidence, against)
    traces = _traces(a, symptoms)
    if traces:
        evidence["trace"] = _trace_weight(a, traces, symptoms, linked)
        a.templates += traces[:2]
        a.traces = traces
        first = traces[0].first_seen
        at = f" at {first:%H:%M}" if first else ""
        a.reasons.append(f"the logs show it being applied{at} ({traces[0].id})")

    version = reach.ci.get("version")
    installed = vocab.versions(change_text(change))
    if version and installed and str(version) == max(installed, key=_version_key):
        evidence["version"] = VERSION
        a.reasons.append(f"{reach.name} runs version {version}, the one it installed")

    _standing(a, onset, gap, evidence, against)

    odds = prior * math.prod(evidence.values()) * math.prod(against.values())
    a.explains = round(PRIOR * near * near * math.prod(evidence.values()), 4)
    a.score = round(odds / (1 + odds), 4)
    a.evidence = {k: round(v, 3) for k, v in evidence.items()}
    a.against = against
    return a


def _link(
    a: Assessment,
    symptoms: Symptoms,
    rarity: dict[str, int],
    evidence: dict[str, float],
    against: dict[str, float],
) -> bool:
    """Evidence that the symptoms point at the change (its CI, its kind, its words), and
    against it when they point elsewhere or at nothing it did; whether anything links it."""
    _link_place(a, symptoms, evidence, against)
    matched = _link_kind(a, symptoms, evidence, against)
    change = a.change
    shared = _shared_terms(change, symptoms)
    if shared:
        weight = sum(specificity(t) / max(rarity.get(t, 1), 1) for t in shared)
        if weight > 1:  # one shared word is chance; two or more rarely are
            evidence["terms"] = terms_evidence(weight)
            a.reasons.append(f"its text and the errors share: {', '.join(sorted(shared)[:5])}")

    if vocab.is_inert(_title(change)) and not matched and "terms" not in evidence:
        against["inert"] = INERT
        a.reasons.append("it changed documentation or monitoring, not the running system")

    linked = any(k in evidence for k in ("named", "terms", "about", "path")) or bool(matched)
    if symptoms.logs_read and symptoms.main() and not linked:
        against["unlinked"] = UNLINKED
        a.reasons.append("the errors neither come from its CI nor speak of what it changed")
    return linked


def _link_place(
    a: Assessment, symptoms: Symptoms, evidence: dict[str, float], against: dict[str, float]
) -> None:
    """Whether the errors come from or name its CI, or a CI it is about, or another one."""
    reach = a.reach
    name = reach.name
    named = symptoms.naming(name)
    main = {t.id for t in symptoms.main()}
    if named:
        strong = any(t.id in main for t in named)
        full = NAMED_AFFECTED if reach.distance == 0 else NAMED_REMOTE
        evidence["named"] = full if strong else NAMED_MINOR
        a.templates += named[:3]
        ids = ", ".join(t.id for t in named[:3])
        which = "main" if strong else "minor"
        a.reasons.append(f"{which} new or surging error/warn logs come from or name {name} ({ids})")
    elif reach.distance > 0 and symptoms.alert_names(name):
        evidence["named"] = ALERT_NAMES
        a.reasons.append(f"the alert's labels name {name}")
    elsewhere = symptoms.pointed_at(exclude={name, reach.origin})
    on_path = sorted(elsewhere & set(reach.ci.get("through") or []))
    if on_path and not named:
        # the errors point at a CI between the affected one and this change's: its way in
        evidence["path"] = PATH
        a.reasons.append(
            f"the errors point at {', '.join(on_path[:3])}, through which it reaches {reach.origin}"
        )
        elsewhere -= set(on_path)
    text = change_text(a.change)
    about = sorted(c for c in elsewhere if vocab.mentions(text, c, symptoms.ci_names))
    if about:
        # the errors name a CI that the change is about (`switch to smtp-relay-v2`)
        evidence["about"] = ABOUT
        a.reasons.append(f"the errors name {', '.join(about[:3])}, which it changed to or for")
    # an affected CI logs the errors whatever their cause: when they only come from it and
    # name another CI in reach, they point there, not at a change made on it
    spoken = any(t.mentions(name, symptoms.ci_names) for t in named)
    if elsewhere and not about and (not named or (reach.distance == 0 and not spoken)):
        against["points_elsewhere"] = POINTS_ELSEWHERE
        a.reasons.append(f"the errors point at {', '.join(sorted(elsewhere)[:3])} instead")
    pointed = symptoms.pointed_at(exclude=set())
    if name in pointed:
        # the errors also point at CIs this one neither reaches nor is reached through: a
        # cause they share (a network, a site, power) rather than a change to one of them
        mine = symptoms.paths.get(name, set())
        apart = sorted(
            y for y in pointed - {name} if y not in mine and name not in symptoms.paths.get(y, ())
        )
        if apart:
            against["partial"] = PARTIAL
            a.reasons.append(
                f"the errors point at {', '.join(apart[:3])} too, which it does not reach"
            )
    sources = symptoms.sources()
    if len(sources) >= 2:
        # the same symptoms logged by an affected CI that does not depend on this one: a
        # cause they share (a dependency, a provider) explains them, not this change
        apart = sorted(y for y in sources if y != name and name not in symptoms.needs.get(y, ()))
        if apart:
            against["partial"] = PARTIAL
            a.reasons.append(
                f"the symptoms also come from {', '.join(apart[:3])}, which does not depend "
                f"on {name}"
            )


def _link_kind(
    a: Assessment, symptoms: Symptoms, evidence: dict[str, float], against: dict[str, float]
) -> set[str]:
    """Whether the change is about what the errors are about; the specific kinds matched.

    Only the change's own words and category count: the class of its CI is no news when the
    errors already name that CI (a database's change and errors naming the database are
    both 'database' by construction); it counts, less, when they do not. A broad kind
    (database, network, platform, capacity) says less than a narrow one (TLS, DNS, a flag)."""
    a.kinds = change_kinds(a.change, a.reach)
    own = text_kinds(a.change, symptoms.ci_names | {a.reach.name})
    seen = symptoms.kinds
    a.matched_kinds = a.kinds & seen
    matched = (own & seen) - GENERIC_KINDS
    by_class = (a.matched_kinds - own) - GENERIC_KINDS
    specific = own - GENERIC_KINDS or a.kinds - GENERIC_KINDS
    if matched:
        spread = len(matched) / max(len(own - GENERIC_KINDS), 1)
        narrow = matched - BROAD_KINDS or _same_words(a.change, symptoms, matched)
        full = KIND if narrow else KIND_BROAD
        evidence["kind"] = full * (0.5 + 0.5 * spread)
        a.reasons.append(f"it is about what the errors are about ({', '.join(sorted(matched))})")
    elif by_class and "named" not in evidence:
        matched = by_class
        evidence["kind"] = KIND_BROAD * 0.5
        a.reasons.append(
            f"it was made on a {', '.join(sorted(by_class))} CI, what the errors are about"
        )
    elif a.matched_kinds:
        evidence["kind"] = GENERIC_KIND
    compatible = seen | ({"network"} if symptoms.connectivity() else set())
    if specific and seen - GENERIC_KINDS and not specific & compatible and not by_class:
        against["other_kind"] = OTHER_KIND
        a.reasons.append(
            f"it is about {', '.join(sorted(specific))}, the errors about "
            f"{', '.join(sorted(seen - GENERIC_KINDS))}"
        )
    return matched


def _same_words(change: dict[str, Any], symptoms: Symptoms, kinds: set[str]) -> bool:
    """Whether the change and the errors use one same word of a kind (`mtu` in both)."""
    text = vocab.without_names(change_text(change), symptoms.ci_names)
    own = {hit for hit in vocab.kind_words(text) if hit[0] in kinds}
    return bool(own & symptoms.kind_words())


def specificity(term: str) -> float:
    """How much one shared word says: a long compound identifier (`dailypricerefreshjob`,
    `accrualcalculator`) a lot, a short word (`run`, `sku`) little; longer words are rarer."""
    if len(term) >= 12:
        return 2.0
    return 1.0 if len(term) >= 5 else 0.5


def terms_evidence(weight: float) -> float:
    """How much distinctive words shared by a change and the errors say, by their summed
    rarity: two rare words x3, three x5, and on to x12 for six or more (a config key, a
    class and a job name all in both is rarely chance)."""
    if weight <= 1:
        return 1.0
    first = 1 + (TERMS - 1) * min(1.0, (weight - 1) / 2)
    return min(TERMS_MAX, first * (1 + max(0.0, weight - 3) / 3))


def _title(change: dict[str, Any]) -> str:
    return " ".join(
        str(q.get("text", ""))
        for q in change.get("quotes", [])
        if str(q.get("source", "")).endswith("#short_description")
    )


def _standing(
    a: Assessment,
    onset: datetime,
    gap: float,
    evidence: dict[str, float],
    against: dict[str, float],
) -> None:
    """Its record: never started, backed out before the symptoms, type and outcome."""
    change, when = a.change, a.when
    state = (change.get("state") or "").lower()
    code = (change.get("close_code") or "").lower()
    if not when.actual and state in NOT_STARTED_STATES:
        against["not_started"] = NOT_STARTED
        a.reasons.append(f"no record that it started (state {state})")
    if (
        code in FAILED_CODES
        and when.ended is not None
        and when.ended < onset - SKEW
        and "version" not in evidence
    ):
        against["backed_out"] = BACKED_OUT
        a.reasons.append(
            f"closed {code.replace('_', ' ')} and ended {duration(gap)} before the symptoms: "
            "backing it out removed it"
        )
    kind = (change.get("type") or "").lower()
    if kind == "emergency":
        a.reasons.append("emergency change (made under pressure, reviewed least)")
    elif kind == "standard":
        a.reasons.append("standard (pre-approved) change")
    if code and "backed_out" not in against:
        a.reasons.append(f"closed {code.replace('_', ' with ')}")
    elif not code:
        a.reasons.append(f"not closed (state {state or 'unknown'})")


def _shared_terms(change: dict[str, Any], symptoms: Symptoms) -> set[str]:
    """Distinctive words of the change that the main symptoms use too (CI names excluded:
    that is the `named` evidence)."""
    own = vocab.terms(change_text(change))
    return (own & symptoms.terms()) - symptoms.ci_terms


def _traces(a: Assessment, symptoms: Symptoms) -> list[Template]:
    """New templates that appear while the change was worked on (or just after) and point
    at it: an info line from its CI or using the change's own distinctive words (`removing
    host`, `upgrading to 4.18.0`), or an error/warn line using those words. An error that
    merely comes from its CI and starts after it is not a trace: that is timing and the
    `named` evidence, already counted."""
    start = a.when.started - timedelta(minutes=5)
    end = (a.when.ended or a.when.started) + timedelta(minutes=30)
    own = vocab.terms(change_text(a.change)) - symptoms.ci_terms
    onset = symptoms.onset
    found = []
    for t in [*symptoms.traces, *symptoms.templates]:
        if t.first_seen is None or not start <= t.first_seen <= end or not t.absence_seen:
            continue
        if len(own & t.terms) >= 2:
            found.append(t)
            continue
        # an info line of its CI, from before the symptoms (one that starts with them is
        # a symptom too: `declined locally: acquirer unavailable`)
        info = t.severity not in ("error", "warn")
        if info and t.first_seen < onset - SKEW and t.names(a.reach.name, symptoms.ci_names):
            found.append(t)
    return found


def _trace_weight(a: Assessment, traces: list[Template], symptoms: Symptoms, linked: bool) -> float:
    """What the logs showing the change say. Innocent changes leave traces too, so a trace
    that only confirms recorded work times says little; it says more when it shows the
    change taking effect just before the symptoms (the record's times can be coarse), when
    what it shows goes on during them (`deny ... rule cleanup-default-deny`), or when the
    record never said the change ran (only planned)."""
    onset = symptoms.onset
    own = vocab.terms(change_text(a.change)) - symptoms.ci_terms
    for t in traces:
        first = t.first_seen
        just_before = first is not None and onset - TRACE_LEAD <= first <= onset + SKEW
        ongoing = (
            t.count >= 3
            and len(own & t.terms) >= 2
            and t.last_seen is not None
            and t.last_seen >= onset
        )
        if just_before or ongoing:
            return TRACE
    if a.when.actual:
        return TRACE_CONFIRMS
    return TRACE if linked else TRACE_ALONE


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def rarity(changes: list[tuple[dict[str, Any], Reach]], symptoms: Symptoms) -> dict[str, int]:
    """How many candidates share each symptom term: a word every change uses links none."""
    counts: dict[str, int] = {}
    wanted = symptoms.terms()
    for change, _ in changes:
        for term in vocab.terms(change_text(change)) & wanted:
            counts[term] = counts.get(term, 0) + 1
    return counts
