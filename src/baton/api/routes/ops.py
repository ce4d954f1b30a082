"""Liveness, readiness and Prometheus metrics (unauthenticated, as scrapers expect)."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from baton.api.deps import ServicesDep
from baton.store.models import HeartbeatRow, utcnow

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and the workers run")
def readyz(svc: ServicesDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        with svc.runtime.db.write() as session:
            session.merge(HeartbeatRow(name=f"serve:{os.getpid()}@{socket.gethostname()}"))
        checks["database"] = "ok"
    except Exception as exc:  # busy, full, read-only, gone: not ready, and why
        checks["database"] = f"cannot write: {type(exc).__name__}: {exc}"
    if not svc.intake.routes.all:
        checks["routing"] = (
            f"no runbook loaded from {svc.settings.routing_dir}: every alert answers no_route "
            "(set BATON_RUNBOOKS_DIR)"
        )
    worker = svc.worker
    checks["workers"] = "ok" if worker.alive else "stopped"
    # The queue and the heartbeats live in the database (on PostgreSQL): a database that
    # is down makes the probe answer 503 and say so, not fail with a 500.
    if checks["database"] == "ok":
        try:
            checks["backlog"] = worker.backlog()
            if svc.settings.on_postgres:  # runs advance in `baton worker`s: does any live?
                checks["workers_seen"] = _workers_seen(svc)
                if not checks["workers_seen"]:
                    checks["workers_note"] = (
                        f"no baton worker has beaten in {svc.settings.worker_stall_seconds:.0f}"
                        " s: alerts and answers are taken, runs wait in the queue"
                    )
        except Exception as exc:  # gone between the checks
            checks["database"] = f"cannot read: {type(exc).__name__}: {exc}"
    if worker.sweep_error:
        checks["sweep"] = f"failing: {worker.sweep_error}"
    elif worker.last_sweep is not None:
        checks["sweep"] = f"ok, {time.time() - worker.last_sweep:.0f}s ago"
    if svc.notes:
        checks["notes"] = svc.notes
    ready = checks["database"] == "ok" and checks["workers"] == "ok"
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


def _workers_seen(svc: ServicesDep) -> int:
    cutoff = utcnow() - timedelta(seconds=svc.settings.worker_stall_seconds)
    with svc.runtime.db.read() as session:
        seen = session.scalar(
            select(func.count())
            .select_from(HeartbeatRow)
            .where(HeartbeatRow.name.like("worker:%"), HeartbeatRow.at >= cutoff)
        )
    return int(seen or 0)


@router.get("/metrics", summary="Prometheus metrics")
def metrics(svc: ServicesDep) -> Response:
    return Response(svc.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
