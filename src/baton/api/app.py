"""`create_app(services)`: the FastAPI application; `build_services(settings)` wires it.

Routes are registered here, in one visible list. The app starts the worker threads and the
periodic sweep when it starts serving, and stops them (with a grace period) when it stops.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from baton import parts
from baton.alerts.intake import AlertPolicy, Intake
from baton.alerts.routing import load_routes
from baton.api import errors
from baton.api.deps import Services
from baton.api.identity import oidc_from
from baton.api.metrics import Metrics
from baton.api.middleware import Edge
from baton.api.oidc import OidcLogin
from baton.api.routes import audit, incidents, items, ops, patterns, runs, webhooks
from baton.api.web import pages
from baton.api.worker import Dispatcher, RunWorker
from baton.domain.status import RunStatus
from baton.jobs.queue import RunQueue
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import runs as run_store

log = logging.getLogger("baton.api")


def build_services(settings: Settings, runtime: Runtime | None = None) -> Services:
    """Everything a server holds, from settings: runtime, intake, workers, metrics."""
    rt = runtime or build_runtime(settings)
    routes = load_routes(settings.routing_dir, rt.runner.deps.catalog)
    policy = AlertPolicy(
        min_severity=settings.alert_min_severity,
        dedup_window=timedelta(seconds=settings.alert_dedup_seconds),
        flap_count=settings.alert_flap_count,
        flap_window=timedelta(seconds=settings.alert_flap_seconds),
    )
    intake = Intake(rt.db, rt.runner, routes, policy, parts.maintenance_calendar(settings))
    metrics = Metrics(rt.db)

    def advanced(run_id: str, status: RunStatus | None, seconds: float) -> None:
        metrics.advance_duration.observe(seconds)
        with rt.db.read() as session:
            finished = [
                t
                for t in run_store.task_executions(session, run_id=run_id)
                if t.finished_at is not None and t.finished_at.timestamp() >= time.time() - seconds
            ]
        metrics.observe_tasks(finished)

    worker: Dispatcher
    if settings.on_postgres:  # `baton worker`s advance runs; this process only enqueues
        worker = RunQueue(settings)
    else:
        worker = RunWorker(
            rt,
            threads=settings.serve_workers,
            sweep_seconds=settings.serve_recover_seconds,
            on_advanced=advanced,
            also_sweep=intake.flush_repeats,
        )
    notes = [f"runbook not routed: {p}" for p in routes.problems]
    if not any(loaded.runbook.triggers for loaded in routes.all):
        notes.append(
            f"no runbook with triggers in {settings.routing_dir}: every alert will answer "
            "no_route (set BATON_RUNBOOKS_DIR)"
        )
    if not rt.runner.deps.directory.enforced:
        notes.append("no people directory: nobody can log in (baton init writes one)")
    login = OidcLogin(settings, secrets.token_bytes(32)) if settings.oidc_client_id else None
    return Services(
        rt, worker, intake, metrics, oidc=oidc_from(settings), oidc_login=login, notes=notes
    )


def create_app(svc: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc.worker.start()
        for note in svc.notes:
            log.warning(note)
        yield
        idle = svc.worker.stop(svc.settings.serve_grace_seconds)
        if not idle:
            log.warning("stopped with runs mid-step; the next start resumes them")

    app = FastAPI(
        title="Baton",
        summary="Incident runbooks with approval gates and an evidence trail.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # our own /docs (web/pages.py): FastAPI's loads its assets from a CDN
        redoc_url=None,
    )
    app.state.services = svc
    errors.install(app, page=pages.error_page)
    app.router.routes.extend(webhooks.routes)
    schema = app.openapi

    def openapi() -> dict[str, Any]:
        document = schema()  # FastAPI's, built once and kept
        webhooks.document(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    for router in (
        ops.router,
        incidents.router,
        runs.router,
        items.router,
        patterns.router,
        audit.router,
        pages.router,
    ):
        app.include_router(router)
    pages.mount_static(app)

    app.add_middleware(
        Edge,
        metrics=svc.metrics,
        max_body=svc.settings.max_body_bytes,
        access_log=svc.settings.access_log,
    )
    return app
