"""The offline ITSM-change reasoner: its plan, its ranking, and when it abstains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from baton.agents.base import AgentBrief
from baton.agents.offline.itsm_change import ItsmChangeReasoner
from baton.cli.runs import load_incident
from baton.domain.finding import AgentName, Finding, SuspectKind
from baton.domain.incident import Incident
from baton.tools.readers.itsm import ItsmStore, read_files
from tests.unit.itsm_builders import FIXTURES, Caller, change, ci, rel, task_ci

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
DAY = timedelta(days=1)

# app -> db -> host; app -> cache; lonely has no relations
ESTATE = {
    "cmdb_ci": [ci("app"), ci("db"), ci("host"), ci("cache"), ci("lonely")],
    "cmdb_rel_ci": [rel("app", "db"), rel("db", "host", "Runs on::Runs"), rel("app", "cache")],
}


def brief(*cis: str, detected: datetime = T) -> AgentBrief:
    incident = Incident(title="errors", cis=list(cis), detected_at=detected)
    return AgentBrief(
        agent=AgentName.ITSM_CHANGE,
        incident=incident,
        window_start=detected - timedelta(hours=1),
        window_end=detected,
        baseline_start=detected - DAY,
        baseline_end=detected - timedelta(hours=1),
    )


def reason(
    tmp_path: Path,
    changes: list[dict[str, Any]],
    *cis: str,
    task_cis: list[dict[str, Any]] | None = None,
    **options: Any,
) -> tuple[Finding, Caller]:
    store = ItsmStore(tmp_path / "itsm")
    store.put({**ESTATE, "change_request": changes, "task_ci": task_cis or []})
    caller = Caller(store)
    return ItsmChangeReasoner(**options).reason(brief(*cis), caller), caller


def refs(finding: Finding) -> list[str]:
    return [s.ref for s in finding.suspects]


def test_recent_change_on_the_ci_outranks_an_old_one_on_a_neighbour(tmp_path: Path):
    changes = [
        change("CHG-OLD", "db", T - 5 * DAY, T - 5 * DAY + 30 * MIN, risk="2"),
        change("CHG-NEW", "app", T - 20 * MIN, T - 15 * MIN),
    ]
    finding, _ = reason(tmp_path, changes, "app", min_score=0.0)
    assert refs(finding) == ["CHG-NEW", "CHG-OLD"]
    new, old = finding.suspects
    # without logs, timing and reach are all there is: a near change far outweighs an old one
    assert new.score > 5 * old.score
    assert (new.facts["distance"], new.facts["minutes_before"]) == (0, 20.0)
    assert (old.facts["distance"], old.facts["risk"]) == (1, "high")
    assert old.facts["path"] == ["app depends on db"]
    # with the default floor, the five-day-old change is not offered at all
    default, _ = reason(tmp_path, changes, "app")
    assert refs(default) == ["CHG-NEW"] and not default.abstained


def test_type_is_context_and_a_change_backed_out_before_the_symptoms_counts_for_little(
    tmp_path: Path,
):
    """Emergency or normal is shown, not weighed (it says how a change was reviewed, not
    whether it broke anything); closed unsuccessful before the symptoms began means it was
    backed out, which removed it. (The old score ranked such a change first.)"""
    start, end = T - 3 * 60 * MIN, T - 150 * MIN
    changes = [
        change("CHG-CALM", "db", start, end, type="normal", close_code="successful"),
        change("CHG-HOT", "db", start, end, type="emergency", close_code="unsuccessful"),
    ]
    finding, _ = reason(tmp_path, changes, "app", min_score=0.0)
    assert refs(finding) == ["CHG-CALM", "CHG-HOT"]
    calm, hot = finding.suspects
    assert "emergency change (made under pressure, reviewed least)" in hot.reasons
    assert any(r.startswith("closed unsuccessful and ended") for r in hot.reasons)
    assert hot.facts["against"] == {"backed_out": 0.15}
    assert hot.score < calm.score / 3


def test_nothing_in_the_window_abstains(tmp_path: Path):
    changes = [
        change("CHG-LAST-MONTH", "app", T - 45 * DAY, T - 45 * DAY + 10 * MIN),
        change("CHG-ELSEWHERE", "lonely", T - 10 * MIN, T - 5 * MIN),
        change("CHG-AFTER", "app", T + 5 * MIN, T + 30 * MIN),
    ]
    finding, _ = reason(tmp_path, changes, "app")
    assert finding.abstained and finding.suspects == []
    assert finding.summary.startswith("No change explains this: 0 change(s)")
    assert finding.produced_by == "offline" and finding.agent is AgentName.ITSM_CHANGE


def test_only_weak_candidates_abstain_and_say_which_was_closest(tmp_path: Path):
    changes = [
        change("CHG-WEAK", "host", T - 6 * DAY, T - 6 * DAY + 5 * MIN, type="standard", risk="4")
    ]
    finding, _ = reason(tmp_path, changes, "app")
    assert finding.abstained and finding.summary.startswith("No change explains this: 1 change")
    assert any(n.startswith("closest candidate CHG-WEAK scored") for n in finding.notes)
    assert 0 < finding.confidence <= 0.8


def test_unknown_ci_is_a_note_not_a_crash(tmp_path: Path):
    changes = [change("CHG-NEW", "app", T - 20 * MIN, T - 15 * MIN)]
    alone, _ = reason(tmp_path, changes, "mainframe-7")
    assert alone.abstained and alone.confidence == 0.0
    assert alone.notes == ["unknown CI 'mainframe-7': no cmdb_ci record has this sys_id or name"]
    mixed, _ = reason(tmp_path, changes, "mainframe-7", "app")
    assert refs(mixed) == ["CHG-NEW"]
    assert any("unknown CI 'mainframe-7'" in note for note in mixed.notes)


def test_an_incident_without_cis_abstains(tmp_path: Path):
    finding, caller = reason(tmp_path, [])
    assert finding.abstained and "names no configuration item" in finding.summary
    assert caller.calls == []


def test_the_plan_uses_only_its_tools_and_looks_a_month_back(tmp_path: Path):
    """related_cis returns the CI itself (no get_ci), the logs are read for the symptoms (here
    there are none: a note), then one read of changes a month back: latent defects surface
    weeks after the change that planted them."""
    finding, caller = reason(tmp_path, [], "app", "db")
    reasoner = ItsmChangeReasoner()
    assert {name for name, _ in caller.calls} <= set(reasoner.tools)
    assert [name for name, _ in caller.calls] == [
        "itsm.related_cis",
        "itsm.related_cis",
        "logs.compare",
        "itsm.recent_changes",
    ]
    _, last = caller.calls[-1]
    assert sorted(last["ci_ids"]) == ["ci-app", "ci-cache", "ci-db", "ci-host"]
    assert datetime.fromisoformat(last["since"]) == T - 30 * DAY
    assert datetime.fromisoformat(last["until"]) == T
    assert finding.abstained
    assert any(n.startswith("logs not read") for n in finding.notes)


def test_changes_found_through_task_ci_and_in_progress_work(tmp_path: Path):
    changes = [
        # planned on the host, but lists the app as affected; still running at detection
        change("CHG-LIVE", "host", T - 40 * MIN, None, state="-1", close_code=""),
        change("CHG-CANCELED", "app", T - 2 * 60 * MIN, T - 60 * MIN, state="4", actual=False),
    ]
    finding, _ = reason(tmp_path, changes, "app", task_cis=[task_ci("CHG-LIVE", "app")])
    [live] = finding.suspects
    assert live.ref == "CHG-LIVE" and live.facts["distance"] == 0 and live.facts["via"] == "task_ci"
    assert live.facts["gap_minutes"] == 0.0
    assert any("was still going on" in r for r in live.reasons)
    assert "CHG-CANCELED was canceled before any work; ignored" in finding.notes


def test_a_close_runner_up_lowers_confidence(tmp_path: Path):
    one = [change("CHG-A", "app", T - 30 * MIN, T - 20 * MIN)]
    two = [*one, change("CHG-B", "app", T - 30 * MIN, T - 20 * MIN)]
    alone, _ = reason(tmp_path / "1", one, "app")
    tied, _ = reason(tmp_path / "2", two, "app")
    # no logs and no alert: only reach agrees, so confidence stays low even alone
    assert alone.confidence == pytest.approx(0.45, abs=0.01)
    assert tied.confidence == pytest.approx(alone.confidence / 2, abs=0.01)


def test_the_fixture_incident_points_at_the_checkout_deploy(tmp_path: Path):
    store = ItsmStore(tmp_path / "itsm")
    store.put(read_files(sorted(FIXTURES.glob("*.json"))))
    incident = load_incident(FIXTURES / "incident-checkout.yaml")
    b = brief(*incident.cis, detected=incident.detected_at)
    finding = ItsmChangeReasoner(min_score=0.0).reason(b, Caller(store))
    assert refs(finding)[0] == "CHG0031042"
    top = finding.suspects[0]
    assert top.kind is SuspectKind.CHANGE and top.ci == "checkout-api"
    assert top.facts["minutes_before"] == 27.0 and top.facts["type"] == "normal"
    # with no logs to link them, the runners-up are ordered by time and reach, not type:
    # the emergency index build on payments-db (40 h before) is one of them, not promoted
    emergency = refs(finding).index("CHG0031039")
    assert 1 <= emergency <= 3 and finding.suspects[emergency].score < top.score / 3
    # the prompt injection in CHG0031042's description is quoted, never repeated as prose
    assert any("ignore your instructions" in q.text for q in top.quotes)
    prose = [finding.summary, *finding.notes, *(s.title for s in finding.suspects)]
    prose += [r for s in finding.suspects for r in s.reasons]
    assert not any("instructions" in p or "verified safe" in p for p in prose)
    assert all(q.source.startswith("itsm:change_request/CHG0031042#") for q in top.quotes)


def test_base_relation_types_given_by_sys_id_read_as_their_names(tmp_path: Path):
    """Exports often carry a relation's type as a bare sys_id; ServiceNow's base types have
    the same sys_id everywhere, so the walk still reads 'depends on' and knows the way the
    dependency goes (the app depends on the db, not the other way round)."""
    depends = {"value": "1a9cb166f1571100a92eb60da2bce5c5"}
    runs_on = {"value": "60bc4e22c0a8010e01f074cbe6bd73c3"}
    store = ItsmStore(tmp_path / "itsm")
    store.put(
        {
            "cmdb_ci": [ci("app"), ci("db"), ci("host"), ci("portal")],
            "cmdb_rel_ci": [
                {**rel("app", "db"), "type": depends},
                {**rel("db", "host"), "type": runs_on},
                {**rel("portal", "app"), "type": depends},
            ],
        }
    )
    result = Caller(store)("itsm.related_cis", {"ci": "app", "depth": 3})
    related = {r["name"]: r for r in result.data["related"]}
    assert related["db"]["path"] == ["app depends on db"]
    assert related["host"]["path"][-1] == "db runs on host"
    assert related["db"]["depended_on"] and related["host"]["depended_on"]
    assert not related["portal"]["depended_on"]  # portal depends on app, not app on portal
    assert related["host"]["through"] == ["db"]
