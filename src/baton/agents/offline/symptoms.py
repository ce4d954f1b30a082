"""What the incident looks like from outside the ITSM records: the alert and the logs.

Every window is relative to the incident's detection time, never to the wall clock, so a
past incident replays exactly as it was. Read through the read-only log tools:

* `logs.compare`: the hours before detection (and a few minutes after) against the week
  before them. Error and warn templates that are new or surging are the *symptoms* (and an
  info line that reports a failure, `OOMKilled`); new info templates are kept too, as
  traces of what was done (an upgrade, a JVM flag). A template whose lines all stopped
  before the main symptom began is an earlier event, kept as a trace.
* `logs.search` on the strongest symptoms: when their burst began. The *onset* is the
  burst of the symptom the incident is about (the strongest one the affected CIs log or
  that names them), moved earlier by a strong template starting up to 30 min before it, by
  the alert's `startsAt`, else detection.
* *Triggers*: new templates of any level that began in the 10 minutes before the onset
  (a failover, a package upgrade, a flag served): what happened as it started.

Log lines, templates and alert text that name a ticket number are dropped (never evidence).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from baton.agents.base import AgentBrief, ToolCaller
from baton.agents.offline import vocab
from baton.domain.finding import Quote

WINDOW = timedelta(hours=6)
"""How far before detection symptoms are looked for."""
AFTER = timedelta(minutes=15)
"""How far after detection the window reaches (symptoms keep coming after the page)."""
BASELINE = timedelta(days=7)
"""The 'normal' period the window is compared with, just before it."""
BURST = timedelta(minutes=10)
"""Lines of one template this close together form a burst (its onset)."""
ABSENCE = timedelta(minutes=5)
"""A template first seen this long after the logs begin was really absent before."""
_FAILURE = re.compile(
    r"\b(?:oom\w*|out of memory|killed|crash\w*|panic\w*|fatal|segfault|core dumped"
    r"|exceeded (?:memory|cpu|the) limit|health ?check failed|unhealthy|exception"
    r"|(?:failed|refused|unreachable|rejected|denied|aborted)\b|removing host)",
    re.I,
)
"""Words of a failure, whatever level the line was logged at."""
_CONNECTIVITY = re.compile(
    r"time[ds]? ?out|timeout|connection (?:refused|reset|closed|aborted)|reset by peer"
    r"|unreachable|no route to host|broken pipe|could not connect|can'?t connect",
    re.I,
)
TRIGGER = timedelta(minutes=10)
"""How far before the onset a new template is read as what set the symptoms off."""
PRECURSOR = timedelta(minutes=30)
"""How far ahead of the strongest symptom another template may set the onset."""
ONSET_SEARCHES = 2
CERT_WINDOW = timedelta(days=30)
"""A certificate that expired this long before the symptoms (or up to an hour after their
onset) is a cause in its own right."""


@dataclass
class Template:
    """One log template of the incident window, as the evidence needs it."""

    id: str
    text: str
    severity: str
    component: str | None
    count: int
    baseline_count: int
    shift: str
    """'new' or 'surging'."""
    first_seen: datetime | None
    quotes: list[Quote]
    kinds: set[str]
    terms: set[str]
    onset: datetime | None = None
    last_seen: datetime | None = None
    files: tuple[str, ...] = ()
    """Names of the log files its lines come from (`pricing-service.log`)."""
    absence_seen: bool = True
    """Whether the logs cover enough time before its first line to call it new."""

    @property
    def weight(self) -> float:
        level = {"error": 1.0, "warn": 0.6}.get(self.severity, 0.3)
        # present since the logs begin: nothing says it is new
        known = 1.0 if self.absence_seen else 0.5
        # a crash, a kill or a refusal says more than `slow` or `retrying`
        hard = 1.2 if _FAILURE.search(self.text) else 1.0
        return level * known * hard * (1 + math.log10(1 + self.count))

    def names(
        self, ci_name: str, among: Collection[str] = (), aliases: Collection[str] = ()
    ) -> bool:
        """Whether this template points at a CI: its component is the CI, or it names it
        (`among`: the other CI names, so a longer one is not read as this one; `aliases`:
        host names and addresses the CMDB gives for it)."""
        return self.comes_from(ci_name, among) or self.mentions(ci_name, among, aliases)

    def comes_from(self, ci_name: str, among: Collection[str] = ()) -> bool:
        """Whether its lines are logged by that CI: its component or its log file."""
        if self.component and vocab.same_thing(self.component, ci_name, among):
            return True
        return any(vocab.same_thing(_stem(f), ci_name, among) for f in self.files)

    def mentions(
        self, ci_name: str, among: Collection[str] = (), aliases: Collection[str] = ()
    ) -> bool:
        """Whether its text (not only its component) names a CI, or one of its aliases."""
        texts = [self.text, *(q.text for q in self.quotes[:3])]
        return any(
            vocab.mentions(text, name, among) for text in texts for name in (ci_name, *aliases)
        )


@dataclass
class Symptoms:
    detected: datetime
    onset: datetime
    onset_source: str
    templates: list[Template] = field(default_factory=list)
    """Error and warn templates, new or surging, strongest first."""
    traces: list[Template] = field(default_factory=list)
    """New info templates: what the logs say was done."""
    alert_text: str = ""
    """The alert's name, summary and description and the incident's title (no label values)."""
    alert_labels: dict[str, str] = field(default_factory=dict)
    logs_read: bool = False
    notes: list[str] = field(default_factory=list)
    ci_names: set[str] = field(default_factory=set)
    """Names of the CIs in reach (set by the caller): which ones the symptoms point at."""
    affected: set[str] = field(default_factory=set)
    needs: dict[str, set[str]] = field(default_factory=dict)
    """Affected CI -> the CIs it depends on (set by the caller, from the CMDB)."""
    aliases: dict[str, set[str]] = field(default_factory=dict)
    """CI -> host names and addresses its CMDB record gives (set by the caller)."""
    paths: dict[str, set[str]] = field(default_factory=dict)
    """CI -> the CIs between it and the affected CI it was reached from (set by the caller)."""
    _kind_words: dict[Any, set[tuple[str, int]]] = field(default_factory=dict, repr=False)
    _pointed: dict[Any, set[str]] = field(default_factory=dict, repr=False)

    @property
    def ci_terms(self) -> set[str]:
        return {t for name in self.ci_names for t in vocab.terms(name)}

    def pointed_at(self, exclude: set[str]) -> set[str]:
        """CIs in reach, not affected ones, that the main symptoms come from or name."""
        key = (frozenset(self.ci_names), frozenset(self.affected), len(self.templates))
        found = self._pointed.get(key)
        if found is None:
            names = self.ci_names - self.affected
            found = {name for name in names for t in self.main()[:3] if self._names(t, name)}
            self._pointed = {key: found}
        return found - exclude

    def _names(self, t: Template, name: str) -> bool:
        return t.names(name, self.ci_names, self.aliases.get(name, ()))

    def providers(self) -> dict[str, set[str]]:
        """CIs that the main symptoms of two or more affected CIs name in their text, and
        that all those affected CIs depend on: a dependency they share -> who names it."""
        sources = self.sources()
        if len(sources) < 2:
            return {}
        found: dict[str, set[str]] = {}
        main = self.main()[:5]
        for name in self.ci_names - sources:
            aliases = self.aliases.get(name, ())
            callers = {
                y
                for y in sources
                for t in main
                if t.comes_from(y, self.ci_names) and t.mentions(name, self.ci_names, aliases)
            }
            if len(callers) >= 2 and all(name in self.needs.get(y, ()) for y in callers):
                found[name] = callers
        return found

    @property
    def kinds(self) -> set[str]:
        """The fault kinds the alert and the strongest templates speak of, CI names aside
        (`pg-cp-primary.hil2.internal` names a database, it is not about one)."""
        return {kind for kind, _ in self.kind_words()}

    def connectivity(self) -> bool:
        """Whether the main symptoms are failures to reach or hear back from something
        (timeouts, refused or reset connections): any network change can cause those."""
        return any(_CONNECTIVITY.search(t.text) for t in self.main())

    def kind_words(self) -> set[tuple[str, int]]:
        """The kind words the alert and the strongest templates use (`vocab.kind_words`),
        CI names aside; computed once the caller has set the CI names."""
        key = (frozenset(self.ci_names), len(self.templates), self.onset)
        cached = self._kind_words.get(key)
        if cached is not None:
            return cached
        texts = [self._alert_words()]
        for t in [*self.templates[:8], *self.triggers()]:
            texts.append("\n".join([t.text, *(q.text for q in t.quotes[1:3])]))
        found = vocab.kind_words(vocab.without_names("\n".join(texts), self.ci_names))
        self._kind_words = {key: found}
        return found

    def _alert_words(self) -> str:
        return self.alert_text + "\n" + " ".join(self.alert_labels.values())

    def main(self) -> list[Template]:
        """The templates that carry the incident: the strongest and any close to them."""
        if not self.templates:
            return []
        top = self.templates[0].weight
        return [t for t in self.templates[:8] if t.weight >= 0.5 * top]

    def sources(self) -> set[str]:
        """The affected CIs that log the main symptoms."""
        main = self.main()[:5]
        return {ci for ci in self.affected for t in main if t.comes_from(ci, self.ci_names)}

    def naming(self, ci_name: str) -> list[Template]:
        return [t for t in self.templates if self._names(t, ci_name)]

    def alert_names(self, ci_name: str) -> bool:
        """Whether a label value is the CI (or a pod of it): `instance: spine-lhr-01`, not
        `team: edge` for CI `edge-http-sjc`; a list (`a,b`) is read item by item."""
        name = vocab.norm(ci_name)
        values = (v for value in self.alert_labels.values() for v in re.split(r"[,;\s]+", value))
        return any(
            (n := vocab.norm(v)) == name
            or (n.startswith(name + "-") and vocab.same_thing(v, ci_name, self.ci_names))
            for v in values
            if v
        )

    def terms(self) -> set[str]:
        found = vocab.terms(self.alert_text)
        for t in [*self.main(), *self.triggers()]:
            found |= t.terms
        return found

    def triggers(self) -> list[Template]:
        """New templates of any level, however few their lines, that began just before the
        symptoms (up to `TRIGGER` ahead of the onset): what happened as it started (`uplink
        dc-east: link down (optic removed)`, one line a second before the errors)."""
        main = {t.id for t in self.main()}
        return [
            t
            for t in [*self.templates, *self.traces]
            if t.id not in main
            and t.shift == "new"
            and t.absence_seen
            and t.first_seen is not None
            and self.onset - TRIGGER <= t.first_seen <= self.onset + timedelta(minutes=1)
        ]


def gather(brief: AgentBrief, call: ToolCaller, affected: Collection[str] = ()) -> Symptoms:
    """The alert and log evidence of the incident in `brief` (see the module docstring).
    `affected`: the names of the affected CIs, whose own symptoms set the onset."""
    detected = _aware(brief.incident.detected_at)
    symptoms = Symptoms(detected, detected, "detection")
    symptoms.affected = set(affected)
    _read_alert(brief, symptoms)
    start, end = detected - WINDOW, detected + AFTER
    compared = call(
        "logs.compare",
        {
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "baseline_start": (start - BASELINE).isoformat(),
            "baseline_end": start.isoformat(),
            "limit": 50,
        },
    )
    if not compared.ok:
        symptoms.notes.append(f"logs not read: {Quote.of('tool', compared.error or '').text}")
        return symptoms
    data: dict[str, Any] = compared.data
    if not data["window"]["lines"]:
        symptoms.notes.append("no log lines in the hours before detection")
        return symptoms
    symptoms.logs_read = True
    covered_from = _parse(data["store"]["first"]) or start
    covered_from = max(covered_from, start)
    baseline_lines = data["baseline"]["lines"]
    for shift in ("new", "surging"):
        for entry in data[shift]:
            template = _template(entry, shift)
            if template is None:
                continue
            if shift == "new" and not baseline_lines:
                first = template.first_seen
                template.absence_seen = first is not None and first - covered_from >= ABSENCE
            if template.severity not in ("error", "warn") and _FAILURE.search(template.text):
                # logged at info, but a failure all the same (`OOMKilled`, `health check
                # failed`): a symptom, read as a warning
                template.severity = "warn"
            if template.severity in ("error", "warn"):
                symptoms.templates.append(template)
            elif shift == "new" and template.absence_seen:
                symptoms.traces.append(template)
    symptoms.templates.sort(key=lambda t: (-t.weight, t.id))
    _episode(symptoms)
    _onset(symptoms, call, start, end)
    return symptoms


def _episode(symptoms: Symptoms) -> None:
    """Keep as symptoms the templates of the strongest one's episode: one whose lines had
    all stopped before it began is an earlier, separate event (lock waits during a
    maintenance that ended an hour before the errors); it stays readable as a trace of what
    was done, never as a symptom or the onset."""
    if not symptoms.templates:
        return
    top = _anchor(symptoms)
    began = top.first_seen
    if began is None:
        return
    kept = []
    for t in symptoms.templates:
        if t.last_seen is not None and t.last_seen < began - BURST:
            symptoms.traces.append(t)
            symptoms.notes.append(
                f"template {t.id} ({t.count} lines) stopped at {t.last_seen:%H:%M}, before the "
                f"main symptom began ({began:%H:%M}): read as an earlier event, not a symptom"
            )
        else:
            kept.append(t)
    symptoms.templates = kept


def _read_alert(brief: AgentBrief, symptoms: Symptoms) -> None:
    incident = brief.incident
    alert = incident.data.get("alert") if isinstance(incident.data, dict) else None
    labels = dict(incident.labels)
    texts = [incident.title, incident.description or ""]
    if isinstance(alert, dict):
        labels.update({str(k): str(v) for k, v in (alert.get("labels") or {}).items()})
        annotations = alert.get("annotations") or {}
        texts += [str(alert.get("name") or ""), *map(str, annotations.values())]
        started = _parse(alert.get("starts_at") or alert.get("startsAt"))
        if started is not None and started < symptoms.onset:
            symptoms.onset, symptoms.onset_source = started, "the alert's startsAt"
    texts.append(labels.get("alertname", ""))
    symptoms.alert_labels = {k: v for k, v in labels.items() if not vocab.names_a_change(v)}
    symptoms.alert_text = "\n".join(t for t in texts if t and not vocab.names_a_change(t))


def _template(entry: dict[str, Any], shift: str) -> Template | None:
    text = str(entry["template"]["text"])
    examples = [
        Quote.of(str(q.get("source", "logs")), str(q.get("text", ""))) for q in entry["examples"]
    ]
    if vocab.names_a_change(text) or any(vocab.names_a_change(q.text) for q in examples):
        return None  # a line that names a ticket is never evidence
    body = "\n".join([text, *(q.text for q in examples)])
    component = entry.get("component")
    return Template(
        id=entry["template_id"],
        text=text,
        severity=entry["severity"],
        component=component,
        count=int(entry["count"]),
        baseline_count=int(entry.get("baseline_count") or 0),
        shift=shift,
        first_seen=_parse(entry.get("first_seen")),
        last_seen=_parse(entry.get("last_seen")),
        files=tuple(sorted({f for q in examples if (f := _file(q.source))})),
        quotes=[Quote.of(f"logs:template:{entry['template_id']}", text), *examples],
        kinds=vocab.kinds(body),
        terms=vocab.terms(body) | (vocab.terms(component) if component else set()),
    )


def _anchor(symptoms: Symptoms) -> Template:
    """The symptom the incident is about: the strongest one that the affected CIs log or that
    names them (a replica's replication errors an hour earlier are another story than the
    service's 500s), else the strongest of all."""
    among = symptoms.affected
    for t in symptoms.main():
        if any(t.names(ci, among) for ci in among):
            return t
    return symptoms.templates[0]


def _onset(symptoms: Symptoms, call: ToolCaller, start: datetime, end: datetime) -> None:
    """When the incident's symptoms began: the start of the anchor's first burst of lines,
    or of a strong template's that precedes it by `PRECURSOR` at most."""
    main = symptoms.main()
    if not main:
        return
    anchor_template = _anchor(symptoms)
    top = main[0].count
    # the burst that carries the incident, not a small template that came along with it
    timed = [anchor_template] if anchor_template.first_seen and anchor_template.absence_seen else []
    timed += [
        t
        for t in main
        if t is not anchor_template
        and t.first_seen is not None
        and t.absence_seen
        and t.count >= 0.3 * top
    ]
    for template in timed[:ONSET_SEARCHES]:
        found = call(
            "logs.search",
            {
                "template_id": template.id,
                "window_start": start.isoformat(),
                "window_end": end.isoformat(),
                "limit": 200,
            },
        )
        times = [t for line in (found.data or {}).get("lines", []) if (t := _parse(line["ts"]))]
        template.onset = _burst(sorted(times)) if found.ok and times else template.first_seen
    anchor = (timed[0].onset or timed[0].first_seen) if timed else None
    for template in timed:
        when = template.onset or template.first_seen
        if when is None or when >= symptoms.onset:
            continue
        if anchor is not None and when < anchor - PRECURSOR:
            continue  # a background template hours older than the strongest symptom
        symptoms.onset = when
        symptoms.onset_source = f"log template {template.id} ({template.count} lines)"


def _burst(times: list[datetime]) -> datetime:
    """The first line followed by at least two more within `BURST`: a lone early line is
    noise, a burst is the symptom starting."""
    need = min(3, len(times))
    for i, when in enumerate(times):
        if i + need - 1 < len(times) and times[i + need - 1] - when <= BURST:
            return when
    return times[0]


def _file(source: str) -> str | None:
    """The file of a log quote's source (`logs:pricing-service.log:1024`)."""
    parts = source.split(":")
    return parts[1] if len(parts) >= 3 and parts[0] == "logs" and parts[1] else None


def _stem(file: str) -> str:
    """`pricing-service.log` -> `pricing-service`; `payments-api.2026-06-01.jsonl` too."""
    name = file.rsplit("/", 1)[-1]
    return re.split(r"\.(?:log|jsonl|json|txt|out|err)\b|\.\d", name, maxsplit=1)[0]


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def expired_certificate(
    cis: list[dict[str, Any]], symptoms: Symptoms
) -> tuple[dict[str, Any], str] | None:
    """A CI in reach (a `related_cis` entry) whose certificate expired just before the
    symptoms, unless the logs show errors and none of them is about TLS; with the reason."""
    onset = symptoms.onset
    if symptoms.logs_read and symptoms.templates and "tls" not in symptoms.kinds:
        return None
    for ci in sorted(cis, key=lambda c: int(c.get("distance") or 0)):
        valid_to = _parse(ci.get("valid_to"))
        if valid_to is None or not onset - CERT_WINDOW <= valid_to <= onset + timedelta(hours=1):
            continue
        ago = (onset - valid_to).total_seconds() / 3600
        when = f"{ago:.1f} h before the symptoms began" if ago > 0 else "as they began"
        issuer = f", issuer {ci['issuer']}" if ci.get("issuer") else ""
        reason = (
            f"the certificate of {ci.get('name')} expired at {valid_to:%Y-%m-%d %H:%M} UTC, "
            f"{when}{issuer}"
        )
        return ci, reason
    return None
