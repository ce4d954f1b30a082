"""Patterns: the catalog with its promotion ledger, and signed evidence packs."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import FileResponse

from baton.api.deps import Auditor, CallerDep, Services, ServicesDep
from baton.errors import InputError, NotFound
from baton.evidence import bundle
from baton.graph.promotion import ledger_lines
from baton.policies.access import Caller
from baton.policies.context import checked_context, context_key, describe_context
from baton.runbooks.catalog import LoadedPattern
from baton.store import audit
from baton.store import promotion_ledger as pattern_store

router = APIRouter(prefix="/v1/patterns", tags=["patterns"])


def pattern_json(svc: Services, loaded: LoadedPattern) -> dict[str, Any]:
    p = loaded.pattern
    return {
        "id": p.id,
        "version": loaded.version,
        "title": p.title,
        "risk": p.risk.value,
        "blast_radius": p.blast_radius,
        "autonomy_possible": p.autonomy_possible,
        "threshold": p.promotion.threshold,
        "conditions": list(p.conditions),
        "contexts": ledger_lines(svc.runtime.db, loaded),
    }


@router.get("", summary="Every pattern, with its promotion progress per context")
def list_patterns(svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    catalog = svc.runtime.runner.deps.catalog
    return {"items": [pattern_json(svc, loaded) for loaded in catalog.values()]}


@router.get("/{pattern_id}", summary="One pattern and its ledger")
def get_pattern(pattern_id: str, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    loaded = svc.runtime.runner.deps.catalog.require(pattern_id)
    return pattern_json(svc, loaded)


def export_pattern(svc: Services, pattern_id: str, pairs: list[str], out: Path) -> Path:
    loaded = svc.runtime.runner.deps.catalog.require(pattern_id)
    given: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"context: {pair!r} is not field=value")
        given[key] = value
    wanted = checked_context(loaded.pattern, given)
    signer = svc.runtime.signer
    if signer is None:
        raise InputError("no signing key on the server: run `baton keys init`")
    key = context_key(wanted)
    with svc.runtime.db.read() as session:
        if pattern_store.get_standing(session, pattern_id=pattern_id, context_key=key) is None:
            raise NotFound(f"no evidence for {pattern_id} in {describe_context(wanted)}")
    return bundle.export(svc.runtime.db, signer, out, pattern=pattern_id, context=key).path


@router.get("/{pattern_id}/evidence", summary="Signed evidence pack of one context (zip)")
def evidence(
    pattern_id: str,
    svc: ServicesDep,
    who: Auditor,
    tasks: BackgroundTasks,
    context: Annotated[list[str] | None, Query(description="field=value, per condition")] = None,
) -> FileResponse:
    folder = Path(tempfile.mkdtemp(prefix="baton-evidence-"))
    tasks.add_task(_remove, folder)
    try:
        path = export_pattern(svc, pattern_id, context or [], folder / f"evidence-{pattern_id}.zip")
    except BaseException:
        _remove(folder)  # a refused export leaves nothing behind either
        raise
    audited_export(svc, who, {"pattern": pattern_id, "context": context or []})
    return FileResponse(path, media_type="application/zip", filename=path.name)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def audited_export(svc: Services, who: Caller, scope: dict[str, Any]) -> None:
    """Who took evidence out of Baton, and what: reading the trail is itself evidence."""
    with svc.runtime.db.write() as session:
        audit.append(session, actor=who.actor, kind="evidence_exported", payload=scope)
