"""The web app: login, inbox, one item (the gate as an approver reads it), incidents,
patterns and metrics; live updates by server-sent events.

Server-rendered with Jinja2 (autoescaped: log and ticket text is shown as text, never as
HTML); no asset comes from the internet. Every form post carries the session's CSRF token;
answers go through the same path as the API (`routes.items.answer`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import shlex
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
from sqlalchemy.orm import Session

from baton import parts
from baton.api.deps import Services, ServicesDep, visible_incident, visible_run
from baton.api.identity import SESSION_COOKIE, Identity, caller_for, check_csrf, identify
from baton.api.oidc import FLOW_COOKIE, FLOW_SECONDS
from baton.api.routes.incidents import incident_detail, incident_json
from baton.api.routes.items import _item, answer, visible_items
from baton.api.routes.patterns import pattern_json
from baton.api.web import insights, svg
from baton.api.web.text import actor_badge, clean, model_words
from baton.errors import BatonError, Forbidden, InputError, Unauthenticated
from baton.evidence import checkpoints
from baton.policies.access import Caller, Permission
from baton.runbooks.canonical import runbook_from_canonical
from baton.runbooks.dag import effective_needs
from baton.runbooks.model import ActionTask, Runbook
from baton.runbooks.walk import is_template
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
templates.env.filters["ago"] = insights.ago
templates.env.globals["model_words"] = model_words
templates.env.tests["web_url"] = lambda value: (
    isinstance(value, str) and value.lower().startswith(("https://", "http://"))
)

router = APIRouter(include_in_schema=False)


class LoginNeeded(Exception):
    """A page asked for by someone not logged in: send them to the login page."""


def page_identity(request: Request, svc: ServicesDep) -> Identity:
    try:
        ident = identify(request, svc.runtime.db, svc.runtime.runner.deps.directory, svc.oidc)
    except Unauthenticated:
        raise LoginNeeded from None
    # The audit position this page is rendered at, read before anything it shows: the live
    # updates start from here, so a change made while the page loads is not missed.
    with svc.runtime.db.read() as session:
        request.state.seq = audit.head_seq(session)
    return ident


PageIdentity = Annotated[Identity, Depends(page_identity)]


def render(
    request: Request, name: str, ident: Identity | None, status: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {
            "who": ident.caller if ident else None,
            "csrf": ident.csrf if ident else None,
            "seq": getattr(request.state, "seq", None),
            "dry_run": request.app.state.services.settings.dry_run,
        }
        | context,
        status_code=status,
    )


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    """An error as a person reads it: a page with the navigation, not raw JSON."""
    return render(request, "error.html", None, status, code=code, message=message)


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


LOGIN_CSRF_COOKIE = "baton_login"


def _with_login_csrf(request: Request, response: HTMLResponse) -> HTMLResponse:
    """A login form's own CSRF token (before any session exists), in a cookie and the form:
    a site cannot log a victim's browser into the attacker's account."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        request.state.login_csrf,
        max_age=3600,
        httponly=True,
        samesite="strict",
        path="/login",
    )
    return response


def _login_form(request: Request, svc: Services, status: int = 200, **context: Any) -> HTMLResponse:
    request.state.login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    page = render(
        request,
        "login.html",
        None,
        status,
        oidc=svc.oidc_login is not None,
        login_csrf=request.state.login_csrf,
        **context,
    )
    return _with_login_csrf(request, page)


def _login_csrf_ok(request: Request, given: str) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    return bool(expected and given) and hmac.compare_digest(expected, given)


@router.get("/login")
def login_page(request: Request, svc: ServicesDep, next: str = "/inbox") -> HTMLResponse:
    return _login_form(request, svc, next=_safe_next(next))


@router.get("/login/oidc")
def login_oidc(request: Request, svc: ServicesDep, next: str = "/inbox") -> Response:
    """To the identity provider; it sends the browser back to the callback below."""
    if svc.oidc_login is None:
        return render(request, "login.html", None, 404, error="OIDC login is not configured")
    try:
        url, flow = svc.oidc_login.start(_safe_next(next))
    except BatonError as exc:
        return render(request, "login.html", None, exc.status, error=exc.message, oidc=True)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        flow,
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=svc.settings.cookie_secure,
        path="/login/oidc",
    )
    return response


@router.get("/login/oidc/callback")
def login_oidc_callback(
    request: Request, svc: ServicesDep, code: str = "", state: str = "", error: str = ""
) -> Response:
    def refused(message: str, status: int = 401) -> Response:
        page = render(request, "login.html", None, status, error=message, oidc=True)
        page.delete_cookie(FLOW_COOKIE, path="/login/oidc")
        return page

    if svc.oidc_login is None:
        return refused("OIDC login is not configured", 404)
    if error or not code:
        return refused(f"the identity provider did not log you in ({clean(error) or 'no code'})")
    try:
        user, target = svc.oidc_login.finish(code, state, request.cookies.get(FLOW_COOKIE))
        response = _start_session(svc, Holder(user, None), "oidc", target)
    except BatonError as exc:
        return refused(exc.message, exc.status)
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response


@router.post("/login")
def login(
    request: Request,
    svc: ServicesDep,
    token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/inbox",
    login_csrf: Annotated[str, Form()] = "",
) -> Response:
    if not _login_csrf_ok(request, login_csrf):
        error = "This form expired or came from another site: log in again from this page."
        return _login_form(request, svc, 403, error=error, next=_safe_next(next))
    with svc.runtime.db.read() as session:
        holder = credentials.check_token(session, token.strip())
    if holder is None:
        error = "That token was not accepted: it is unknown, expired or revoked."
        return _login_form(request, svc, 401, error=error, next=_safe_next(next))
    try:
        return _start_session(svc, holder, "token", next)
    except BatonError as exc:
        return _login_form(request, svc, exc.status, error=exc.message, next=_safe_next(next))


@router.get("/login/link/{secret}")
def login_link_page(request: Request, secret: str, svc: ServicesDep) -> HTMLResponse:
    """A page with a button, not the login itself: a chat or mail preview that fetches the
    link must not spend it (and receive the session)."""
    request.state.login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    page = render(request, "login_link.html", None, login_csrf=request.state.login_csrf)
    return _with_login_csrf(request, page)


@router.post("/login/link/{secret}")
def login_link(
    request: Request, secret: str, svc: ServicesDep, login_csrf: Annotated[str, Form()] = ""
) -> Response:
    if not _login_csrf_ok(request, login_csrf):
        error = "This form expired or came from another site: open the link again."
        return _login_form(request, svc, 403, error=error)
    with svc.runtime.db.write() as session:
        holder = credentials.use_login_link(session, secret)
    if holder is None:
        error = "This login link was already used or has expired: ask for a new one."
        return _login_form(request, svc, 401, error=error)
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


_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


@router.get("/inbox")
def inbox(request: Request, svc: ServicesDep, ident: PageIdentity) -> HTMLResponse:
    rows = visible_items(svc, ident.caller, status="pending", run_id=None)
    with svc.runtime.db.read() as session:
        about = {r["run_id"]: _incident_of_run(session, r["run_id"]) for r in rows}
    for row in rows:
        row["incident"] = about[row["run_id"]]
    # The most severe first, then the longest waiting.
    rows.sort(key=lambda r: (_SEVERITY_ORDER.get(r["incident"]["severity"], 9), r["created_at"]))
    mine = [r for r in rows if r["answerable"]]
    others = [r for r in rows if not r["answerable"]]
    return render(request, "inbox.html", ident, mine=mine, others=others)


def _incident_of_run(session: Session, run_id: str) -> dict[str, Any]:
    run = run_store.get_run(session, run_id=run_id)
    row, state = incident_store.get(session, incident_id=run.incident_id)
    return incident_json(row, state)


def _alert_context(body: dict[str, Any]) -> dict[str, Any]:
    """What the alert said, beyond its title: description, annotations, links (as text)."""
    alert = (body.get("data") or {}).get("alert") or {}
    shown = {"summary", "description"}
    annotations = {
        str(k): str(v) for k, v in (alert.get("annotations") or {}).items() if k not in shown
    }
    return {
        "description": body.get("description"),
        "environment": body.get("environment"),
        "annotations": annotations,
        "url": alert.get("url"),
    }


def _next_steps(runbook: Runbook, task_id: str) -> list[dict[str, Any]]:
    """The tasks this item's task lets start, and what each runs, as the runbook says."""
    needs = effective_needs(runbook)
    steps = []
    for step in runbook.steps:
        if task_id not in needs.get(step.id, []):
            continue
        runs = None
        if isinstance(step, ActionTask):
            argv = step.params.get("argv")
            if step.pattern:
                runs = f"pattern {step.pattern}"
            elif is_template(json.dumps(step.params)):
                # Not rendered yet (its values come from the run, maybe from alert text):
                # the exact command is shown on its own task once it runs, never guessed here.
                runs = f"{step.executor} action (its parameters are filled in when it runs)"
            elif step.executor == "command" and isinstance(argv, list):
                runs = shlex.join(str(a) for a in argv)
            elif step.executor:
                runs = f"{step.executor} {json.dumps(step.params, sort_keys=True)}"
        steps.append({"id": step.id, "title": step.title, "type": step.type, "runs": runs})
    return steps


def _why_not(item: dict[str, Any], who: Caller) -> list[str]:
    """Why the caller may not answer this item (what `answerable` checks), in words."""
    reasons = []
    if not who.may(Permission.ANSWER):
        roles = ", ".join(sorted(who.roles)) or "none"
        reasons.append(f"your roles ({roles}) may read items but not answer them")
    if item["kind"] == "approval" and who.actor in (item["requested_by"], item["run_requested_by"]):
        reasons.append(
            "you requested this run, and nobody approves their own request (separation of duties)"
        )
    if any(d["actor"] == who.actor for d in item["decisions"]):
        reasons.append("you have already answered it")
    if item["roles"] and not set(item["roles"]) & who.roles:
        reasons.append(f"it needs one of the roles {', '.join(item['roles'])}")
    return reasons or ["you are not one of the people this item waits for"]


def _item_page(
    request: Request, svc: Services, ident: Identity, item_id: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    item = _item(svc, ident.caller, item_id)
    with svc.runtime.db.read() as session:
        run = run_store.get_run(session, run_id=item["run_id"])
        incident, state = incident_store.get(session, incident_id=run.incident_id)
        found = {f.task_id: f.finding for f in finding_store.run_findings(session, run_id=run.id)}
        canonical = run_store.get_runbook_canonical(session, version=run.runbook_version)
        statuses = {t.task_id: t.status for t in run_store.task_executions(session, run_id=run.id)}
    runbook = runbook_from_canonical(canonical)
    progress = _progress(svc, item)
    return render(
        request,
        "item.html",
        ident,
        status,
        item=item,
        run=run,
        incident=incident_json(incident, state),
        alert=_alert_context(incident.body),
        next_steps=_next_steps(runbook, item["task_id"]),
        graph=svg.run_graph(runbook, statuses) + svg.run_graph(runbook, statuses, tall=True),
        why_not=[] if item["answerable"] else _why_not(item, ident.caller),
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
    return RedirectResponse(f"/incidents/{incident_id}?answered={quote(item_id)}", status_code=303)


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
    request: Request, incident_id: str, svc: ServicesDep, ident: PageIdentity, answered: str = ""
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
                    "graph": svg.run_graph(runbook, statuses)
                    + svg.run_graph(runbook, statuses, tall=True),
                    "timeline": timeline,
                    "items": visible_items(svc, ident.caller, status=None, run_id=run["id"]),
                }
            )
    note = _answered_note(runs, answered, ident.caller)
    alert = _alert_context(detail["body"])
    return render(
        request, "incident.html", ident, incident=detail, alert=alert, runs=runs, note=note
    )


_VERDICT_WORDS = {
    "approve": "approved",
    "reject": "rejected",
    "complete": "marked done",
    "fail": "marked as not done",
    "choose": "answered",
}


def _answered_note(runs: list[dict[str, Any]], item_id: str, who: Caller) -> str:
    """After an answer: what the caller's recorded answer was (from the store, not the URL)."""
    for run in runs:
        for item in run["items"]:
            if item["id"] != item_id:
                continue
            mine = [d for d in item["decisions"] if d["actor"] == who.actor]
            if mine:
                verdict = _VERDICT_WORDS.get(mine[-1]["verdict"], mine[-1]["verdict"])
                return f"You {verdict} “{item['title']}”. It is recorded under your name."
    return ""


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
            ceiling=100,
        ),
    ]
    return render(request, "dashboard.html", ident, summary=summary, charts=charts, days=days)


# ---- audit ----------------------------------------------------------------------------


@router.get("/audit")
def audit_page(
    request: Request, svc: ServicesDep, ident: PageIdentity, after: int = 0
) -> HTMLResponse:
    """For auditors: the chain's check and the latest events, newest first."""
    if not ident.caller.may(Permission.READ_AUDIT):
        raise Forbidden(f"{ident.caller.user} lacks the read_audit permission")
    key = parts.public_key(svc.settings)
    with svc.runtime.db.read() as session:
        report = checkpoints.check(session, key)
        head = audit.head_seq(session)
        start = max(0, (after or head) - 100)
        events = [event_json(e) for e in audit.events(session, after=start, limit=100)]
    events.reverse()
    return render(
        request, "audit.html", ident, report=str(report), ok=report.ok, events=events, head=head
    )


# ---- API reference --------------------------------------------------------------------


def _schema_type(spec: dict[str, Any]) -> str:
    """A JSON Schema in a word or two (`string`, `array of string`, `DecisionIn`)."""
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in spec:
        return " or ".join(_schema_type(s) for s in spec["anyOf"])
    if spec.get("type") == "array":
        return f"array of {_schema_type(spec.get('items', {}))}"
    if "enum" in spec:
        return " | ".join(json.dumps(v) for v in spec["enum"])
    if "const" in spec:
        return json.dumps(spec["const"])
    return str(spec.get("type", "any"))


templates.env.filters["schema_type"] = _schema_type


@router.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    """The API reference, rendered here from the OpenAPI document: no script or style from
    elsewhere (FastAPI's own pages load theirs from a CDN, which an offline site blocks)."""
    api = request.app.openapi()
    operations = []
    for path, methods in api.get("paths", {}).items():
        for method, op in methods.items():
            body = (op.get("requestBody", {}).get("content", {}).get("application/json", {})).get(
                "schema", {}
            )
            operations.append(
                {
                    "id": op.get("operationId", f"{method}-{path}"),
                    "tag": (op.get("tags") or ["pages"])[0],
                    "method": method,
                    "path": path,
                    "summary": op.get("summary"),
                    "description": op.get("description"),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": _schema_type(p.get("schema", {})),
                            "description": p.get("description")
                            or p.get("schema", {}).get("description"),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": _schema_type(body) if body else None,
                }
            )
    operations.sort(key=lambda o: (o["tag"], o["path"], o["method"]))
    schemas = sorted(api.get("components", {}).get("schemas", {}).items())
    return render(request, "docs.html", None, api=api, operations=operations, schemas=schemas)


# ---- live updates ---------------------------------------------------------------------


@router.get("/events")
async def events(
    request: Request, svc: ServicesDep, ident: PageIdentity, after: int | None = None
) -> StreamingResponse:
    """One `change` event whenever the audit trail grows: pages refresh what they show.

    `after` is the audit position the page was rendered at (a reconnecting browser sends
    `Last-Event-ID` instead): anything newer is announced at once, not lost in between.
    """
    resumed = request.headers.get("last-event-id", "")
    start = int(resumed) if resumed.isdigit() else after

    def head() -> int:
        with svc.runtime.db.read() as session:
            return audit.head_seq(session)

    async def stream() -> AsyncIterator[str]:
        last = start if start is not None else await run_in_threadpool(head)
        yield f"retry: 3000\nevent: hello\ndata: {json.dumps({'seq': last})}\n\n"
        quiet = 0
        while (
            svc.worker.alive and not svc.stopping.is_set() and not await request.is_disconnected()
        ):
            await asyncio.sleep(1.0)
            seq = await run_in_threadpool(head)
            if seq != last:
                last, quiet = seq, 0
                yield f"id: {seq}\nevent: change\ndata: {json.dumps({'seq': seq})}\n\n"
            else:
                quiet += 1
                if quiet % 15 == 0:
                    yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
