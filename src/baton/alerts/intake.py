"""Signal to noise: what one delivery's alerts do — open an incident, join one, or nothing.

Per alert, in one transaction for the whole delivery (so a delivery is taken whole or not
at all, and a 2xx is sent only after it is committed):

1. the same firing episode seen before, or the alert is still
   firing from an earlier episode (a redelivery)                 → `deduplicated`
   (a delivery made only of such alerts is answered from a read: no write, no audit)
2. a resolved alert: the episode is marked resolved; once every
   alert of its incident is resolved, so is the incident          → `resolved`
3. an open incident for its group, or for its fingerprint within
   the dedup window                                              → `attached`
4. a maintenance window, a severity under the threshold, or an
   alert that keeps flapping                                     → `suppressed`
5. no runbook's trigger holds                                    → `no_route`
6. otherwise a new incident and a run of the routed runbook      → `created`

Every episode is recorded, whatever its outcome: a suppressed alert is evidence too.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from baton.alerts.routing import Routes
from baton.domain import actor
from baton.domain.alert import SEVERITY_RANK, Alert, Delivery
from baton.domain.incident import Incident
from baton.graph.runner import Runner
from baton.policies.maintenance import MaintenanceCalendar
from baton.store import alerts as alert_store
from baton.store import audit
from baton.store.db import Database
from baton.store.models import AlertGroupRow, AlertInstanceRow, IncidentStateRow, utcnow

_OUTCOMES_IN_AUDIT = 50


class Disposition(StrEnum):
    CREATED = "created"
    DEDUPLICATED = "deduplicated"
    ATTACHED = "attached"
    SUPPRESSED = "suppressed"
    NO_ROUTE = "no_route"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertPolicy:
    min_severity: str = "low"
    dedup_window: timedelta = timedelta(hours=24)
    flap_count: int = 4
    flap_window: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class AlertResult:
    fingerprint: str
    name: str
    status: str
    outcome: Disposition
    incident_id: str | None = None
    run_id: str | None = None
    reason: str | None = None


@dataclass
class Report:
    delivery_id: str
    results: list[AlertResult] = field(default_factory=list)

    @property
    def started(self) -> list[str]:
        """Runs this delivery created: the caller hands them to the executor."""
        return [r.run_id for r in self.results if r.run_id and r.outcome is Disposition.CREATED]


def requester(source: str) -> str:
    return actor.automation(f"webhook.{source}")


def incident_from(alert: Alert) -> Incident:
    """The incident an alert opens; its labels and annotations reach runbooks and agents."""
    labels = alert.labels
    service = labels.get("service") or labels.get("app") or labels.get("job")
    cis_label = labels.get("cis") or labels.get("ci")
    cis = [c.strip() for c in cis_label.split(",") if c.strip()] if cis_label else []
    title = f"{alert.name}: {alert.summary}" if alert.summary else alert.name
    return Incident(
        id=f"inc_{uuid.uuid4().hex[:10]}",
        title=title[:512],
        severity=alert.severity,
        service=service,
        environment=labels.get("environment") or labels.get("env"),
        team=labels.get("team"),
        cis=cis or ([service] if service else []),
        labels=dict(labels),
        description=alert.description,
        detected_at=alert.starts_at,
        data={"alert": alert_record(alert)},
    )


def alert_record(alert: Alert) -> dict[str, Any]:
    return {
        "source": alert.source,
        "name": alert.name,
        "status": alert.status,
        "fingerprint": alert.fingerprint,
        "group_key": alert.group_key,
        "severity": alert.severity,
        "starts_at": alert.starts_at.isoformat(),
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "url": alert.url,
        "event_id": alert.event_id,
    }


def _lost_race(exc: DBAPIError) -> bool:
    """A conflict with a concurrent writer, gone on a retry: a key it inserted first, or
    (PostgreSQL) a deadlock or serialization failure between two deliveries' row locks."""
    code = getattr(exc.orig, "sqlstate", None)
    return isinstance(exc, IntegrityError) or code in {"40P01", "40001"}


class Intake:
    """Takes deliveries; creates incidents and runs but never advances them (the caller does)."""

    def __init__(
        self,
        db: Database,
        runner: Runner,
        routes: Routes,
        policy: AlertPolicy,
        maintenance: MaintenanceCalendar,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.runner = runner
        self.routes = routes
        self.policy = policy
        self.maintenance = maintenance
        self.clock = clock
        self._repeats: dict[tuple[str, str], int] = {}
        self._repeats_lock = threading.Lock()

    def receive(self, delivery: Delivery, *, delivery_id: str | None = None) -> Report:
        """Apply one delivery in one transaction; a racing writer's conflict is retried.

        Rows this decides from are read `FOR UPDATE`: on PostgreSQL, API processes taking
        deliveries of one group at once decide one after the other (SQLite's write
        transactions are serial already), and a group created by both meets its primary key.
        """
        delivery_id = delivery_id or f"dlv_{uuid.uuid4().hex[:12]}"
        repeated = self.repeated(delivery, delivery_id)
        if repeated is not None:
            return repeated
        # Routable alerts first: the others of their group then join the incident they open
        # instead of standing apart as `no_route` because of their place in the payload.
        order = sorted(
            range(len(delivery.alerts)),
            key=lambda n: self.routes.route(delivery.alerts[n]) is None,
        )
        for attempt in range(3):
            try:
                with self.db.write() as session:
                    report = Report(delivery_id)
                    done = {n: self._one(session, delivery.alerts[n]) for n in order}
                    report.results = [done[n] for n in range(len(delivery.alerts))]
                    self._audit_delivery(session, delivery, report)
                return report
            except DBAPIError as exc:  # another process took the same group first: re-read
                if attempt == 2 or not _lost_race(exc):
                    raise
        raise AssertionError("unreachable")

    def repeated(self, delivery: Delivery, delivery_id: str | None = None) -> Report | None:
        """A delivery that would change nothing (every alert a known episode still in the
        state it reports) is answered from a read, without taking the write lock: senders
        re-send whole groups on every `repeat_interval`, and in a storm most deliveries are
        these. They are counted in metrics, not written to the audit trail."""
        if not delivery.alerts:
            return None
        report = Report(delivery_id or f"dlv_{uuid.uuid4().hex[:12]}")
        matched: list[tuple[str, str]] = []
        with self.db.peek() as conn:
            for alert in delivery.alerts:
                seen = alert_store.episode(conn, source=alert.source, instance=alert.instance)
                firing = (
                    alert_store.latest_firing(
                        conn, source=alert.source, fingerprint=alert.fingerprint
                    )
                    if alert.status == "resolved" or seen is None
                    else None
                )
                if alert.status == "firing":
                    seen = seen or firing
                    if seen is None or seen.status != "firing":
                        return None
                    reason = f"a redelivery; first seen: {seen.outcome}"
                else:
                    if seen is None or seen.status != "resolved" or firing is not None:
                        return None
                    reason = "a redelivery; already resolved"
                matched.append((seen.source, seen.instance))
                report.results.append(
                    self._result(alert, Disposition.DEDUPLICATED, seen.incident_id, reason=reason)
                )
        with self._repeats_lock:
            for key in matched:
                self._repeats[key] = self._repeats.get(key, 0) + 1
        return report

    def flush_repeats(self) -> int:
        """Add the redeliveries answered from a read to their episodes' delivery counts
        (the server's sweep calls this; a crash loses at most one sweep's worth of counts,
        which metrics have too). Returns how many episodes were updated."""
        with self._repeats_lock:
            counts, self._repeats = self._repeats, {}
        if not counts:
            return 0
        now = self.clock()
        with self.db.write() as session:
            for (source, instance), n in counts.items():
                row = session.get(AlertInstanceRow, (source, instance))
                if row is not None:
                    row.deliveries += n
                    row.last_seen = now
        return len(counts)

    # ---- one alert ----------------------------------------------------------------------

    def _one(self, session: Session, alert: Alert) -> AlertResult:
        now = self.clock()
        seen = session.get(AlertInstanceRow, (alert.source, alert.instance), with_for_update=True)
        if alert.status == "resolved":
            if seen is None or seen.status == "resolved":
                # Some senders resolve without the episode's start (Datadog) or with another
                # one (PagerDuty after a reopen): close the alert's latest firing episode.
                seen = self._latest_firing(session, alert) or seen
            return self._resolved(session, alert, seen, now)
        # An alert still firing cannot fire again: a sender that stamps each delivery with
        # its own time (no episode start of its own) is redelivering the same episode.
        seen = seen or self._latest_firing(session, alert)
        if seen is not None:
            seen.deliveries += 1
            seen.last_seen = now
            first = f"a redelivery; first seen: {seen.outcome}"
            return self._result(alert, Disposition.DEDUPLICATED, seen.incident_id, reason=first)
        incident_id = self._open_incident_for(session, alert, now)
        if incident_id is not None:
            self._record(session, alert, Disposition.ATTACHED, incident_id, None, now)
            audit.append(
                session,
                actor=requester(alert.source),
                kind="alert_attached",
                payload={"alert": alert_record(alert)},
                incident=incident_id,
            )
            return self._result(alert, Disposition.ATTACHED, incident_id)
        reason = self._suppression(session, alert, now)
        if reason is not None:
            self._record(session, alert, Disposition.SUPPRESSED, None, reason, now)
            return self._result(alert, Disposition.SUPPRESSED, reason=reason)
        loaded = self.routes.route(alert)
        if loaded is None:
            reason = f"no runbook's trigger matches {alert.source} alert {alert.name!r}"
            self._record(session, alert, Disposition.NO_ROUTE, None, reason, now)
            return self._result(alert, Disposition.NO_ROUTE, reason=reason)
        incident = incident_from(alert)
        run_id = self.runner.create_in(
            session, loaded, incident, requested_by=requester(alert.source), source=alert.source
        )
        assert incident.id is not None
        group = session.get(AlertGroupRow, (alert.source, alert.group_key), with_for_update=True)
        if group is None:
            session.add(
                AlertGroupRow(
                    source=alert.source, group_key=alert.group_key, incident_id=incident.id
                )
            )
        else:
            group.incident_id, group.opened_at = incident.id, now
        routed = f"runbook {loaded.runbook.id}"
        self._record(session, alert, Disposition.CREATED, incident.id, routed, now)
        session.flush()  # a racing process's group or episode fails here, not at commit
        return self._result(alert, Disposition.CREATED, incident.id, run_id, routed)

    def _resolved(
        self, session: Session, alert: Alert, seen: AlertInstanceRow | None, now: datetime
    ) -> AlertResult:
        if seen is None:
            # Remembered, so that this episode's late "firing" (senders retry out of order)
            # is recognised as over instead of opening an incident nothing will close.
            reason = "resolved before it was ever seen firing: nothing to close"
            self._record(session, alert, Disposition.DEDUPLICATED, None, reason, now)
            session.flush()
            episode = session.get(AlertInstanceRow, (alert.source, alert.instance))
            assert episode is not None
            episode.status, episode.resolved_at = "resolved", alert.ends_at or now
            return self._result(alert, Disposition.DEDUPLICATED, reason=reason)
        seen.deliveries += 1
        seen.last_seen = now
        if seen.status == "resolved":
            return self._result(
                alert,
                Disposition.DEDUPLICATED,
                seen.incident_id,
                reason="a redelivery; already resolved",
            )
        seen.status, seen.resolved_at = "resolved", alert.ends_at or now
        if seen.incident_id is None:
            return self._result(
                alert, Disposition.RESOLVED, reason=f"it had opened nothing ({seen.outcome})"
            )
        audit.append(
            session,
            actor=requester(alert.source),
            kind="alert_resolved",
            payload={"alert": alert_record(alert)},
            incident=seen.incident_id,
        )
        firing = session.scalar(
            select(func.count())
            .select_from(AlertInstanceRow)
            .where(
                AlertInstanceRow.incident_id == seen.incident_id,
                AlertInstanceRow.status == "firing",
            )
        )
        state = session.get(IncidentStateRow, seen.incident_id, with_for_update=True)
        if not firing and state is not None and state.status == "open":
            state.status, state.resolved_at = "resolved", now
            state.resolved_by = requester(alert.source)
            audit.append(
                session,
                actor=requester(alert.source),
                kind="incident_resolved",
                payload={"reason": "every alert of the incident resolved"},
                incident=seen.incident_id,
            )
        return self._result(alert, Disposition.RESOLVED, seen.incident_id)

    def _latest_firing(self, session: Session, alert: Alert) -> AlertInstanceRow | None:
        return session.scalar(
            select(AlertInstanceRow)
            .where(
                AlertInstanceRow.source == alert.source,
                AlertInstanceRow.fingerprint == alert.fingerprint,
                AlertInstanceRow.status == "firing",
            )
            .order_by(AlertInstanceRow.first_seen.desc())
            .limit(1)
        )

    def _open_incident_for(self, session: Session, alert: Alert, now: datetime) -> str | None:
        """The open incident this alert belongs to: its group's, or its fingerprint's."""
        group = session.get(AlertGroupRow, (alert.source, alert.group_key), with_for_update=True)
        candidates = [group.incident_id] if group is not None else []
        recent = session.scalar(
            select(AlertInstanceRow.incident_id)
            .where(
                AlertInstanceRow.source == alert.source,
                AlertInstanceRow.fingerprint == alert.fingerprint,
                AlertInstanceRow.incident_id.is_not(None),
                AlertInstanceRow.first_seen >= now - self.policy.dedup_window,
            )
            .order_by(AlertInstanceRow.first_seen.desc())
            .limit(1)
        )
        if recent is not None:
            candidates.append(recent)
        for incident_id in candidates:
            state = session.get(IncidentStateRow, incident_id, with_for_update=True)
            if state is not None and state.status == "open":
                return incident_id
        return None

    def _suppression(self, session: Session, alert: Alert, now: datetime) -> str | None:
        window = self.maintenance.active(now, alert.labels)
        if window is not None:
            return f"maintenance window {window.name}" + (
                f": {window.reason}" if window.reason else ""
            )
        if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[self.policy.min_severity]:
            return f"severity {alert.severity} is below {self.policy.min_severity}"
        episodes = session.scalar(
            select(func.count())
            .select_from(AlertInstanceRow)
            .where(
                AlertInstanceRow.source == alert.source,
                AlertInstanceRow.fingerprint == alert.fingerprint,
                AlertInstanceRow.first_seen >= now - self.policy.flap_window,
            )
        )
        if (episodes or 0) + 1 >= self.policy.flap_count:
            minutes = int(self.policy.flap_window.total_seconds() // 60)
            return f"flapping: fired {(episodes or 0) + 1} times in {minutes} min"
        return None

    # ---- records ------------------------------------------------------------------------

    def _record(
        self,
        session: Session,
        alert: Alert,
        outcome: Disposition,
        incident_id: str | None,
        reason: str | None,
        now: datetime,
    ) -> None:
        session.add(
            AlertInstanceRow(
                source=alert.source,
                instance=alert.instance,
                fingerprint=alert.fingerprint,
                group_key=alert.group_key,
                incident_id=incident_id,
                name=alert.name,
                severity=alert.severity,
                status="firing",
                outcome=outcome.value,
                reason=reason,
                labels=dict(alert.labels),
                first_seen=now,
                last_seen=now,
            )
        )

    @staticmethod
    def _result(
        alert: Alert,
        outcome: Disposition,
        incident_id: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
    ) -> AlertResult:
        return AlertResult(
            alert.fingerprint, alert.name, alert.status, outcome, incident_id, run_id, reason
        )

    def _audit_delivery(self, session: Session, delivery: Delivery, report: Report) -> None:
        outcomes = [
            {"fingerprint": r.fingerprint, "outcome": r.outcome.value, "incident": r.incident_id}
            for r in report.results[:_OUTCOMES_IN_AUDIT]
        ]
        incidents = {r.incident_id for r in report.results if r.incident_id}
        audit.append(
            session,
            actor=requester(delivery.source),
            kind="webhook_delivery",
            payload={
                "delivery": report.delivery_id,
                "source": delivery.source,
                "alerts": len(delivery.alerts),
                "truncated": delivery.truncated,
                "outcomes": outcomes,
            },
            incident=next(iter(incidents)) if len(incidents) == 1 else None,
        )
