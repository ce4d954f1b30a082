"""The offline log-analysis reasoner: a fixed plan of log-tool calls, findings by algorithm.

Plan: `logs.compare` (incident window vs baseline), `logs.templates` (what the window holds),
then `logs.search` for example lines of the strongest suspects. Suspects are error and warn
templates that are new in the window or whose per-minute rate surged; each is scored from
its severity, novelty, timing against `detected_at` and volume, and the components they
come from are ranked too. It abstains when nothing stands out, and says why in `notes` when
there is nothing to look at. Everything read from logs reaches the finding as a `Quote`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from baton.agents.base import AgentBrief, ToolCaller
from baton.agents.offline import vocab
from baton.agents.offline.symptoms import Symptoms, expired_certificate
from baton.domain.finding import AgentName, Finding, Quote, Suspect, SuspectKind

SEVERITY_WEIGHT = {"error": 1.0, "warn": 0.6, "info": 0.3}
"""How much a template's level counts: warnings matter, errors more; a new info line
(`removing host`, an upgrade, a link going down) is evidence too, ranked below them."""
AFTER = timedelta(minutes=15)
"""The window ends this long after detection, whatever the clock says now: replaying a past
incident must look at the same lines as it did then."""
NEARLY_NEW = 2
"""A template the baseline holds at most this often, now ten times as frequent, is new."""
WEIGHTS = {"novelty": 0.45, "timing": 0.30, "volume": 0.25}
"""Shares of a template's score; they sum to 1 so a score stays within 0..1."""
AFTER_DETECTION = 0.5
"""Timing factor of a template first seen after detection: maybe a consequence, not a cause."""


class LogAnalysisReasoner:
    """Deterministic stand-in for the log-analysis model (implements `OfflineReasoner`)."""

    agent = AgentName.LOG_ANALYSIS
    tools: tuple[str, ...] = ("logs.compare", "logs.templates", "logs.search", "itsm.related_cis")

    def __init__(
        self, max_suspects: int = 10, searched: int = 3, examples: int = 3, max_cis: int = 3
    ) -> None:
        self.max_suspects = max_suspects
        self.searched = searched
        self.examples = examples
        self.max_cis = max_cis

    def reason(self, brief: AgentBrief, call: ToolCaller) -> Finding:
        detected_at = _aware(brief.incident.detected_at)
        end = min(_aware(brief.window_end), detected_at + AFTER)
        end = max(end, _aware(brief.window_start) + timedelta(minutes=1))
        window = {"window_start": _iso(brief.window_start), "window_end": _iso(end)}
        compared = call(
            "logs.compare",
            {
                **window,
                "baseline_start": _iso(brief.baseline_start),
                "baseline_end": _iso(brief.baseline_end),
                "limit": 50,
            },
        )
        if not compared.ok:
            return _abstain(f"logs.compare failed: {_short(compared.error)}")
        data: dict[str, Any] = compared.data
        notes = _coverage_notes(data, brief)
        if data["window"]["lines"] == 0:
            return _abstain(*notes)
        overview = call("logs.templates", {**window, "limit": 10})
        if overview.ok:
            notes.append(_overview_note(overview.data))
        else:
            notes.append(f"logs.templates failed: {_short(overview.error)}")

        candidates = [
            _Candidate(entry, _shift(entry, kind))
            for kind in ("new", "surging")
            for entry in data[kind]
            if entry["severity"] != "info" or kind == "new"
        ]
        if not any(c.entry["severity"] != "info" for c in candidates):
            summary = (
                f"No new or surging error/warn log templates in the incident window "
                f"({data['window']['lines']} lines) compared with the baseline "
                f"({data['baseline']['lines']} lines)."
            )
            return Finding(
                agent=self.agent,
                produced_by="offline",
                summary=summary,
                abstained=True,
                confidence=0.0,
                notes=notes,
            )
        for candidate in candidates:
            candidate.score = _score(candidate, detected_at, data)
        candidates.sort(key=lambda c: (-c.score, c.entry["template_id"]))
        top = candidates[: self.max_suspects]
        for candidate in top[: self.searched]:
            self._examples(candidate, window, call, notes)
        estate = self._estate(brief, call, notes)
        suspects = [_template_suspect(c, detected_at, estate) for c in top]
        suspects += _component_suspects(candidates, estate)
        cert = _expired(candidates, estate, detected_at)
        if cert is not None:
            suspects.append(cert)
        suspects.sort(key=lambda s: (-s.score, s.facts.get("cause") is None, s.ci is None))
        suspects = _deepest_first(suspects, estate)
        confidence = _confidence(candidates, data)
        return Finding(
            agent=self.agent,
            produced_by="offline",
            summary=_summary(candidates, data, detected_at),
            confidence=confidence,
            suspects=suspects,
            notes=notes,
        )

    def _estate(
        self, brief: AgentBrief, call: ToolCaller, notes: list[str]
    ) -> list[dict[str, Any]]:
        """The affected CIs and their CMDB neighbours (name, class, certificate validity), so
        that a component or a name in the logs maps to a CI; affected ones first."""
        cis: list[dict[str, Any]] = [{"name": c, "distance": 0} for c in brief.incident.cis]
        for key in list(dict.fromkeys(brief.incident.cis))[: self.max_cis]:
            found = call("itsm.related_cis", {"ci": key, "depth": 3, "limit": 200})
            if not found.ok:
                notes.append(f"CMDB not read: {_short(found.error)}")
                break
            if found.data.get("found"):
                cis.append({**found.data["ci"], "distance": 0})
                cis += found.data["related"]
        return cis

    def _examples(
        self, candidate: _Candidate, window: dict[str, str], call: ToolCaller, notes: list[str]
    ) -> None:
        tid = candidate.entry["template_id"]
        found = call("logs.search", {"template_id": tid, **window, "limit": self.examples})
        if not found.ok:
            notes.append(f"logs.search for {tid} failed: {_short(found.error)}")
            return
        candidate.quotes = [_quote(line["quote"]) for line in found.data["lines"]]


class _Candidate:
    def __init__(self, entry: dict[str, Any], kind: str) -> None:
        self.entry = entry
        self.kind = kind
        self.score = 0.0
        self.quotes: list[Quote] = [_quote(q) for q in entry["examples"]]


def _score(candidate: _Candidate, detected_at: datetime, data: dict[str, Any]) -> float:
    entry = candidate.entry
    if candidate.kind == "new":
        novelty = 1.0
    else:  # a doubling scores 0.25, a 16-fold surge 1.0
        novelty = min(1.0, math.log2(max(entry["ratio"] or 1.0, 1.0)) / 4)
    first = _parse(entry["first_seen"])
    timing = 1.0 if first is None or first <= detected_at else AFTER_DETECTION
    volume = min(1.0, math.log10(1 + entry["count"]) / 2)  # 99 lines or more: 1.0
    mix = WEIGHTS["novelty"] * novelty + WEIGHTS["timing"] * timing + WEIGHTS["volume"] * volume
    return round(SEVERITY_WEIGHT[entry["severity"]] * mix, 4)


def _shift(entry: dict[str, Any], kind: str) -> str:
    """A surging template the baseline held only once or twice counts as new."""
    if kind == "surging" and entry["baseline_count"] <= NEARLY_NEW and (entry["ratio"] or 0) >= 10:
        return "new"
    return kind


def _ci_of(
    texts: list[str],
    component: str | None,
    estate: list[dict[str, Any]],
    files: Iterable[str] = (),
) -> str | None:
    """The CI a template points at: one it names in its lines, by name or by a host name its
    CMDB record gives (the most specific: not an affected CI), else the one its component
    is, else the one whose log file it is in (`orders-db-postgresql.log`)."""
    names = [str(c["name"]) for c in estate if c.get("name")]
    body = "\n".join(texts)
    if vocab.names_a_change(body):
        body = ""  # a line that names a ticket is never evidence
    named = [
        n
        for n, c in zip(names, estate, strict=False)
        if any(vocab.mentions(body, alias, names) for alias in (n, *_aliases(c)))
    ]
    remote = [n for n, c in zip(names, estate, strict=False) if n in named and c.get("distance")]
    if remote:
        return remote[0]
    if component:
        for name in names:
            if vocab.same_thing(component, name, names):
                return name
    for file in files:
        stem = _stem(file)
        for name in names:
            if vocab.same_thing(stem, name, names):
                return name
    return named[0] if named else None


def _aliases(ci: dict[str, Any]) -> set[str]:
    """Host names and addresses a CMDB record gives for a CI (its description)."""
    text = " ".join(str(q.get("text", "")) for q in ci.get("quotes") or [])
    return vocab.hosts(text)


def _files(quotes: Iterable[Quote]) -> list[str]:
    """The log files quotes come from (`logs:<file>:<line>`)."""
    out = []
    for q in quotes:
        parts = q.source.split(":")
        if len(parts) >= 3 and parts[0] == "logs" and parts[1] not in out:
            out.append(parts[1])
    return out


def _stem(file: str) -> str:
    return re.split(r"\.(?:log|jsonl|json|txt|out|err)\b|\.\d", file, maxsplit=1)[0]


ROOT_SHARE = 0.6
"""A suspect this close to the top one, on a CI deeper in the affected CI's dependencies,
is put first: where the errors start, not where they surface."""


def _deepest_first(suspects: list[Suspect], estate: list[dict[str, Any]]) -> list[Suspect]:
    """Errors travel up a dependency chain: the service logs that its database is unreachable,
    the database host logs its NIC flapping. Among strong suspects on CIs the affected CIs
    depend on (the CMDB's dependency relations), the deepest one goes first."""
    if not suspects:
        return suspects
    depth: dict[str, int] = {}
    for c in estate:
        if c.get("depended_on") and c.get("name"):
            name = str(c["name"])
            depth[name] = min(depth.get(name, 99), int(c.get("distance") or 0))
    top = suspects[0]
    floor = ROOT_SHARE * top.score
    deeper = [
        s
        for s in suspects
        if s.ci in depth
        and s.score >= floor
        and s.kind in (SuspectKind.LOG_TEMPLATE, SuspectKind.COMPONENT)
        and depth[s.ci] > depth.get(top.ci or "", 0)
    ]
    if not deeper or top.facts.get("cause") is not None:
        return suspects
    root = max(deeper, key=lambda s: (depth[s.ci or ""], s.score))
    root.reasons.append(
        f"{root.ci} is {depth[root.ci or '']} dependency hop(s) below the affected CI, the "
        "deepest with strong new errors: where they start, not where they surface"
    )
    # ranked first, as the expired certificate is: just above the strongest symptom
    root = root.model_copy(update={"score": round(min(1.0, top.score + 0.005), 4)})
    return [root, *(s for s in suspects if s.ref != root.ref or s.kind is not root.kind)]


def _expired(
    candidates: list[_Candidate], estate: list[dict[str, Any]], detected_at: datetime
) -> Suspect | None:
    """A certificate in reach that expired as the TLS errors began: the suspect to fix."""
    tls = [c for c in candidates if "tls" in vocab.kinds(_text(c))]
    if not tls:
        return None
    firsts = [f for c in tls if (f := _parse(c.entry["first_seen"])) is not None]
    seen = Symptoms(detected_at, min(firsts, default=detected_at), "logs")
    found = expired_certificate([c for c in estate if c.get("valid_to")], seen)
    if found is None:
        return None
    ci, reason = found
    best = max(c.score for c in candidates)
    return Suspect(
        kind=SuspectKind.COMPONENT,
        ref=str(ci["name"]),
        title=f"Expired certificate {ci['name']}",
        score=round(min(1.0, best + 0.01), 4),
        ci=str(ci["name"]),
        reasons=[
            reason,
            f"TLS errors in the logs: {', '.join(c.entry['template_id'] for c in tls[:3])}",
        ],
        quotes=[q for c in tls[:2] for q in c.quotes[:2]],
        facts={
            "valid_to": ci.get("valid_to"),
            "class": ci.get("class"),
            "issuer": ci.get("issuer"),
            "description": " ".join(str(q.get("text", "")) for q in ci.get("quotes", [])),
            "cause": "certificate_expired",
        },
    )


def _text(candidate: _Candidate) -> str:
    return "\n".join(
        [str(candidate.entry["template"]["text"]), *(q.text for q in candidate.quotes)]
    )


def _template_suspect(
    candidate: _Candidate, detected_at: datetime, estate: list[dict[str, Any]]
) -> Suspect:
    e = candidate.entry
    first = _parse(e["first_seen"])
    lead = (detected_at - first).total_seconds() / 60 if first else None
    level = e["severity"].upper()
    reasons = []
    if candidate.kind == "new":
        reasons.append(f"new: absent from the baseline window, {e['count']} lines in the window")
        title = f"New {level} log template {e['template_id']} ({e['count']} lines)"
    else:
        reasons.append(
            f"surging: {e['rate_per_minute']}/min in the window vs "
            f"{e['baseline_rate_per_minute']}/min in the baseline (x{e['ratio']}, z={e['z']})"
        )
        title = f"Surging {level} log template {e['template_id']} (x{e['ratio']} per minute)"
    if lead is not None:
        when = "before" if lead >= 0 else "after"
        seen = "first seen" if candidate.kind == "new" else "first seen in the window"
        reasons.append(f"{seen} {abs(lead):.1f} min {when} detection ({e['first_seen']})")
    if e["levels"]:
        reasons.append("levels: " + ", ".join(f"{k} {v}" for k, v in sorted(e["levels"].items())))
    else:
        reasons.append(f"no level in the lines; the template's words read as {e['severity']}")
    facts = {
        k: e[k]
        for k in (
            "template_id",
            "severity",
            "levels",
            "component",
            "count",
            "baseline_count",
            "rate_per_minute",
            "baseline_rate_per_minute",
            "ratio",
            "z",
            "first_seen",
            "last_seen",
        )
    }
    facts["change"] = candidate.kind
    facts["minutes_before_detection"] = round(lead, 2) if lead is not None else None
    template = e["template"]
    texts = [str(template["text"]), *(q.text for q in candidate.quotes)]
    return Suspect(
        kind=SuspectKind.LOG_TEMPLATE,
        ref=e["template_id"],
        title=title,
        score=candidate.score,
        ci=_ci_of(texts, e["component"], estate, _files(candidate.quotes)),
        reasons=reasons,
        quotes=[_quote(template), *candidate.quotes],
        facts=facts,
    )


def _component_suspects(
    candidates: Iterable[_Candidate], estate: list[dict[str, Any]]
) -> list[Suspect]:
    """Components ranked by their strongest suspect template, a little more for each other."""
    by_component: dict[str, list[_Candidate]] = {}
    for c in candidates:
        if c.entry["component"]:
            by_component.setdefault(c.entry["component"], []).append(c)
    out = []
    for name, group in by_component.items():
        best = max(c.score for c in group)
        score = min(1.0, best * (1 + 0.1 * (len(group) - 1)))
        ids = [c.entry["template_id"] for c in group]
        texts = [_text(c) for c in group]
        out.append(
            Suspect(
                kind=SuspectKind.COMPONENT,
                ref=name,
                title=f"Component {name}: {len(group)} new or surging error/warn template(s)",
                # just under its best template, which says more (the lines themselves)
                score=round(max(0.0, score - 0.001), 4),
                ci=_ci_of(texts, name, estate, _files(q for c in group for q in c.quotes)),
                reasons=[f"source of template(s) {', '.join(ids)}"],
                facts={"templates": ids, "lines": sum(c.entry["count"] for c in group)},
            )
        )
    return out


def _confidence(candidates: list[_Candidate], data: dict[str, Any]) -> float:
    """The top score, lowered when a runner-up is as strong or the baseline was empty."""
    top = candidates[0].score
    second = candidates[1].score if len(candidates) > 1 else 0.0
    confidence = top * (0.7 + 0.3 * (top - second) / top) if top else 0.0
    if data["baseline"]["lines"] == 0:
        confidence *= 0.5  # without a baseline every template looks new
    return round(min(confidence, 1.0), 4)


def _summary(candidates: list[_Candidate], data: dict[str, Any], detected_at: datetime) -> str:
    new = sum(1 for c in candidates if c.kind == "new")
    surging = len(candidates) - new
    e = candidates[0].entry
    first = _parse(e["first_seen"])
    when = ""
    if first is not None:
        lead = (detected_at - first).total_seconds() / 60
        when = f", first seen {abs(lead):.1f} min {'before' if lead >= 0 else 'after'} detection"
    where = f" in component {e['component']}" if e["component"] else ""
    return (
        f"{new} new and {surging} surging error/warn log template(s) in the incident window "
        f"({data['window']['lines']} lines vs {data['baseline']['lines']} in the baseline). "
        f"Strongest: {candidates[0].kind} {e['severity']} template {e['template_id']}"
        f"{where} ({e['count']} lines{when})."
    )


def _coverage_notes(data: dict[str, Any], brief: AgentBrief) -> list[str]:
    store = data["store"]
    notes: list[str] = []
    if store["lines"] == 0:
        notes.append("The log store is empty: no log files have been loaded (baton logs load).")
    elif data["window"]["lines"] == 0:
        notes.append(
            f"No log lines between {_iso(brief.window_start)} and {_iso(brief.window_end)}; "
            f"the loaded logs span {store['first']} .. {store['last']}."
        )
    if store["lines"] and store["timed_lines"] < store["lines"]:
        notes.append(
            f"{store['lines'] - store['timed_lines']} of {store['lines']} stored lines have "
            "no readable time and are outside every window."
        )
    if data["window"]["lines"] and data["baseline"]["lines"] == 0:
        notes.append("The baseline window has no log lines: every template counts as new.")
    return notes


def _overview_note(data: dict[str, Any]) -> str:
    errors = sum(t["count"] for t in data["templates"] if t["severity"] == "error")
    return (
        f"Incident window: {data['lines_in_window']} lines in "
        f"{data['templates_in_window']} templates; the top {len(data['templates'])} hold "
        f"{errors} error lines."
    )


def _abstain(*notes: str) -> Finding:
    return Finding(
        agent=AgentName.LOG_ANALYSIS,
        produced_by="offline",
        summary="No log evidence to analyse for this incident.",
        abstained=True,
        confidence=0.0,
        notes=list(notes),
    )


def _quote(raw: dict[str, Any]) -> Quote:
    quote = Quote.of(str(raw.get("source", "logs")), str(raw.get("text", "")))
    if raw.get("truncated") and not quote.truncated:
        return Quote(source=quote.source, text=quote.text, truncated=True)
    return quote


def _short(text: str | None, limit: int = 300) -> str:
    return Quote.of("tool", text or "unknown error", limit).text


def _iso(when: datetime) -> str:
    return _aware(when).isoformat()


def _aware(when: datetime) -> datetime:
    """Times without a zone are UTC, as in the log parser."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
