"""The audit trail: query, verify, export (auditors and admins only)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import FileResponse

from baton import parts
from baton.api.deps import Auditor, ServicesDep
from baton.api.routes.patterns import _remove, audited_export
from baton.errors import InputError
from baton.evidence import bundle, checkpoints
from baton.store import audit
from baton.store.shapes import event_json

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/events", summary="Audit events in order (cursor: the last `seq` seen)")
def events(
    svc: ServicesDep,
    who: Auditor,
    run: str | None = None,
    after: int = Query(0, ge=0),
    limit: int = Query(200, ge=1, le=5000),
) -> dict[str, Any]:
    with svc.runtime.db.read() as session:
        found = [event_json(e) for e in audit.events(session, run_id=run, after=after, limit=limit)]
    return {
        "items": found,
        "next_cursor": found[-1]["seq"] if len(found) == limit else None,
    }


@router.get("/verify", summary="Walk the hash chain and check the latest signed checkpoint")
def verify(svc: ServicesDep, who: Auditor) -> dict[str, Any]:
    key = parts.public_key(svc.settings)
    with svc.runtime.db.read() as session:
        report = checkpoints.check(session, key)
    chain = report.chain
    return {
        "ok": report.ok,
        "events": chain.events,
        "head": chain.head,
        "broken_seq": chain.broken_seq,
        "reason": chain.reason or report.problem,
        "message": str(report),
        "checkpoint": report.checkpoint.__dict__ if report.checkpoint else None,
    }


@router.get("/export", summary="Signed evidence pack of one incident or run (zip)")
def export(
    svc: ServicesDep,
    who: Auditor,
    tasks: BackgroundTasks,
    incident: str | None = None,
    run: str | None = None,
) -> FileResponse:
    signer = svc.runtime.signer
    if signer is None:
        raise InputError("no signing key on the server: run `baton keys init`")
    folder = Path(tempfile.mkdtemp(prefix="baton-evidence-"))
    tasks.add_task(_remove, folder)
    name = f"evidence-{incident or run}.zip"
    try:
        done = bundle.export(svc.runtime.db, signer, folder / name, incident=incident, run=run)
    except BaseException:
        _remove(folder)
        raise
    audited_export(svc, who, {"incident": incident, "run": run})
    return FileResponse(done.path, media_type="application/zip", filename=name)
