"""Alert intake in process (no HTTP): the signal-to-noise rules of `baton.alerts.intake`.

A property: however an alert group's deliveries are ordered and repeated, the group is
one incident with one run. Then the rules one by one, on a clock the test moves: flapping
alerts stop opening incidents within the window and start again after it; a maintenance
window suppresses what it matches and nothing else; an alert firing again after its
incident was resolved opens a new incident; a resolution for an alert never seen firing
creates nothing.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from baton.alerts.intake import AlertPolicy, Disposition, Intake, Report
from baton.alerts.routing import load_routes
from baton.alerts.vendors import alertmanager
from baton.domain.alert import Delivery
from baton.policies.maintenance import MaintenanceCalendar, load_maintenance
from baton.runtime import Runtime
from baton.store.models import AlertInstanceRow, IncidentRow, IncidentStateRow, RunRow
from tests.server import RUNBOOK

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def routes_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "web-restart.yaml").write_text(RUNBOOK)
    return folder


def make_intake(
    runtime: Runtime,
    routes_dir: Path,
    clock: Clock,
    *,
    maintenance: MaintenanceCalendar | None = None,
    flap_count: int = 4,
) -> Intake:
    routes = load_routes(routes_dir, runtime.runner.deps.catalog)
    assert routes.problems == [] and [r.runbook.id for r in routes.all] == ["web-restart"]
    policy = AlertPolicy(flap_count=flap_count, flap_window=timedelta(hours=1))
    return Intake(
        runtime.db, runtime.runner, routes, policy, maintenance or MaintenanceCalendar(), clock
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def intake(runtime: Runtime, routes_dir: Path, clock: Clock) -> Intake:
    return make_intake(runtime, routes_dir, clock)


_serial = itertools.count()


def am_alert(
    fingerprint: str,
    *,
    status: str = "firing",
    starts: datetime = T0,
    severity: str = "critical",
    **labels: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": severity, **labels},
        "annotations": {"summary": f"{fingerprint} 5xx"},
        "startsAt": starts.isoformat(),
        "endsAt": (starts + timedelta(minutes=5)).isoformat()
        if status == "resolved"
        else "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


def delivery(group: str, alerts: list[dict[str, Any]]) -> Delivery:
    """An Alertmanager webhook body for `group`, parsed as the server parses it."""
    payload = {
        "version": "4",
        "groupKey": f'{{}}:{{group="{group}"}}',
        "status": "resolved" if all(a["status"] == "resolved" for a in alerts) else "firing",
        "receiver": "baton",
        "alerts": alerts,
    }
    return alertmanager.parse(payload, T0)


def instances(runtime: Runtime, fingerprints: list[str]) -> dict[str, AlertInstanceRow]:
    """The episode rows of these alerts, by fingerprint (one each, or the test fails)."""
    with runtime.db.read() as session:
        rows = session.scalars(
            select(AlertInstanceRow).where(AlertInstanceRow.fingerprint.in_(fingerprints))
        ).all()
        session.expunge_all()
    by_fingerprint = {r.fingerprint: r for r in rows}
    assert len(by_fingerprint) == len(rows), [r.instance for r in rows]
    return by_fingerprint


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.read() as session:
        incidents = session.scalar(select(func.count()).select_from(IncidentRow)) or 0
        runs = session.scalar(select(func.count()).select_from(RunRow)) or 0
    return incidents, runs


def runs_of(runtime: Runtime, incident_id: str) -> list[RunRow]:
    with runtime.db.read() as session:
        rows = list(session.scalars(select(RunRow).where(RunRow.incident_id == incident_id)))
        session.expunge_all()
    return rows


def incident_status(runtime: Runtime, incident_id: str) -> str:
    with runtime.db.read() as session:
        state = session.get(IncidentStateRow, incident_id)
        assert state is not None
        return state.status


def only(report: Report) -> tuple[Disposition, str | None, str | None]:
    (result,) = report.results
    return result.outcome, result.incident_id, result.reason


# ---- the property -----------------------------------------------------------------------


@st.composite
def redeliveries(draw: st.DrawFn) -> tuple[list[str], list[tuple[list[int], int]]]:
    """Severities of a group's alerts, and deliveries: each some of the alerts, in any order,
    the whole list in any order and with any repetition, each stamped with a start time
    (minutes after T0) that a sender may or may not keep stable."""
    severities = draw(
        st.lists(st.sampled_from(["critical", "high", "medium"]), min_size=1, max_size=4)
    )
    one = st.lists(
        st.integers(0, len(severities) - 1), min_size=1, max_size=len(severities), unique=True
    )
    sent = draw(st.lists(one, min_size=1, max_size=8))
    repeats = draw(st.lists(st.integers(0, len(sent) - 1), max_size=6))
    order = draw(st.permutations(sent + [sent[i] for i in repeats]))
    # Some senders stamp every delivery with its own time instead of the episode's start.
    stamps = draw(st.lists(st.sampled_from([0, 0, 1, 7]), min_size=len(order), max_size=len(order)))
    return severities, [(chosen, minutes) for chosen, minutes in zip(order, stamps, strict=True)]


@hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=redeliveries())
def test_a_group_is_one_incident_and_one_run_however_redelivered(
    runtime: Runtime, intake: Intake, case: tuple[list[str], list[tuple[list[int], int]]]
) -> None:
    severities, deliveries = case
    group = f"g{next(_serial)}"
    fingerprints = [f"{group}-a{n}" for n in range(len(severities))]

    def alert(n: int, minutes: int) -> dict[str, Any]:
        starts = T0 + timedelta(minutes=minutes)
        return am_alert(fingerprints[n], severity=severities[n], service=f"s{n}", starts=starts)

    before = counts(runtime)
    results = []
    for chosen, minutes in deliveries:
        report = intake.receive(delivery(group, [alert(n, minutes) for n in chosen]))
        results += [(fingerprints[n], r) for n, r in zip(chosen, report.results, strict=True)]

    # Routable alerts: web-restart wants critical or high. Until one arrives, nothing opens.
    flat = [fingerprints[n] for chosen, _ in deliveries for n in chosen]
    routable = {fp for fp, sev in zip(fingerprints, severities, strict=True) if sev != "medium"}
    created = [r for _, r in results if r.outcome is Disposition.CREATED]
    incidents_after, runs_after = counts(runtime)
    if not routable & set(flat):
        assert created == []
        assert (incidents_after, runs_after) == before
        return
    assert len(created) == 1, results
    incident_id = created[0].incident_id
    assert incident_id is not None
    assert (incidents_after - before[0], runs_after - before[1]) == (1, 1)
    assert [r.id for r in runs_of(runtime, incident_id)] == [created[0].run_id]
    assert {r.incident_id for _, r in results} <= {incident_id, None}

    # From the creating alert on, every new alert of the group joins that incident, and
    # every redelivery is recognised as one: one episode row per alert, counted.
    first = flat.index(created[0].fingerprint)
    joined_later = set(flat[first:]) - set(flat[:first])
    intake.flush_repeats()  # redeliveries answered from a read are counted at the sweep
    rows = instances(runtime, fingerprints)
    assert set(rows) == set(flat)
    for fp in joined_later:
        assert rows[fp].incident_id == incident_id, (fp, results)
    for fp, row in rows.items():
        assert row.deliveries == flat.count(fp)
    seen: set[str] = set()
    for fp, result in results:
        if fp in seen:
            assert result.outcome is Disposition.DEDUPLICATED, (fp, result)
        seen.add(fp)


# ---- the rules, one by one ----------------------------------------------------------------


def test_a_resolved_incident_then_a_new_episode_opens_a_new_incident(
    runtime: Runtime, intake: Intake, clock: Clock
) -> None:
    first = intake.receive(delivery("again", [am_alert("fp-again", starts=T0)]))
    outcome, incident_a, _ = only(first)
    assert outcome is Disposition.CREATED and incident_a is not None

    clock.now = T0 + timedelta(minutes=10)
    resolved = intake.receive(
        delivery("again", [am_alert("fp-again", starts=T0, status="resolved")])
    )
    assert only(resolved)[:2] == (Disposition.RESOLVED, incident_a)
    assert incident_status(runtime, incident_a) == "resolved"

    clock.now = T0 + timedelta(minutes=20)
    later = T0 + timedelta(minutes=19)
    again = intake.receive(delivery("again", [am_alert("fp-again", starts=later)]))
    outcome, incident_b, _ = only(again)
    assert outcome is Disposition.CREATED
    assert incident_b not in (None, incident_a)
    assert incident_status(runtime, incident_a) == "resolved"
    assert incident_status(runtime, incident_b) == "open"
    assert len(runs_of(runtime, incident_b)) == 1


def test_a_flapping_alert_is_suppressed_within_the_window_and_not_after(
    runtime: Runtime, routes_dir: Path, clock: Clock
) -> None:
    intake = make_intake(runtime, routes_dir, clock, flap_count=3)

    def fire_and_resolve(minute: int) -> tuple[Disposition, str | None, str | None]:
        clock.now = T0 + timedelta(minutes=minute)
        starts = clock.now - timedelta(seconds=30)
        fired = only(intake.receive(delivery("flap", [am_alert("fp-flap", starts=starts)])))
        clock.now += timedelta(minutes=1)
        resolved = am_alert("fp-flap", starts=starts, status="resolved")
        intake.receive(delivery("flap", [resolved]))
        return fired

    first, second, third = fire_and_resolve(0), fire_and_resolve(5), fire_and_resolve(10)
    assert first[0] is Disposition.CREATED
    assert second[0] is Disposition.CREATED  # two episodes in the hour: not flapping yet
    assert second[1] != first[1]
    assert third[0] is Disposition.SUPPRESSED and third[1] is None
    assert third[2] is not None and "flapping" in third[2]
    fourth = fire_and_resolve(20)
    assert fourth[0] is Disposition.SUPPRESSED

    # an hour after the last episodes the alert is news again
    incidents, runs = counts(runtime)
    fifth = fire_and_resolve(20 + 61)
    assert fifth[0] is Disposition.CREATED
    assert counts(runtime) == (incidents + 1, runs + 1)


def test_a_maintenance_window_suppresses_what_it_matches_while_open(
    runtime: Runtime, routes_dir: Path, clock: Clock, tmp_path: Path
) -> None:
    calendar_file = tmp_path / "maintenance.yaml"
    calendar_file.write_text(
        "windows:\n"
        "  - name: checkout-upgrade\n"
        f"    start: {(T0 - timedelta(hours=1)).isoformat()}\n"
        f"    end: {(T0 + timedelta(hours=1)).isoformat()}\n"
        "    match: {service: checkout}\n"
        "    reason: CHG0040012\n"
    )
    intake = make_intake(runtime, routes_dir, clock, maintenance=load_maintenance(calendar_file))
    before = counts(runtime)

    quiet = only(intake.receive(delivery("m1", [am_alert("fp-m1", service="checkout")])))
    assert quiet[0] is Disposition.SUPPRESSED and quiet[1] is None
    assert quiet[2] == "maintenance window checkout-upgrade: CHG0040012"
    assert counts(runtime) == before
    assert instances(runtime, ["fp-m1"])["fp-m1"].outcome == "suppressed"  # kept as evidence

    other = only(intake.receive(delivery("m2", [am_alert("fp-m2", service="search")])))
    assert other[0] is Disposition.CREATED

    # an incident already open for its group still takes a matching alert
    joined = only(intake.receive(delivery("m2", [am_alert("fp-m2b", service="checkout")])))
    assert joined[:2] == (Disposition.ATTACHED, other[1])

    # once the window has closed the quiet alert resolves; firing again, it is news
    clock.now = T0 + timedelta(hours=1, minutes=1)
    ended = am_alert("fp-m1", status="resolved", service="checkout")
    assert only(intake.receive(delivery("m1", [ended])))[0] is Disposition.RESOLVED
    fired = am_alert("fp-m1", starts=clock.now, service="checkout")
    after = only(intake.receive(delivery("m1", [fired])))
    assert after[0] is Disposition.CREATED, after


def test_a_resolution_for_an_alert_never_seen_firing_creates_nothing(
    runtime: Runtime, intake: Intake
) -> None:
    before = counts(runtime)
    report = intake.receive(delivery("ghost", [am_alert("fp-ghost", status="resolved")]))
    outcome, incident_id, reason = only(report)
    assert outcome is Disposition.DEDUPLICATED
    assert incident_id is None
    assert reason is not None and "before it was ever seen firing" in reason
    assert counts(runtime) == before
    assert instances(runtime, ["fp-ghost"])["fp-ghost"].status == "resolved"

    # The same episode's "firing" arriving late (out of order) is over, not news: it must
    # not open an incident that nothing would ever close (found by a probe).
    late = only(intake.receive(delivery("ghost", [am_alert("fp-ghost")])))
    assert late[0] is Disposition.DEDUPLICATED and late[1] is None
    assert counts(runtime) == before

    # A new episode of the alert (a later start) is news.
    again = am_alert("fp-ghost", starts=T0 + timedelta(minutes=30))
    assert only(intake.receive(delivery("ghost", [again])))[0] is Disposition.CREATED


def test_severity_below_the_threshold_and_unrouted_alerts_open_nothing(
    runtime: Runtime, intake: Intake
) -> None:
    before = counts(runtime)
    info = only(intake.receive(delivery("low", [am_alert("fp-info", severity="info")])))
    assert info[0] is Disposition.SUPPRESSED and "below" in (info[2] or "")
    unrouted = only(intake.receive(delivery("low", [am_alert("fp-medium", severity="medium")])))
    assert unrouted[0] is Disposition.NO_ROUTE
    assert counts(runtime) == before
    assert Counter(r.outcome for r in instances(runtime, ["fp-info", "fp-medium"]).values()) == {
        "suppressed": 1,
        "no_route": 1,
    }
