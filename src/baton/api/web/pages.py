"""The web app: login, inbox, one item (the gate as an approver reads it), incidents,
patterns and metrics; live updates by server-sent events.

Server-rendered with Jinja2 (autoescaped: log and ticket text is shown as text, never as
HTML); no asset comes from the internet. Every form post carries the session's CSRF token;
answers go through the same path as the API (`routes.items.answer`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from baton.api.deps import Services, ServicesDep, visible_incident, visible_run
from baton.api.identity import SESSION_COOKIE, Identity, caller_for, check_csrf, identify
from baton.api.routes.incidents import incident_detail, incident_json
from baton.api.routes.items import _item, answer, visible_items
from baton.api.routes.patterns import pattern_json
from baton.api.web import insights, svg
from baton.api.web.text import actor_badge, clean, model_words
from baton.errors import BatonError, InputError, Unauthenticated
from baton.runbooks.canonical import runbook_from_canonical
from baton.store import audit, credentials
from baton.store import findings as finding_store
from baton.store import incidents as incident_store
from baton.store import runs as run_store
from baton.store.credentials import Holder
from baton.store.shapes import event_json

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["badge"] = actor_badge
templates.env.filters["clean"] = clean
templates.env.filters["duration"] = insights.duration
templates.env.globals["model_words"] = model_words

router = APIRouter(include_in_schema=False)


class LoginNeeded(Exception):
    """A page asked for by someone not logged in: send them to the login page."""


def page_identity(request: Request, svc: ServicesDep) -> Identity:
    try:
        return identify(request, svc.runtime.db, svc.runtime.runner.deps.directory, svc.oidc)
    except Unauthenticated:
        raise LoginNeeded from None


PageIdentity = Annotated[Identity, Depends(page_identity)]


def render(
    request: Request, name: str, ident: Identity | None, status: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {"who": ident.caller if ident else None, "csrf": ident.csrf if ident else None} | context,
        status_code=status,
    )


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(LoginNeeded)
    async def _login(request: Request, exc: LoginNeeded) -> Response:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


# ---- login ----------------------------------------------------------------------------


def _start_session(svc: Services, holder: Holder, via: str, target: str) -> Response:
    caller_for(holder, svc.runtime.runner.deps.directory, via)  # refuse unknown people now
    lifetime = timedelta(hours=svc.settings.session_hours)
    with svc.runtime.db.write() as session:
        secret, _ = credentials.open_session(session, holder=holder, via=via, lifetime=lifetime)
        audit.append(session, actor=f"human:{holder.user}", kind="login", payload={"via": via})
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=svc.settings.cookie_secure,
        path="/",
    )
    return response


def _safe_next(target: str) -> str:
    """Only a path on this server: a login link must never redirect elsewhere."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/inbox"
    return target


@router.get("/login")
def login_page(request: Request, next: str = "/inbox") -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    svc: ServicesDep,
    token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/inbox",
) -> Response:
    with svc.runtime.db.read() as session:
        holder = credentials.check_token(session, token.strip())
    if holder is None:
        return render(
            request, "login.html", None, 401, error="unknown, expired or revoked token", next=next
        )
    try:
        return _start_session(svc, holder, "token", next)
    except BatonError as exc:
        return render(request, "login.html", None, exc.status, error=exc.message, next=next)


@router.get("/login/link/{secret}")
def login_link(request: Request, secret: str, svc: ServicesDep) -> Response:
    with svc.runtime.db.write() as session:
        holder = credentials.use_login_link(session, secret)
    if holder is None:
        return render(
            request, "login.html", None, 401, error="this login link was used or has expired"
        )
    return _start_session(svc, holder, "link", "/inbox")


@router.post("/logout")
def logout(
    request: Request, svc: ServicesDep, ident: PageIdentity, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(ident, "POST", csrf)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with svc.runtime.db.write() as session:
            credentials.end_session(session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- inbox and items ------------------------------------------------------------------


@router.get("/")
def home() -> Response:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/inbox")
def inbox(request: Request, svc: ServicesDep, ident: PageIdentity) -> HTMLResponse:
    rows = visible_items(svc, ident.caller, status="pending", run_id=None)
    mine = [r for r in rows if r["answerable"]]
    others = [r for r in rows if not r["answerable"]]
    return render(request, "inbox.html", ident, mine=mine, others=others)


def _item_page(
    request: Request, svc: Services, ident: Identity, item_id: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    item = _item(svc, ident.caller, item_id)
    with svc.runtime.db.read() as session:
        run = run_store.get_run(session, run_id=item["run_id"])
        incident, _ = incident_store.get(session, incident_id=run.incident_id)
        found = {f.task_id: f.finding for f in finding_store.run_findings(session, run_id=run.id)}
    progress = _progress(svc, item)
    return render(
        request,
        "item.html",
        ident,
        status,
        item=item,
        run=run,
        incident=incident,
        progress=progress,
        found=found,
        **extra,
    )


def _progress(svc: Services, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The promotion progress of the proposed pattern, in every context it has run in."""
    proposal = item["content"].get("proposal")
    if not proposal:
        return []
    catalog = svc.runtime.runner.deps.catalog
    loaded = catalog.get(proposal.get("pattern", ""))
    return pattern_json(svc, loaded)["contexts"] if loaded is not None else []


@router.get("/items/{item_id}")
def item_page(
    request: Request, item_id: str, svc: ServicesDep, ident: PageIdentity
) -> HTMLResponse:
    return _item_page(request, svc, ident, item_id)


@router.post("/items/{item_id}/answer")
def answer_form(
    request: Request,
    item_id: str,
    svc: ServicesDep,
    ident: PageIdentity,
    verdict: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    choice: Annotated[str, Form()] = "",
    params: Annotated[str, Form()] = "",
    outputs: Annotated[str, Form()] = "",
) -> Response:
    try:
        check_csrf(ident, "POST", csrf)
        given: dict[str, Any] = {"comment": comment.strip() or None}
        if verdict in ("approve", "reject"):
            given["changes"] = _pairs(params, "parameter")
        elif verdict == "choose":
            given["choice"] = choice
        elif verdict == "complete":
            given["outputs"] = _pairs(outputs, "output")
        result = answer(svc, ident.caller, item_id, verdict, **given)
    except BatonError as exc:
        return _item_page(request, svc, ident, item_id, exc.status, refusal=exc)
    with svc.runtime.db.read() as session:
        incident_id = run_store.get_run(session, run_id=result["run_id"]).incident_id
    note = quote(f"{verdict} recorded for {item_id}")
    return RedirectResponse(f"/incidents/{incident_id}?note={note}", status_code=303)


def _pairs(text: str, what: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{what} {line.strip()!r} is not key=value")
        values[key.strip()] = value.strip()
    return values


# ---- incidents ------------------------------------------------------------------------


@router.get("/incidents")
def incidents_page(request: Request, svc: ServicesDep, ident: PageIdentity) -> HTMLResponse:
    with svc.runtime.db.read() as session:
        rows = incident_store.list_incidents(session, teams=ident.caller.teams, limit=100)
        shaped = [incident_json(r, s) for r, s in rows]
    return render(request, "incidents.html", ident, incidents=shaped)


@router.get("/incidents/{incident_id}")
def incident_page(
    request: Request, incident_id: str, svc: ServicesDep, ident: PageIdentity, note: str = ""
) -> HTMLResponse:
    visible_incident(svc, ident.caller, incident_id)
    detail = incident_detail(svc, incident_id)
    runs = []
    with svc.runtime.db.read() as session:
        for run in detail["runs"]:
            tasks = run_store.task_executions(session, run_id=run["id"])
            canonical = run_store.get_runbook_canonical(session, version=run["runbook_version"])
            runbook = runbook_from_canonical(canonical)
            statuses = {t.task_id: t.status for t in tasks}
            timeline = [event_json(e) for e in run_store.timeline(session, run_id=run["id"])]
            runs.append(
                {
                    "run": run,
                    "graph": svg.run_graph(runbook, statuses),
                    "timeline": timeline,
                    "items": visible_items(svc, ident.caller, status=None, run_id=run["id"]),
                }
            )
    return render(request, "incident.html", ident, incident=detail, runs=runs, note=note)


@router.get("/runs/{run_id}")
def run_page(run_id: str, svc: ServicesDep, ident: PageIdentity) -> Response:
    visible_run(svc, ident.caller, run_id)
    with svc.runtime.db.read() as session:
        incident_id = run_store.get_run(session, run_id=run_id).incident_id
    return RedirectResponse(f"/incidents/{incident_id}#{run_id}", status_code=303)


# ---- patterns and metrics -------------------------------------------------------------


@router.get("/patterns")
def patterns_page(request: Request, svc: ServicesDep, ident: PageIdentity) -> HTMLResponse:
    catalog = svc.runtime.runner.deps.catalog
    patterns = [pattern_json(svc, loaded) for loaded in catalog.values()]
    return render(request, "patterns.html", ident, patterns=patterns)


@router.get("/dashboard")
def dashboard(
    request: Request, svc: ServicesDep, ident: PageIdentity, days: int = 14
) -> HTMLResponse:
    days = max(1, min(days, 90))
    summary = insights.summarise(svc.runtime.db, ident.caller.teams, days=days)
    charts = [
        svg.bar_chart("Mean time to acknowledge", summary.series("tta"), " min", color="#0d6efd"),
        svg.bar_chart("Mean time to mitigate", summary.series("ttm"), " min", color="#fd7e14"),
        svg.bar_chart("Mean time to resolve", summary.series("ttr"), " min", color="#198754"),
        svg.bar_chart(
            "Automation rate (mitigated with no human action)",
            summary.series("automation"),
            "%",
            color="#6f42c1",
        ),
    ]
    return render(request, "dashboard.html", ident, summary=summary, charts=charts, days=days)


# ---- live updates ---------------------------------------------------------------------


@router.get("/events")
async def events(request: Request, svc: ServicesDep, ident: PageIdentity) -> StreamingResponse:
    """One `change` event whenever the audit trail grows: pages refresh what they show."""

    def head() -> int:
        with svc.runtime.db.read() as session:
            return audit.head_seq(session)

    async def stream() -> AsyncIterator[str]:
        last = await run_in_threadpool(head)
        yield f"retry: 3000\nevent: hello\ndata: {json.dumps({'seq': last})}\n\n"
        quiet = 0
        while svc.worker.alive and not await request.is_disconnected():
            await asyncio.sleep(1.0)
            seq = await run_in_threadpool(head)
            if seq != last:
                last, quiet = seq, 0
                yield f"event: change\ndata: {json.dumps({'seq': seq})}\n\n"
            else:
                quiet += 1
                if quiet % 15 == 0:
                    yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
