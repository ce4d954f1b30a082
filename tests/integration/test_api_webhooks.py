"""Alert webhooks over real HTTP, against one `baton serve` for the whole module.

What a sender sees: each vendor's documented payload is taken with its credential and
answered per alert; an Alertmanager group is one incident however often (and however
concurrently) it is redelivered, and its resolution resolves the incident. What an attacker
sees: without the right credential, signature or a fresh timestamp nothing is stored at all
(no incident, no alert, no audit event); malformed, oversized or absurdly nested bodies are
refused with a precise error, counted and (once authenticated) audited, and the server keeps
answering.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from baton.alerts.signatures import sign_baton
from tests.conftest import REPO, wait_for
from tests.server import Server, ServerHome

pytestmark = pytest.mark.integration

FIXTURES = REPO / "tests" / "fixtures" / "webhooks"
SECRET = "generic-hmac-secret-0123456789"
TOKENS = {
    "alertmanager": "am-token",
    "generic": "generic-token",
    "pagerduty": "pd-token",
    "datadog": "dd-token",
    "grafana": "gf-token",
}

# Routes the vendor fixtures' alerts (web-restart routes HighErrorRate and WebDown only).
TRIAGE = """\
id: triage
title: Triage a vendor alert
owner: payments
triggers:
  - source: pagerduty
  - source: datadog
  - source: grafana
  - source: alertmanager
    match: {alertname: KubePodCrashLooping}
  - source: generic
    match: {service: settlement}
tasks:
  - id: note
    type: action
    title: Note the alert
    executor: command
    params: {argv: ["true"]}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = ServerHome(
        tmp_path_factory.mktemp("webhooks") / "home",
        env={
            "BATON_WEBHOOK_TOKEN_PAGERDUTY": TOKENS["pagerduty"],
            "BATON_WEBHOOK_TOKEN_DATADOG": TOKENS["datadog"],
            "BATON_WEBHOOK_TOKEN_GRAFANA": TOKENS["grafana"],
            "BATON_WEBHOOK_SECRET_GENERIC": SECRET,
        },
    )
    (home.path / "runbooks" / "triage.yaml").write_text(TRIAGE)
    with Server(home) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.client(server.home.token("alice")) as client:
        yield client


@pytest.fixture(scope="module")
def auditor(server: Server) -> Iterator[httpx.Client]:
    with server.client(server.home.token("aud")) as client:
        yield client


# ---- helpers ------------------------------------------------------------------------------


def credentials(source: str, body: bytes, *, at: float | None = None) -> dict[str, str]:
    """The headers a correctly configured sender attaches (generic also signs the body)."""
    headers = {"Authorization": f"Bearer {TOKENS[source]}", "Content-Type": "application/json"}
    if source == "generic":
        headers |= sign_baton(body, SECRET, int(time.time() if at is None else at))
    return headers


def post(server: Server, source: str, body: bytes | dict[str, Any]) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{server.url}/v1/webhooks/{source}",
        content=raw,
        headers=credentials(source, raw),
        timeout=30,
    )


def stored(server: Server) -> dict[str, int]:
    """Row counts straight from the database file (read-only): what a refusal must not add.

    Audit events are those intake writes (no run; a webhook actor): runs started earlier
    keep adding their own events in the background.
    """
    path = server.home.settings.sqlite_path
    counts = {
        table: f"SELECT count(*) FROM {table}"
        for table in ("incidents", "alert_instances", "alert_groups", "runs")
    }
    counts["audit_events"] = (
        "SELECT count(*) FROM audit_events"
        " WHERE run_id IS NULL AND actor LIKE 'automation:webhook.%'"
    )
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return {name: db.execute(query).fetchone()[0] for name, query in counts.items()}


def metric(server: Server, name: str, **labels: str) -> float:
    """A sample of /metrics with exactly these labels (0 if absent, as Prometheus reads it)."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def rejected(server: Server, source: str, reason: str) -> float:
    return metric(server, "baton_webhooks_rejected_total", source=source, reason=reason)


def audit_events(auditor: httpx.Client, kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = auditor.get("/v1/audit/events", params={"after": after, "limit": 1000})
        assert page.status_code == 200, page.text
        body = page.json()
        found += [e for e in body["items"] if e["kind"] == kind]
        if body["next_cursor"] is None:
            return found
        after = body["next_cursor"]


def outcomes(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["outcome"] for r in response.json()["results"]]


def web_down(marker: str, **extra: Any) -> dict[str, Any]:
    """A generic alert that web-restart routes: accepted, it opens an incident and a run."""
    return {"title": "WebDown", "service": f"web-{marker}", "severity": "critical", **extra}


def am_group(group: str, fingerprints: list[str], status: str = "firing") -> dict[str, Any]:
    """An Alertmanager group of HighErrorRate alerts (routed to web-restart)."""
    alerts = [
        {
            "status": status,
            "labels": {
                "alertname": "HighErrorRate",
                "service": f"checkout-{n}",
                "severity": "critical" if n % 2 == 0 else "high",
            },
            "annotations": {"summary": f"checkout-{n} 5xx above 5%"},
            "startsAt": "2026-01-10T09:00:00Z",
            "endsAt": "2026-01-10T09:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com/graph",
            "fingerprint": fp,
        }
        for n, fp in enumerate(fingerprints)
    ]
    return {
        "receiver": "baton",
        "status": status,
        "alerts": alerts,
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="HighErrorRate",group="{group}"}}',
        "truncatedAlerts": 0,
    }


# ---- every vendor's documented payload ----------------------------------------------------

# (fixture, per-alert outcomes, the status of the incident the fixture's alerts belong to).
# Order matters: a vendor first fires, later resolves.
VENDOR_SEQUENCES: dict[str, list[tuple[str, list[str], str | None]]] = {
    "alertmanager": [
        ("alertmanager-firing.json", ["created"], "open"),
        ("alertmanager-resolved.json", ["resolved"], "resolved"),
        # warning-level filesystem alerts (and one already resolved) route to nothing
        ("alertmanager-group.json", ["no_route", "no_route", "deduplicated"], None),
        ("alertmanager-truncated.json", ["no_route", "no_route"], None),
    ],
    "pagerduty": [
        ("pagerduty-triggered.json", ["created"], "open"),
        ("pagerduty-annotated.json", [], None),  # a note: a valid delivery with no alert
        ("pagerduty-resolved.json", ["resolved"], "resolved"),
        ("pagerduty-service-updated.json", [], None),
    ],
    "datadog": [
        ("datadog-default.json", ["created"], "open"),
        ("datadog-default-recovered.json", ["resolved"], "resolved"),
        ("datadog-extended.json", ["created"], "open"),
        ("datadog-extended-recovered.json", ["resolved"], "resolved"),
    ],
    "grafana": [
        ("grafana-firing.json", ["created", "attached"], "open"),
        # one of the two alerts resolves: the incident stays open for the other one
        ("grafana-resolved.json", ["resolved"], "open"),
    ],
    "generic": [
        ("generic-single.json", ["created"], "open"),
        # certificates route nowhere; the third was resolved before Baton ever saw it firing
        ("generic-batch.json", ["no_route", "no_route", "deduplicated"], None),
    ],
}


@pytest.mark.parametrize("source", sorted(VENDOR_SEQUENCES))
def test_each_vendor_fixture_is_taken_with_its_credential(
    server: Server, admin: httpx.Client, source: str
) -> None:
    for name, expected, incident_status in VENDOR_SEQUENCES[source]:
        response = post(server, source, (FIXTURES / name).read_bytes())
        assert outcomes(response) == expected, (name, response.json())
        results = response.json()["results"]
        incidents = {r["incident_id"] for r in results if r["incident_id"]}
        if incident_status is None:
            assert incidents == set(), (name, results)
            continue
        assert len(incidents) == 1, (name, results)
        (incident_id,) = incidents
        detail = admin.get(f"/v1/incidents/{incident_id}")
        assert detail.status_code == 200, detail.text
        incident = detail.json()
        assert incident["status"] == incident_status, (name, incident)
        assert incident["source"] == source
        assert {a["fingerprint"] for a in incident["alerts"]} >= {r["fingerprint"] for r in results}
        assert [r["runbook_id"] for r in incident["runs"]] == ["triage"]
        if "created" in expected:
            created = next(r for r in results if r["outcome"] == "created")
            assert created["run_id"] == incident["runs"][0]["id"]


def test_a_truncated_group_is_taken_and_its_truncation_audited(
    server: Server, auditor: httpx.Client
) -> None:
    before = {e["seq"] for e in audit_events(auditor, "webhook_delivery")}
    body = json.loads((FIXTURES / "alertmanager-truncated.json").read_text())
    for alert in body["alerts"]:
        alert["fingerprint"] += "-t"  # a fresh episode, not a redelivery of the test above
    assert outcomes(post(server, "alertmanager", body)) == ["no_route", "no_route"]
    new = [e for e in audit_events(auditor, "webhook_delivery") if e["seq"] not in before]
    assert len(new) == 1
    assert new[0]["detail"]["truncated"] == 5
    assert new[0]["detail"]["alerts"] == 2
    assert new[0]["actor"] == "automation:webhook.alertmanager"


# ---- one group, one incident ------------------------------------------------------------


def test_an_alertmanager_group_is_one_incident_however_often_redelivered(
    server: Server, admin: httpx.Client
) -> None:
    group = uuid.uuid4().hex[:8]
    fingerprints = [f"{group}{n:08x}" for n in range(3)]
    firing = am_group(group, fingerprints)
    before = stored(server)

    first = post(server, "alertmanager", firing)
    assert outcomes(first) == ["created", "attached", "attached"]
    incident_id = first.json()["results"][0]["incident_id"]

    # Alertmanager re-sends the group every repeat_interval, and an HA pair sends it twice
    # at the same moment: sequential and concurrent redeliveries, and a partial one.
    responses = [post(server, "alertmanager", firing) for _ in range(3)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses += list(pool.map(lambda _: post(server, "alertmanager", firing), range(6)))
    responses.append(post(server, "alertmanager", am_group(group, fingerprints[1:])))
    for response in responses:
        assert set(outcomes(response)) == {"deduplicated"}, response.json()
        assert {r["incident_id"] for r in response.json()["results"]} == {incident_id}

    after = stored(server)
    assert after["incidents"] - before["incidents"] == 1
    assert after["runs"] - before["runs"] == 1
    assert after["alert_instances"] - before["alert_instances"] == 3
    incident = admin.get(f"/v1/incidents/{incident_id}").json()
    assert incident["status"] == "open"
    assert len(incident["runs"]) == 1
    expected = {fingerprints[0]: 10, fingerprints[1]: 11, fingerprints[2]: 11}

    def counted() -> bool:  # redeliveries answered from a read are added at the next sweep
        shown = admin.get(f"/v1/incidents/{incident_id}").json()["alerts"]
        return {a["fingerprint"]: a["deliveries"] for a in shown} == expected

    wait_for(counted, timeout=20, what="the sweep to add the redeliveries to the counts")
    listed = [i for i in admin.get("/v1/incidents", params={"limit": 500}).json()["items"]]
    assert [i["id"] for i in listed].count(incident_id) == 1

    # One alert resolves: the group still fires, the incident stays open.
    partial = am_group(group, fingerprints[:1], status="resolved")
    assert outcomes(post(server, "alertmanager", partial)) == ["resolved"]
    assert admin.get(f"/v1/incidents/{incident_id}").json()["status"] == "open"

    # The whole group resolves: so does the incident; a redelivery of that changes nothing.
    resolved = am_group(group, fingerprints, status="resolved")
    assert outcomes(post(server, "alertmanager", resolved)) == [
        "deduplicated",
        "resolved",
        "resolved",
    ]
    incident = admin.get(f"/v1/incidents/{incident_id}").json()
    assert incident["status"] == "resolved"
    assert incident["resolved_by"] == "automation:webhook.alertmanager"
    assert {a["status"] for a in incident["alerts"]} == {"resolved"}
    assert set(outcomes(post(server, "alertmanager", resolved))) == {"deduplicated"}
    final = stored(server)
    assert final["incidents"] == after["incidents"]
    assert final["runs"] == after["runs"]
    assert admin.get(f"/v1/incidents/{incident_id}").json()["status"] == "resolved"


# ---- signatures (generic: bearer token AND Baton HMAC configured) -------------------------


def test_a_correctly_signed_generic_alert_is_taken(server: Server, admin: httpx.Client) -> None:
    body = json.dumps(web_down(uuid.uuid4().hex[:8])).encode()
    response = httpx.post(
        f"{server.url}/v1/webhooks/generic", content=body, headers=credentials("generic", body)
    )
    assert outcomes(response) == ["created"]
    incident_id = response.json()["results"][0]["incident_id"]
    assert admin.get(f"/v1/incidents/{incident_id}").json()["source"] == "generic"


def _signature(body: bytes, stamp: int, secret: str = SECRET) -> str:
    return sign_baton(body, secret, stamp)["X-Baton-Signature"]


def _refusals() -> dict[str, Callable[[bytes], tuple[bytes, dict[str, str]]]]:
    bearer = {"Authorization": f"Bearer {TOKENS['generic']}"}

    def now() -> int:
        return int(time.time())

    def flipped(body: bytes) -> tuple[bytes, dict[str, str]]:
        signed = credentials("generic", body)
        tampered = body.replace(b"critical", b"criticaL", 1)
        assert tampered != body
        return tampered, signed

    def reserialised(body: bytes) -> tuple[bytes, dict[str, str]]:
        pretty = json.dumps(json.loads(body), indent=2).encode()
        return body, bearer | sign_baton(pretty, SECRET, now())

    def swapped_stamp(body: bytes) -> tuple[bytes, dict[str, str]]:
        old = now() - 3600
        return body, bearer | {
            "X-Baton-Timestamp": str(now()),
            "X-Baton-Signature": _signature(body, old),
        }

    return {
        "wrong secret": lambda b: (b, bearer | sign_baton(b, "not-the-secret", now())),
        "one flipped body byte": flipped,
        "signature over re-serialised JSON": reserialised,
        "missing signature": lambda b: (b, bearer | {"X-Baton-Timestamp": str(now())}),
        "missing timestamp": lambda b: (
            b,
            bearer | {"X-Baton-Signature": _signature(b, now())},
        ),
        "replayed: signed 6 minutes ago": lambda b: (b, credentials("generic", b, at=now() - 360)),
        "replayed: signed a day ago": lambda b: (b, credentials("generic", b, at=now() - 86400)),
        "timestamp from the future": lambda b: (b, credentials("generic", b, at=now() + 600)),
        "fresh timestamp on an old signature": swapped_stamp,
        "another provider's header": lambda b: (
            b,
            bearer
            | {
                "X-PagerDuty-Signature": "v1="
                + hmac.new(SECRET.encode(), b, hashlib.sha256).hexdigest(),
                "X-Baton-Timestamp": str(now()),
            },
        ),
        "malformed signature": lambda b: (
            b,
            bearer | {"X-Baton-Timestamp": str(now()), "X-Baton-Signature": "sha256=zz" * 8},
        ),
        "good signature, no bearer token": lambda b: (b, sign_baton(b, SECRET, now())),
        "good signature, wrong bearer token": lambda b: (
            b,
            credentials("generic", b) | {"Authorization": "Bearer am-token"},
        ),
    }


REFUSALS = _refusals()


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_badly_signed_generic_alert_is_refused_and_nothing_is_stored(
    server: Server, case: str
) -> None:
    body = json.dumps(web_down(uuid.uuid4().hex[:8])).encode()
    sent, headers = REFUSALS[case](body)
    before, counted = stored(server), rejected(server, "generic", "unauthenticated")
    response = httpx.post(
        f"{server.url}/v1/webhooks/generic",
        content=sent,
        headers=headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"
    assert SECRET not in response.text
    assert stored(server) == before  # no incident, alert, run or audit event
    assert rejected(server, "generic", "unauthenticated") == counted + 1


@pytest.mark.parametrize("source", sorted(TOKENS))
def test_no_or_wrong_credentials_are_refused_and_nothing_is_stored(
    server: Server, source: str
) -> None:
    fixture = {
        "alertmanager": "alertmanager-firing.json",
        "pagerduty": "pagerduty-triggered.json",
        "datadog": "datadog-default.json",
        "grafana": "grafana-firing.json",
        "generic": "generic-single.json",
    }[source]
    body = (FIXTURES / fixture).read_bytes()
    other = "dd-token" if source != "datadog" else "am-token"
    attempts: list[dict[str, str]] = [
        {},
        {"Authorization": f"Bearer {other}"},  # another source's token
        {"Authorization": f"Basic {TOKENS[source]}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {TOKENS[source]}x"},
    ]
    before, counted = stored(server), rejected(server, source, "unauthenticated")
    for headers in attempts:
        response = httpx.post(
            f"{server.url}/v1/webhooks/{source}",
            content=body,
            headers=headers | {"Content-Type": "application/json"},
        )
        assert response.status_code == 401, (headers, response.text)
        assert TOKENS[source] not in response.text
    assert stored(server) == before
    assert rejected(server, source, "unauthenticated") == counted + len(attempts)


def test_an_unauthenticated_malformed_body_is_401_and_not_audited(server: Server) -> None:
    """Authentication comes first: a stranger cannot fill the audit trail with rejections."""
    before = stored(server)
    invalid = rejected(server, "alertmanager", "invalid")
    for body in (b"{not json", b"[" * 10_000, b'{"version": "3"}'):
        response = httpx.post(
            f"{server.url}/v1/webhooks/alertmanager",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 401, response.text
    assert stored(server) == before
    assert rejected(server, "alertmanager", "invalid") == invalid


def test_a_user_token_cannot_post_alerts_and_a_webhook_token_cannot_read(
    server: Server,
) -> None:
    before = stored(server)
    user = server.home.token("alice")  # an admin: still not a webhook credential
    body = (FIXTURES / "alertmanager-firing.json").read_bytes()
    response = httpx.post(
        f"{server.url}/v1/webhooks/alertmanager",
        content=body,
        headers={"Authorization": f"Bearer {user}"},
    )
    assert response.status_code == 401
    assert stored(server) == before
    for token in TOKENS.values():
        with server.client(token) as client:
            for path in ("/v1/incidents", "/v1/runs", "/v1/items", "/v1/audit/events"):
                response = client.get(path)
                assert response.status_code == 401, (token, path, response.text)
                assert "items" not in response.json()


def test_an_unknown_source_is_404(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/v1/webhooks/nagios", json={}, headers={"Authorization": "Bearer am-token"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# ---- malformed payloads -----------------------------------------------------------------


def _fixture(name: str, change: Callable[[Any], object]) -> bytes:
    """A fixture's JSON after `change` mutated it in place."""
    data = json.loads((FIXTURES / name).read_text())
    change(data)
    return json.dumps(data).encode()


MALFORMED: dict[str, tuple[str, bytes, str]] = {
    "alertmanager without version": (
        "alertmanager",
        _fixture("alertmanager-firing.json", lambda d: d.pop("version")),
        "version",
    ),
    "alertmanager label that is a number": (
        "alertmanager",
        _fixture(
            "alertmanager-firing.json",
            lambda d: d["alerts"][0]["labels"].update(severity=5),
        ),
        "alerts[0].labels.severity",
    ),
    "alertmanager startsAt that is not a time": (
        "alertmanager",
        _fixture("alertmanager-firing.json", lambda d: d["alerts"][0].update(startsAt="today")),
        "alerts[0].startsAt",
    ),
    "alertmanager body that is an array": ("alertmanager", b"[1, 2]", "(body)"),
    "pagerduty without event": ("pagerduty", b'{"events": {}}', "event"),
    "pagerduty incident without created_at": (
        "pagerduty",
        _fixture("pagerduty-triggered.json", lambda d: d["event"]["data"].pop("created_at")),
        "event.data.created_at",
    ),
    "datadog date that is not epoch millis": (
        "datadog",
        _fixture("datadog-default.json", lambda d: d.update(date="yesterday")),
        "date",
    ),
    "grafana of the wrong version": (
        "grafana",
        _fixture("grafana-firing.json", lambda d: d.update(version="0")),
        "version",
    ),
    "generic severity typo": ("generic", b'{"title": "x", "severity": "critcal"}', "severity"),
    "generic unknown field": ("generic", b'{"title": "x", "approved": true}', "approved"),
    "generic batch item without title": (
        "generic",
        b'{"alerts": [{"title": "ok"}, {"severity": "high"}]}',
        "alerts[1].title",
    ),
    "not JSON": ("generic", b"title=WebDown", "(body)"),
    "empty body": ("alertmanager", b"", "(body)"),
    "invalid UTF-8": ("alertmanager", b'{"version": "\xff\xfe"}', "(body)"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_payload_is_422_naming_the_field_counted_and_audited(
    server: Server, auditor: httpx.Client, case: str
) -> None:
    source, body, field = MALFORMED[case]
    before = stored(server)
    counted = rejected(server, source, "invalid")
    seen = {e["seq"] for e in audit_events(auditor, "webhook_rejected")}

    response = post(server, source, body)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_invalid"
    assert error["field"] == field, error
    assert rejected(server, source, "invalid") == counted + 1
    new = [e for e in audit_events(auditor, "webhook_rejected") if e["seq"] not in seen]
    assert len(new) == 1, new
    detail = new[0]["detail"]
    assert detail["source"] == source
    assert detail["field"] == field
    assert detail["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert detail["bytes"] == len(body)
    assert new[0]["actor"] == f"automation:webhook.{source}"
    after = stored(server)
    assert after["audit_events"] == before["audit_events"] + 1
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"
    }


def test_the_rejection_audit_never_keeps_the_payload(server: Server, auditor: httpx.Client) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    body = json.dumps({"title": "x", "severity": "nope", "description": canary}).encode()
    assert post(server, "generic", body).status_code == 422
    events = audit_events(auditor, "webhook_rejected")
    assert events
    assert canary not in json.dumps(events)
    path = server.home.settings.sqlite_path
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT payload FROM audit_events").fetchall()
    assert not any(canary in str(row) for row in rows)


# ---- resource exhaustion ------------------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


def test_a_10mb_body_is_413_and_the_server_still_answers(server: Server) -> None:
    big = b'{"title": "' + b"x" * TEN_MB + b'"}'
    before, counted = stored(server), rejected(server, "alertmanager", "too_large")

    declared = httpx.post(
        f"{server.url}/v1/webhooks/alertmanager",
        content=big,
        headers=credentials("alertmanager", b""),
        timeout=60,
    )
    assert declared.status_code == 413, declared.text
    assert declared.json()["error"]["code"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while reading
        for start in range(0, len(big), 256 * 1024):
            yield big[start : start + 256 * 1024]

    streamed = httpx.post(
        f"{server.url}/v1/webhooks/alertmanager",
        content=chunks(),
        headers=credentials("alertmanager", b""),
        timeout=60,
    )
    assert streamed.status_code == 413, streamed.text
    assert rejected(server, "alertmanager", "too_large") == counted + 2
    assert stored(server) == before

    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert httpx.get(f"{server.url}/readyz", timeout=5).json()["ready"] is True
    group = uuid.uuid4().hex[:8]
    assert outcomes(post(server, "alertmanager", am_group(group, [f"{group}-big"]))) == ["created"]


@pytest.mark.parametrize(
    "body",
    [b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000],
    ids=["arrays", "objects"],
)
def test_json_nested_10000_deep_is_422_and_the_server_still_answers(
    server: Server, body: bytes
) -> None:
    before = stored(server)
    response = post(server, "alertmanager", body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "(body)"
    assert "deeper" in response.json()["error"]["message"]
    assert stored(server)["incidents"] == before["incidents"]
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


# ---- signal to noise ------------------------------------------------------------------------


def test_an_info_alert_is_suppressed_but_kept_as_evidence(server: Server) -> None:
    marker = uuid.uuid4().hex[:8]
    before = stored(server)
    counted = metric(server, "baton_alert_outcomes_total", source="generic", outcome="suppressed")
    alert = web_down(marker, severity="info", starts_at="2026-01-10T09:00:00Z")
    response = post(server, "generic", alert)
    assert outcomes(response) == ["suppressed"]
    assert (
        metric(server, "baton_alert_outcomes_total", source="generic", outcome="suppressed")
        == counted + 1
    )
    result = response.json()["results"][0]
    assert result["incident_id"] is None and result["run_id"] is None
    assert "severity info" in result["reason"]
    after = stored(server)
    assert after["incidents"] == before["incidents"]
    assert after["runs"] == before["runs"]
    assert after["alert_instances"] == before["alert_instances"] + 1
    # the same alert redelivered is recognised, not counted as a new episode
    again = post(server, "generic", alert)
    assert outcomes(again) == ["deduplicated"]


def test_an_alert_no_runbook_routes_opens_nothing(server: Server) -> None:
    before = stored(server)
    body = {"title": "DiskSlow", "service": f"disk-{uuid.uuid4().hex[:8]}", "severity": "high"}
    response = post(server, "generic", body)
    assert outcomes(response) == ["no_route"]
    result = response.json()["results"][0]
    assert result["incident_id"] is None and result["run_id"] is None
    assert "DiskSlow" in result["reason"]
    after = stored(server)
    assert after["incidents"] == before["incidents"]
    assert after["runs"] == before["runs"]
    assert after["alert_instances"] == before["alert_instances"] + 1
