"""The offline log-analysis reasoner on fixture incidents: a synthetic one and LogHub Hadoop."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from baton.agents.base import AgentBrief, ToolCaller
from baton.agents.offline.log_analysis import LogAnalysisReasoner
from baton.domain.finding import AgentName, SuspectKind
from baton.domain.incident import Incident
from baton.tools.readers.base import ToolResult
from baton.tools.readers.itsm import ItsmStore
from baton.tools.readers.logs.store import load_file
from baton.tools.readers.logs.tools import log_tools
from tests.unit.itsm_builders import Caller, ci, log_store, rel, service_log
from tests.unit.logfixtures import DETECTED, END, INJECTION, START, write_service_logs

LOGHUB = Path(__file__).resolve().parents[2].parent / "shared" / "loghub"


def caller(directory: Path, allowed: tuple[str, ...], calls: list[str]) -> ToolCaller:
    """What the tool loop does: allow-list, schema validation, an envelope for every refusal."""
    tools = {t.name: t for t in log_tools(directory)}

    def call(name: str, args: dict[str, Any]) -> ToolResult:
        calls.append(name)
        if name not in allowed or name not in tools:
            return ToolResult(tool=name, ok=False, error=f"tool {name} is not allowed")
        tool = tools[name]
        return tool.call(tool.args_model.model_validate(args))

    return call


def brief(detected: datetime, start: datetime, end: datetime, baseline: datetime) -> AgentBrief:
    return AgentBrief(
        agent=AgentName.LOG_ANALYSIS,
        incident=Incident(title="errors", detected_at=detected, cis=["payments.db"]),
        window_start=start,
        window_end=end,
        baseline_start=baseline,
        baseline_end=start,
    )


def analyse(directory: Path, b: AgentBrief) -> tuple[Any, list[str]]:
    reasoner = LogAnalysisReasoner()
    calls: list[str] = []
    finding = reasoner.reason(b, caller(directory, reasoner.tools, calls))
    return finding, calls


def service_store(tmp_path: Path, incident: bool = True) -> Path:
    directory = tmp_path / "logs"
    for path in write_service_logs(tmp_path / "src", incident=incident):
        load_file(directory, path)
    return directory


SERVICE_BRIEF = brief(DETECTED, DETECTED - timedelta(minutes=15), END, START)


def test_new_error_template_is_the_top_suspect(tmp_path: Path) -> None:
    finding, calls = analyse(service_store(tmp_path), SERVICE_BRIEF)
    assert calls[:2] == ["logs.compare", "logs.templates"]
    assert set(calls[2:]) <= {"logs.search", "itsm.related_cis"}
    assert finding.agent == AgentName.LOG_ANALYSIS and finding.produced_by == "offline"
    assert not finding.abstained and finding.confidence > 0.5
    top = finding.suspects[0]
    assert top.kind == SuspectKind.LOG_TEMPLATE
    assert top.facts["severity"] == "error" and top.facts["change"] == "new"
    assert 0 < top.facts["minutes_before_detection"] < 5
    assert top.ci == "payments.db"
    assert (
        top.quotes[0].text == "connection to db-primary:<*> refused after <*> retries (order <*>)"
    )
    assert all(q.source.startswith("logs:payments.jsonl:") for q in top.quotes[1:])
    components = [s for s in finding.suspects if s.kind == SuspectKind.COMPONENT]
    assert components[0].ref == "payments.db"
    surging = [s for s in finding.suspects if s.facts.get("change") == "surging"]
    assert surging and surging[0].facts["component"] == "checkout.api"


def test_injected_log_text_stays_inside_quotes(tmp_path: Path) -> None:
    finding, calls = analyse(service_store(tmp_path), SERVICE_BRIEF)
    assert set(calls) <= set(LogAnalysisReasoner.tools)
    quoted = [q for s in finding.suspects for q in s.quotes if INJECTION in q.text]
    assert quoted and all(q.source.startswith("logs:") for q in quoted)
    outside = finding.model_dump(exclude={"suspects": {"__all__": {"quotes"}}})
    assert "IGNORE ALL" not in str(outside)


def test_abstains_when_nothing_stands_out(tmp_path: Path) -> None:
    finding, _ = analyse(service_store(tmp_path, incident=False), SERVICE_BRIEF)
    assert finding.abstained and finding.confidence == 0.0
    assert not finding.suspects
    assert "No new or surging" in finding.summary


def test_empty_store_is_a_finding_that_says_so(tmp_path: Path) -> None:
    finding, calls = analyse(tmp_path / "empty", SERVICE_BRIEF)
    assert finding.abstained and calls == ["logs.compare"]
    assert any("empty" in note for note in finding.notes)


def test_window_without_lines_names_the_span_that_exists(tmp_path: Path) -> None:
    later = datetime(2027, 1, 1, tzinfo=UTC)
    finding, _ = analyse(
        service_store(tmp_path), brief(later, later, later + timedelta(hours=1), START)
    )
    assert finding.abstained
    assert any("No log lines between" in n and "2026-03-02T10:00:00Z" in n for n in finding.notes)


def test_a_refused_tool_is_a_note_not_a_crash(tmp_path: Path) -> None:
    reasoner = LogAnalysisReasoner()
    calls: list[str] = []
    call = caller(service_store(tmp_path), ("logs.compare", "logs.templates"), calls)
    finding = reasoner.reason(SERVICE_BRIEF, call)
    assert not finding.abstained
    assert any("logs.search" in n and "not allowed" in n for n in finding.notes)


@pytest.mark.skipif(
    not LOGHUB.is_dir(),
    reason=f"LogHub-2k data sets not found at {LOGHUB} (the ../shared/loghub folder beside the checkout; CI lays it there)",
)
def test_hadoop_network_failure_points_at_failure_events(tmp_path: Path) -> None:
    """LogHub Hadoop-2k: a MapReduce job loses its network from about 18:05.

    Ground truth decides what counts as right: the events (EventId) first seen after the
    baseline at WARN level or above. The top suspect's example lines must belong to them.
    """
    folder = LOGHUB / "Hadoop"
    directory = tmp_path / "logs"
    load_file(directory, folder / "Hadoop_2k.log")
    baseline_end = datetime(2015, 10, 18, 18, 5, tzinfo=UTC)
    with (folder / "Hadoop_2k.log_structured_corrected.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    event_of = {int(r["LineId"]): r["EventId"] for r in rows}
    seen_before = {r["EventId"] for r in rows if f"{r['Date']} {r['Time']}" < "2015-10-18 18:05:00"}
    failing = {
        r["EventId"]
        for r in rows
        if r["EventId"] not in seen_before and r["Level"] in ("WARN", "ERROR", "FATAL")
    }
    b = brief(
        datetime(2015, 10, 18, 18, 6, 30, tzinfo=UTC),
        baseline_end,
        datetime(2015, 10, 18, 18, 11, tzinfo=UTC),
        datetime(2015, 10, 18, 18, 0, tzinfo=UTC),
    )
    finding, _ = analyse(directory, b)
    assert not finding.abstained
    templates = [s for s in finding.suspects if s.kind == SuspectKind.LOG_TEMPLATE]
    top_lines = [int(q.source.rsplit(":", 1)[1]) for q in templates[0].quotes[1:]]
    assert top_lines and {event_of[n] for n in top_lines} <= failing
    assert any(s.kind == SuspectKind.COMPONENT for s in finding.suspects)


# ---- which CI the errors point at: the CMDB read alongside the logs ------------------------

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def estate_finding(
    tmp_path: Path,
    affected: list[str],
    cis: list[dict[str, Any]],
    rels: list[dict[str, Any]],
    logs: dict[str, list[str]],
) -> Any:
    """The log agent on `logs` (file name -> lines) with the CMDB `cis`/`rels` readable."""
    store = ItsmStore(tmp_path / "itsm")
    store.put({"cmdb_ci": cis, "cmdb_rel_ci": rels, "change_request": [], "task_ci": []})
    directory = log_store(tmp_path, *logs.items(), now=T)
    b = AgentBrief(
        agent=AgentName.LOG_ANALYSIS,
        incident=Incident(title="errors", cis=affected, detected_at=T),
        window_start=T - timedelta(hours=1),
        window_end=T,
        baseline_start=T - timedelta(hours=2),
        baseline_end=T - timedelta(hours=1),
    )
    return LogAnalysisReasoner().reason(b, Caller(store, logs=directory))


def test_the_deepest_ci_with_strong_errors_goes_first(tmp_path: Path) -> None:
    """The service logs that its database is unreachable; the node the database runs on logs
    its own errors. The node is where the errors start (two dependency hops down)."""
    cis = [ci("appointment-api"), ci("appointments-db"), ci("k8s-node-07", "cmdb_ci_server")]
    rels = [
        rel("appointment-api", "appointments-db"),
        rel("appointments-db", "k8s-node-07", "Runs on::Runs"),
    ]
    api = service_log(
        "appointment-api",
        T,
        errors=["could not reach appointments-db: dial tcp 10.12.9.14:5432: i/o timeout"],
        days=1,
    )
    node = service_log(
        "kubelet",
        T,
        errors=["Error updating node status, will retry: context deadline exceeded"],
        days=1,
    )
    finding = estate_finding(
        tmp_path,
        ["appointment-api"],
        cis,
        rels,
        {"appointment-api.log": api, "k8s-node-07-kern.log": node},
    )
    top = finding.suspects[0]
    assert top.ci == "k8s-node-07"
    assert any("dependency hop(s) below the affected CI" in r for r in top.reasons)
    named = [s for s in finding.suspects if s.ci == "appointments-db"]
    assert named and named[0].kind is SuspectKind.LOG_TEMPLATE  # still listed, below


def test_a_host_name_from_the_cmdb_maps_errors_to_their_ci(tmp_path: Path) -> None:
    cis = [
        ci("payments-api"),
        ci("acquirer-gw", "cmdb_ci_service", short_description="Acquirer API (api.acq.example)"),
    ]
    rels = [rel("payments-api", "acquirer-gw")]
    lines = service_log(
        "payments-api",
        T,
        errors=["POST https://api.acq.example/v3/authorise -> 503 Service Unavailable"],
        days=1,
    )
    finding = estate_finding(tmp_path, ["payments-api"], cis, rels, {"payments-api.log": lines})
    assert finding.suspects[0].ci == "acquirer-gw"


def test_a_log_file_named_after_a_ci_maps_its_lines_to_it(tmp_path: Path) -> None:
    cis = [ci("order-service"), ci("orders-db", "cmdb_ci_db_postgresql_instance")]
    rels = [rel("order-service", "orders-db")]
    calm = [
        f"{T - timedelta(minutes=m):%Y-%m-%d %H:%M:%S},000 INFO checkpoint complete"
        for m in range(120, 10, -5)
    ]
    errors = [
        f"{T - timedelta(seconds=s):%Y-%m-%d %H:%M:%S},000 ERROR remaining connection slots "
        "are reserved for non-replication superuser connections"
        for s in range(600, 0, -10)
    ]
    finding = estate_finding(
        tmp_path,
        ["order-service", "orders-db"],
        cis,
        rels,
        {"orders-db-postgresql.log": sorted(calm + errors)},
    )
    assert finding.suspects[0].ci == "orders-db"
