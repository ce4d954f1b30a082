"""Vendor webhook payloads (fixtures in each vendor's documented shape) -> normalised alerts."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from baton.alerts.vendors import PARSERS, parse
from baton.domain.alert import SOURCES, Delivery, Source
from baton.errors import PayloadInvalid

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
RECEIVED = datetime(2024, 6, 12, 12, 0, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def read(source: Source, body: Any) -> Delivery:
    return parse(source, body, RECEIVED)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def invalid(source: Source, body: Any) -> PayloadInvalid:
    with pytest.raises(PayloadInvalid) as caught:
        read(source, body)
    return caught.value


def test_every_source_has_exactly_one_parser():
    assert set(PARSERS) == set(SOURCES)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("body", [[], "alerts", None, 3, True])
def test_a_body_that_is_not_an_object_is_refused(source: Source, body: Any):
    err = invalid(source, body)
    assert err.field == "(body)"
    assert "expected a JSON object" in err.message


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in FIXTURES.glob("*.json")), ids=lambda name: name
)
def test_raw_stays_small(name: str):
    delivery = read(name.partition("-")[0], load(name))  # type: ignore[arg-type]
    for alert in delivery.alerts:
        assert len(json.dumps(alert.raw)) < 1000
        assert "alerts" not in alert.raw and "data" not in alert.raw and "body" not in alert.raw


# --- Alertmanager ------------------------------------------------------------------------


def test_alertmanager_firing():
    delivery = read("alertmanager", load("alertmanager-firing"))
    assert (delivery.source, delivery.receiver, delivery.truncated) == ("alertmanager", "baton", 0)
    [alert] = delivery.alerts
    assert alert.status == "firing"
    assert alert.fingerprint == "5ef77f1f8a3ecfa4"
    assert alert.group_key == (
        '{}/{severity="critical"}:{alertname="KubePodCrashLooping", namespace="payments"}'
    )
    assert alert.name == "KubePodCrashLooping"
    assert alert.severity == "critical"
    assert alert.starts_at == at(2024, 6, 10, 8, 15, 30, 123456)  # nanoseconds cut
    assert alert.ends_at is None  # 0001-01-01 means unset
    assert alert.labels["pod"] == "checkout-7d9f8b6c4-x2x9q"
    assert alert.annotations["runbook_url"].startswith("https://runbooks.example.com/")
    assert alert.summary == "Pod payments/checkout-7d9f8b6c4-x2x9q is crash looping"
    assert alert.url is not None and alert.url.startswith("http://prometheus.example.com:9090/")
    assert alert.raw["externalURL"] == "http://alertmanager.example.com:9093"


def test_alertmanager_resolved_is_the_same_instance_with_an_end():
    [firing] = read("alertmanager", load("alertmanager-firing")).alerts
    [resolved] = read("alertmanager", load("alertmanager-resolved")).alerts
    assert resolved.status == "resolved"
    assert resolved.ends_at == at(2024, 6, 10, 8, 42, 0, 500000)
    assert resolved.instance == firing.instance
    assert resolved.group_key == firing.group_key


def test_alertmanager_group_of_three():
    delivery = read("alertmanager", load("alertmanager-group"))
    assert [a.status for a in delivery.alerts] == ["firing", "firing", "resolved"]
    assert [a.severity for a in delivery.alerts] == ["medium", "critical", "medium"]
    assert {a.group_key for a in delivery.alerts} == {'{}:{alertname="NodeFilesystemAlmostFull"}'}
    assert [a.labels["instance"] for a in delivery.alerts] == [
        "db-1:9100",
        "db-2:9100",
        "db-3:9100",
    ]
    assert delivery.alerts[1].starts_at == at(2024, 6, 10, 7, 1, 30)  # +02:00 honoured
    assert delivery.alerts[2].ends_at == at(2024, 6, 10, 8, 58)
    assert len({a.fingerprint for a in delivery.alerts}) == 3


def test_alertmanager_truncated_alerts_are_counted():
    delivery = read("alertmanager", load("alertmanager-truncated"))
    assert delivery.truncated == 5
    assert len(delivery.alerts) == 2
    assert delivery.receiver == "baton-capped"


def test_alertmanager_without_fingerprint_uses_the_labels():
    body = load("alertmanager-group")
    for alert in body["alerts"]:
        del alert["fingerprint"]
    first = read("alertmanager", body).alerts
    for alert in body["alerts"]:
        alert["labels"] = dict(reversed(alert["labels"].items()))
    again = read("alertmanager", body).alerts
    assert [a.fingerprint for a in first] == [a.fingerprint for a in again]
    assert all(len(a.fingerprint) == 64 for a in first)
    assert len({a.fingerprint for a in first}) == 3


def test_alertmanager_firing_end_time_is_not_an_end():
    body = load("alertmanager-firing")
    body["alerts"][0]["endsAt"] = "2024-06-10T08:19:30Z"  # Prometheus' expiry guess
    assert read("alertmanager", body).alerts[0].ends_at is None


def test_alertmanager_oversized_keys_are_digested_and_missing_alertname_named():
    body = load("alertmanager-firing")
    body["groupKey"] = "{}:{" + "x" * 3000 + "}"
    del body["alerts"][0]["labels"]["alertname"]
    [alert] = read("alertmanager", body).alerts
    assert alert.group_key.startswith("sha256:")
    assert alert.name == "alert 5ef77f1f8a3ecfa4"


def test_alertmanager_empty_labels_encoded_as_null_are_empty():
    body = load("alertmanager-firing")
    body["commonAnnotations"] = None
    body["alerts"][0]["annotations"] = None
    [alert] = read("alertmanager", body).alerts
    assert alert.annotations == {} and alert.summary is None


def _set(path: str, value: Any) -> Callable[[Any], None]:
    """A mutation of a fixture: set (or, with value DELETE, remove) the dotted path."""

    def apply(body: Any) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node = body
        for part in parents:
            node = node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value

    return apply


DELETE = object()


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (_set("alerts", DELETE), "alerts", "missing"),
        (_set("alerts", "none"), "alerts", "expected a JSON array, got 'none'"),
        (_set("groupKey", DELETE), "groupKey", "missing"),
        (_set("version", "3"), "version", "expected '4', got '3'"),
        (_set("status", "pending"), "status", "expected 'firing' or 'resolved'"),
        (_set("truncatedAlerts", -1), "truncatedAlerts", "expected a number >= 0"),
        (_set("alerts.1.startsAt", "yesterday"), "alerts[1].startsAt", "got 'yesterday'"),
        (_set("alerts.1.startsAt", "2024-06-10"), "alerts[1].startsAt", "RFC 3339"),
        (_set("alerts.1.startsAt", "2024-06-10T09:00:00"), "alerts[1].startsAt", "RFC 3339"),
        (_set("alerts.1.startsAt", 1718000000), "alerts[1].startsAt", "RFC 3339"),
        (_set("alerts.2.endsAt", "2024-13-45T99:00:00Z"), "alerts[2].endsAt", "RFC 3339"),
        (_set("alerts.0.startsAt", DELETE), "alerts[0].startsAt", "missing"),
        (_set("alerts.0.status", "ok"), "alerts[0].status", "expected 'firing' or 'resolved'"),
        (_set("alerts.2.labels", ["a"]), "alerts[2].labels", "expected a JSON object"),
        (_set("alerts.2.labels.instance", 5), "alerts[2].labels.instance", "expected a string"),
        (_set("alerts.0.labels.ok", {"a": 1}), "alerts[0].labels.ok", "expected a string"),
        (_set("alerts.0.annotations.summary", None), "alerts[0].annotations.summary", "null"),
        (_set("alerts.0", "alert"), "alerts[0]", "expected a JSON object"),
        (_set("groupLabels.alertname", 1.5), "groupLabels.alertname", "expected a string"),
    ],
)
def test_alertmanager_malformed(change: Callable[[Any], None], field: str, problem: str):
    body = load("alertmanager-group")
    change(body)
    err = invalid("alertmanager", body)
    assert err.field == field
    assert problem in err.message


def test_alertmanager_bounds():
    body = load("alertmanager-firing")
    body["alerts"][0]["labels"]["k" * 257] = "v"
    err = invalid("alertmanager", body)
    assert err.field.startswith("alerts[0].labels[")
    assert "expected a key of at most 256 characters" in err.message

    body = load("alertmanager-firing")
    body["alerts"][0]["annotations"]["description"] = "x" * (16 * 1024 + 1)
    err = invalid("alertmanager", body)
    assert err.field == "alerts[0].annotations.description"
    assert "at most 16384 characters" in err.message

    body = load("alertmanager-firing")
    body["alerts"] = body["alerts"] * 1001
    err = invalid("alertmanager", body)
    assert (err.field, err.message) == ("alerts", "alerts: expected at most 1000 alerts, got 1001")

    body["alerts"] = body["alerts"][:1000]
    assert len(read("alertmanager", body).alerts) == 1000


def test_hostile_text_is_carried_as_text():
    body = load("alertmanager-firing")
    body["alerts"][0]["annotations"]["summary"] = "{{ 7*7 }} $(rm -rf /) <script>"
    [alert] = read("alertmanager", body).alerts
    assert alert.summary == "{{ 7*7 }} $(rm -rf /) <script>"


# --- PagerDuty ---------------------------------------------------------------------------


def test_pagerduty_triggered():
    delivery = read("pagerduty", load("pagerduty-triggered"))
    [alert] = delivery.alerts
    assert alert.source == "pagerduty"
    assert alert.status == "firing"
    assert alert.fingerprint == "Q2V8JXN5ABCDEF"
    assert alert.group_key == "checkout-5xx-eu-west-1"
    assert alert.event_id == "01EXAMPLE0TRIGGERED0000001"
    assert alert.severity == "critical"  # P1
    assert alert.starts_at == at(2024, 6, 12, 3, 14, 7)
    assert alert.ends_at is None
    assert alert.name == "Checkout API 5xx rate above 5% in eu-west-1"
    assert alert.labels == {
        "service": "Checkout API",
        "service_id": "PF9KMXH",
        "urgency": "high",
        "priority": "P1",
        "escalation_policy": "Payments Primary",
        "teams": "Payments",
        "pd_status": "triggered",
    }
    assert alert.url == "https://acme.pagerduty.com/incidents/Q2V8JXN5ABCDEF"
    assert alert.raw["incident_number"] == 4711


def test_pagerduty_resolved_ends_the_same_instance():
    [triggered] = read("pagerduty", load("pagerduty-triggered")).alerts
    [resolved] = read("pagerduty", load("pagerduty-resolved")).alerts
    assert resolved.status == "resolved"
    assert resolved.ends_at == at(2024, 6, 12, 4, 2, 55, 1000)
    assert resolved.instance == triggered.instance
    assert resolved.severity == "low"  # no priority: urgency low
    assert resolved.event_id == "01EXAMPLE0RESOLVED00000002"


@pytest.mark.parametrize("event_type", ["incident.acknowledged", "incident.unacknowledged"])
def test_pagerduty_acknowledging_is_still_the_same_firing_episode(event_type: str):
    [triggered] = read("pagerduty", load("pagerduty-triggered")).alerts
    body = load("pagerduty-triggered")
    body["event"]["event_type"] = event_type
    [alert] = read("pagerduty", body).alerts
    assert alert.status == "firing" and alert.instance == triggered.instance


def test_pagerduty_reopened_is_a_new_episode():
    [triggered] = read("pagerduty", load("pagerduty-triggered")).alerts
    body = load("pagerduty-triggered")
    body["event"].update(event_type="incident.reopened", occurred_at="2024-06-12T05:00:00Z")
    [alert] = read("pagerduty", body).alerts
    assert alert.status == "firing"
    assert alert.starts_at == at(2024, 6, 12, 5)
    assert alert.fingerprint == triggered.fingerprint
    assert alert.instance != triggered.instance


@pytest.mark.parametrize(
    "body",
    [
        load("pagerduty-annotated"),
        load("pagerduty-service-updated"),
        {
            "event": {
                "id": "01PING",
                "event_type": "pagey.ping",
                "resource_type": "pagey",
                "occurred_at": "2024-06-12T03:00:00Z",
                "agent": None,
                "client": None,
                "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
            }
        },
    ],
    ids=["incident.annotated", "service.updated", "pagey.ping"],
)
def test_pagerduty_other_events_carry_no_alerts(body: Any):
    delivery = read("pagerduty", body)
    assert delivery.source == "pagerduty" and delivery.alerts == []


def test_pagerduty_group_and_severity_fallbacks():
    body = load("pagerduty-triggered")
    data = body["event"]["data"]
    data["incident_key"] = None
    data["priority"] = {"id": "PX", "summary": "Urgent-ish", "type": "priority_reference"}
    data["urgency"] = "low"
    [alert] = read("pagerduty", body).alerts
    assert alert.group_key == "Q2V8JXN5ABCDEF"
    assert alert.severity == "low"
    assert alert.labels["priority"] == "Urgent-ish"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (_set("event", DELETE), "event", "missing"),
        (lambda b: b.clear(), "event", "missing"),
        (_set("event.occurred_at", "soon"), "event.occurred_at", "RFC 3339"),
        (_set("event.data", ["x"]), "event.data", "expected a JSON object"),
        (_set("event.data", None), "event.data", "expected a JSON object, got null"),
        (_set("event.data.type", "incident_note"), "event.data.type", "expected 'incident'"),
        (_set("event.data.created_at", DELETE), "event.data.created_at", "missing"),
        (_set("event.data.title", 7), "event.data.title", "expected a string"),
        (_set("event.data.service.summary", 5), "event.data.service.summary", "expected a string"),
        (_set("event.data.teams", "Payments"), "event.data.teams", "expected a JSON array"),
    ],
)
def test_pagerduty_malformed(change: Callable[[Any], None], field: str, problem: str):
    body = load("pagerduty-triggered")
    change(body)
    err = invalid("pagerduty", body)
    assert err.field == field
    assert problem in err.message


# --- Datadog -----------------------------------------------------------------------------


def test_datadog_default_template():
    [alert] = read("datadog", load("datadog-default")).alerts
    assert alert.source == "datadog"
    assert alert.status == "firing"
    assert alert.name == "Memory usage high"
    assert alert.starts_at == at(2024, 6, 12, 8, 14, 7)  # 1718180047000 ms
    assert alert.ends_at is None
    assert alert.severity == "high"  # nothing says otherwise
    assert alert.event_id == "7629873520438193029"
    assert alert.group_key == alert.fingerprint
    assert len(alert.fingerprint) == 64
    assert alert.labels == {}
    assert alert.description is not None and "above 90%" in alert.description
    assert alert.raw == {"event_type": "query_alert_monitor", "org_id": "231456"}


def test_datadog_default_recovered_matches_its_trigger():
    [firing] = read("datadog", load("datadog-default")).alerts
    [recovered] = read("datadog", load("datadog-default-recovered")).alerts
    assert recovered.status == "resolved"
    assert recovered.fingerprint == firing.fingerprint
    assert recovered.ends_at == recovered.starts_at == at(2024, 6, 12, 8, 34, 7)


def test_datadog_with_extra_variables():
    [alert] = read("datadog", load("datadog-extended")).alerts
    assert alert.status == "firing"
    assert alert.fingerprint == "9bd4ac313a4d1e8fae2482df7b77628"  # aggreg_key
    assert alert.group_key == "98765"  # the monitor
    assert alert.severity == "high"  # P2
    assert alert.name == "Checkout p99 latency high"
    assert alert.labels == {"env": "prod", "service": "checkout", "team": "payments", "monitor": ""}
    assert alert.url == "https://app.datadoghq.com/event/event?id=7630024471130923154"
    assert alert.summary is not None and alert.summary.startswith("trace.http.request")
    assert alert.annotations["alert_metric"] == "trace.http.request.duration.by.service.99p"
    assert alert.raw["alert_transition"] == "Triggered"


def test_datadog_extended_recovered():
    [firing] = read("datadog", load("datadog-extended")).alerts
    [recovered] = read("datadog", load("datadog-extended-recovered")).alerts
    assert recovered.status == "resolved"
    assert (recovered.fingerprint, recovered.group_key) == (firing.fingerprint, firing.group_key)


def test_datadog_transition_wins_over_the_title():
    body = load("datadog-default")
    body.update(title="[Recovered] Memory usage high", alert_transition="Re-Triggered")
    assert read("datadog", body).alerts[0].status == "firing"
    body["alert_transition"] = "recovered"
    assert read("datadog", body).alerts[0].status == "resolved"


@pytest.mark.parametrize(
    ("extra", "severity"),
    [
        ({"alert_priority": "P1"}, "critical"),
        ({"priority": "P4"}, "low"),
        ({"priority": "low"}, "high"),  # $PRIORITY is normal/low event priority, not severity
        ({"title": "[P3] [Triggered] Queue depth"}, "medium"),
        ({"alert_type": "warning"}, "medium"),
        ({"alert_type": "info"}, "info"),
        ({"alert_transition": "Warn"}, "medium"),
        ({"title": "[Warn on {host:a}] Queue depth"}, "medium"),
    ],
)
def test_datadog_severity(extra: dict[str, str], severity: str):
    body = load("datadog-default") | extra
    assert read("datadog", body).alerts[0].severity == severity


def test_datadog_numbers_and_hosts():
    body = load("datadog-default") | {
        "date": 1718180047000,
        "id": 7629873520438193029,
        "host_name": "web-1",
        "tags": "role:web, role:edge ,env:prod",
    }
    [alert] = read("datadog", body).alerts
    assert alert.starts_at == at(2024, 6, 12, 8, 14, 7)
    assert alert.event_id == "7629873520438193029"
    assert alert.labels == {"role": "web,edge", "env": "prod", "host": "web-1"}


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (_set("date", "yesterday"), "date", "expected epoch milliseconds, got 'yesterday'"),
        (_set("date", -5), "date", "expected epoch milliseconds"),
        (_set("date", 10**30), "date", "expected epoch milliseconds"),
        (_set("date", DELETE), "date", "missing"),
        (_set("title", DELETE), "title", "missing"),
        (_set("title", ["x"]), "title", "expected a string"),
        (_set("tags", ["env:prod"]), "tags", "expected a string"),
        (_set("tags", "k" * 300 + ":v"), "tags", "at most 256 characters"),
        (_set("org", "Acme"), "org", "expected a JSON object"),
        (_set("org.id", [1]), "org.id", "expected a string"),
        (_set("body", "x" * 20000), "body", "at most 16384 characters"),
    ],
)
def test_datadog_malformed(change: Callable[[Any], None], field: str, problem: str):
    body = load("datadog-default")
    change(body)
    err = invalid("datadog", body)
    assert err.field == field
    assert problem in err.message


# --- Grafana -----------------------------------------------------------------------------


def test_grafana_multi_alert():
    delivery = read("grafana", load("grafana-firing"))
    assert (delivery.source, delivery.receiver, delivery.truncated) == ("grafana", "baton", 0)
    first, second = delivery.alerts
    assert [first.status, second.status] == ["firing", "firing"]
    assert [first.fingerprint, second.fingerprint] == ["c6eadffa33fcdf37", "bc97ff14869b13e3"]
    assert (
        first.group_key
        == second.group_key
        == ('{}/{team="payments"}:{alertname="High memory usage", grafana_folder="Payments"}')
    )
    assert [first.severity, second.severity] == ["medium", "critical"]
    assert first.starts_at == at(2024, 6, 12, 7, 51, 3, 157076)
    assert first.starts_at.utcoffset() == timedelta(hours=2)
    assert first.name == "High memory usage"
    assert first.labels["zone"] == "us-1" and second.labels["zone"] == "eu-1"
    assert first.raw["values"] == {"B": 92.4, "C": 1.0}
    assert first.raw["orgId"] == 1
    assert first.raw["dashboardURL"].startswith("https://grafana.example.com/d/checkout-overview")
    assert first.url == "https://grafana.example.com/alerting/grafana/fe3kq9q0x1fk0c/view?orgId=1"


def test_grafana_resolved():
    [firing, _] = read("grafana", load("grafana-firing")).alerts
    [resolved] = read("grafana", load("grafana-resolved")).alerts
    assert resolved.status == "resolved"
    assert resolved.ends_at == datetime(2024, 6, 12, 10, 21, 3, tzinfo=timezone(timedelta(hours=2)))
    assert resolved.instance == firing.instance


def test_grafana_tolerates_null_maps_and_missing_values():
    body = load("grafana-firing")
    body["alerts"][0].update(values=None, annotations=None)
    del body["alerts"][1]["values"]
    body["groupLabels"] = None
    first, second = read("grafana", body).alerts
    assert "values" not in first.raw and first.annotations == {}
    assert "values" not in second.raw


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (_set("version", "4"), "version", "expected '1', got '4'"),
        (_set("alerts.1.values.B", "high"), "alerts[1].values.B", "expected a number"),
        (_set("alerts.1.startsAt", "now"), "alerts[1].startsAt", "RFC 3339"),
        (_set("alerts.0.labels.zone", False), "alerts[0].labels.zone", "expected a string"),
        (_set("orgId", "one"), "orgId", "expected an integer"),
    ],
)
def test_grafana_malformed(change: Callable[[Any], None], field: str, problem: str):
    body = load("grafana-firing")
    change(body)
    err = invalid("grafana", body)
    assert err.field == field
    assert problem in err.message


def test_payload_sent_to_the_wrong_source_is_refused():
    assert invalid("alertmanager", load("grafana-firing")).field == "version"
    assert invalid("grafana", load("alertmanager-firing")).field == "version"
    assert invalid("pagerduty", load("alertmanager-firing")).field == "event"


# --- generic -----------------------------------------------------------------------------


def test_generic_single():
    delivery = read("generic", load("generic-single"))
    [alert] = delivery.alerts
    assert alert.source == "generic"
    assert alert.status == "firing"
    assert alert.name == "Nightly settlement batch failed"
    assert alert.severity == "high"
    assert alert.starts_at == at(2024, 6, 12, 2, 14)
    assert alert.labels == {
        "job": "settlement-nightly",
        "region": "eu-west-1",
        "service": "settlement",
        "environment": "prod",
    }
    assert alert.group_key == alert.fingerprint and len(alert.fingerprint) == 64
    assert alert.summary == "settlement-nightly exited 2"
    assert alert.url == "https://ci.example.com/jobs/settlement-nightly/8812"


def test_generic_fingerprint_follows_title_and_labels_not_their_order():
    body = load("generic-single")
    [a] = read("generic", body).alerts
    body["labels"] = dict(reversed(body["labels"].items()))
    body["starts_at"] = "2024-06-13T00:00:00Z"
    [b] = read("generic", body).alerts
    body["labels"]["region"] = "us-east-1"
    [c] = read("generic", body).alerts
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_generic_batch():
    alerts = read("generic", load("generic-batch")).alerts
    assert [a.status for a in alerts] == ["firing", "firing", "resolved"]
    assert [a.severity for a in alerts] == ["medium", "critical", "high"]
    assert {a.group_key for a in alerts} == {"certificates"}
    assert [a.fingerprint for a in alerts] == [
        "cert-api.example.com",
        "cert-pay.example.com",
        "cert-old.example.com",
    ]


def test_generic_minimal_defaults():
    [alert] = read("generic", {"title": "disk full"}).alerts
    assert alert.status == "firing" and alert.severity == "high"
    assert alert.starts_at == RECEIVED
    assert alert.labels == {} and alert.raw == {}


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"titel": "x"}, "titel", "unknown field"),
        ({"title": "x", "source": "cron"}, "source", "unknown field"),
        ({"alerts": [{"title": "x"}], "source": "cron"}, "source", "unknown field"),
        ({"alerts": [{"title": "x", "prio": 1}]}, "alerts[0].prio", "unknown field"),
        ({"alerts": [{"title": "x"}, {}]}, "alerts[1].title", "missing"),
        ({"alerts": {"title": "x"}}, "alerts", "expected a JSON array"),
        ({"alerts": [{"title": "x"}] * 1001}, "alerts", "at most 1000 alerts"),
        ({}, "title", "missing"),
        ({"title": ""}, "title", "non-empty"),
        ({"title": "x", "status": "open"}, "status", "expected 'firing' or 'resolved'"),
        ({"title": "x", "severity": "critcal"}, "severity", "got 'critcal'"),
        ({"title": "x", "labels": {"team": 3}}, "labels.team", "expected a string"),
        ({"title": "x", "labels": {"a b": 3}}, 'labels["a b"]', "expected a string"),
        ({"title": "x", "annotations": "note"}, "annotations", "expected a JSON object"),
        ({"title": "x", "starts_at": "yesterday"}, "starts_at", "got 'yesterday'"),
        ({"title": "x", "fingerprint": "f" * 257}, "fingerprint", "at most 256 characters"),
    ],
)
def test_generic_malformed(body: Any, field: str, problem: str):
    err = invalid("generic", copy.deepcopy(body))
    assert err.field == field
    assert problem in err.message
