"""`POST /v1/webhooks/{source}`: alerts in, each answered with what it did.

Order matters: authenticate on the raw bytes first (nothing is parsed or stored for a
caller we cannot name), then parse to the vendor's documented shape (a 4xx naming the
field, audited as a rejected delivery), then apply the whole delivery in one transaction
and only then answer 2xx.

The route is a plain Starlette one: alert storms are redeliveries, and FastAPI's
per-request dependency and parameter machinery cost as much as our whole redelivery check
(bench/ingest.py). Its OpenAPI entry is written by hand (`document`).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from baton.alerts import signatures
from baton.alerts.intake import Report, requester
from baton.alerts.vendors import parse
from baton.api.body import parse_json
from baton.api.deps import Services
from baton.domain.alert import SOURCES, Source
from baton.errors import NotFound, PayloadInvalid, Unauthenticated
from baton.store import audit
from baton.store.models import utcnow

PATH = "/v1/webhooks/{source}"


def authenticate(svc: Services, source: Source, request: Request, body: bytes) -> None:
    """Every credential configured for `source` must hold; with none, nobody gets in."""
    settings = svc.settings
    token, secret = settings.webhook_token(source), settings.webhook_secret(source)
    if token is None and secret is None:
        raise Unauthenticated(
            f"webhook source {source} has no credentials configured "
            f"(BATON_WEBHOOK_TOKEN_{source.upper()} or BATON_WEBHOOK_SECRET_{source.upper()})"
        )
    headers = request.headers
    if token is not None:
        signatures.check_bearer(headers.get("authorization"), token)
    if secret is None:
        return
    window = settings.webhook_replay_seconds
    if source == "pagerduty":
        signatures.check_pagerduty(body, headers.get("x-pagerduty-signature"), secret)
    elif source == "grafana":
        signatures.check_grafana(
            body,
            headers.get("x-grafana-alerting-signature"),
            headers.get("x-grafana-alerting-signature-timestamp"),
            secret,
            time.time(),
            window,
        )
    else:
        signatures.check_baton_hmac(
            body,
            headers.get("x-baton-signature"),
            headers.get("x-baton-timestamp"),
            secret,
            time.time(),
            window,
        )


def _reject(svc: Services, source: str, body: bytes, exc: PayloadInvalid) -> None:
    """An authenticated sender's malformed delivery is evidence: audit it (never the body,
    which may hold secrets; its digest and size identify it)."""
    with svc.runtime.db.write() as session:
        audit.append(
            session,
            actor=requester(source),
            kind="webhook_rejected",
            payload={
                "source": source,
                "field": exc.field,
                "problem": exc.message[:500],
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "bytes": len(body),
            },
        )


def _answer(report: Report) -> dict[str, Any]:
    results = [
        {
            "fingerprint": r.fingerprint,
            "alert": r.name,
            "status": r.status,
            "outcome": r.outcome.value,
            "incident_id": r.incident_id,
            "run_id": r.run_id,
            "reason": r.reason,
        }
        for r in report.results
    ]
    outcomes = sorted({r.outcome.value for r in report.results})
    return {
        "delivery": report.delivery_id,
        "outcome": outcomes[0] if len(outcomes) == 1 else ("mixed" if outcomes else "empty"),
        "results": results,
    }


async def receive(request: Request) -> JSONResponse:
    """Receive an alert webhook (see `document`)."""
    svc: Services = request.app.state.services
    source: str = request.path_params["source"]
    if source not in SOURCES:
        raise NotFound(f"no webhook source {source!r}; use one of {', '.join(SOURCES)}")
    src: Source = source
    metrics = svc.metrics
    body = await request.body()  # bounded by the edge (api.middleware) before it got here
    try:
        authenticate(svc, src, request, body)
    except Unauthenticated:
        metrics.webhooks_rejected.labels(src, "unauthenticated").inc()
        raise
    try:
        delivery = parse(src, parse_json(body), utcnow())
    except PayloadInvalid as exc:
        metrics.webhooks_rejected.labels(src, "invalid").inc()
        await run_in_threadpool(_reject, svc, src, body, exc)
        raise
    metrics.alerts_received.labels(src).inc(len(delivery.alerts))
    # A redelivery on the embedded SQLite is two indexed reads of a local file: answered on
    # the event loop (a hop to the thread pool costs more than the reads). Anything that
    # writes, or waits on a network database, goes to the pool.
    report = svc.intake.repeated(delivery) if svc.runtime.db.local else None
    if report is None:
        report = await run_in_threadpool(svc.intake.receive, delivery)
    for result in report.results:
        metrics.alert_outcomes.labels(src, result.outcome.value).inc()
    for run_id in report.started:
        svc.worker.submit(run_id)
    return JSONResponse(_answer(report))


routes = [Route(PATH, receive, methods=["POST"])]


def document(openapi: dict[str, Any]) -> None:
    """The webhook's entry in the OpenAPI document, which sees only FastAPI's own routes."""
    answer = {
        "type": "object",
        "properties": {
            "delivery": {"type": "string"},
            "outcome": {
                "type": "string",
                "description": "one outcome for every alert, else mixed (empty: no alerts)",
            },
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        name: {"type": "string"}
                        for name in (
                            "fingerprint",
                            "alert",
                            "status",
                            "outcome",
                            "incident_id",
                            "run_id",
                            "reason",
                        )
                    },
                },
            },
        },
    }
    problem = {  # api.errors.error_body
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {n: {"type": "string"} for n in ("code", "message", "field")},
                "required": ["code", "message"],
            }
        },
    }
    openapi.setdefault("paths", {})[PATH] = {
        "post": {
            "tags": ["webhooks"],
            "summary": "Receive an alert webhook",
            "description": "Alertmanager (webhook v4), PagerDuty (v3 webhooks), Datadog "
            "(default template), Grafana (alerting webhook) or Baton's generic JSON; "
            "authenticated by the source's bearer token or HMAC signature; see docs/api.md. "
            "Each alert is answered with created, deduplicated, attached, suppressed, "
            "no_route or resolved.",
            "operationId": "receive_webhook",
            "parameters": [
                {
                    "name": "source",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": list(SOURCES)},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {
                "200": {
                    "description": "What happened to each alert",
                    "content": {"application/json": {"schema": answer}},
                },
                **{
                    code: {
                        "description": why,
                        "content": {"application/json": {"schema": problem}},
                    }
                    for code, why in (
                        ("401", "no or wrong credentials for this source"),
                        ("404", "unknown source"),
                        ("413", "body larger than the configured bound"),
                        ("422", "not the source's documented payload; names the field"),
                        ("503", "database busy; retry after the Retry-After header"),
                    )
                },
            },
        }
    }
