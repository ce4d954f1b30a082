"""What handlers depend on: the server's services and the caller, as `Annotated` types."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from baton.alerts.intake import Intake
from baton.api.identity import CSRF_HEADER, Identity, OidcVerifier, check_csrf, identify
from baton.api.metrics import Metrics
from baton.api.oidc import OidcLogin
from baton.api.worker import Dispatcher
from baton.errors import Forbidden, NotFound
from baton.policies.access import Caller, Permission
from baton.runtime import Runtime
from baton.settings import Settings
from baton.store import incidents as incident_store
from baton.store import runs as run_store


@dataclass
class Services:
    """Everything one server process holds; built once by `create_app`."""

    runtime: Runtime
    worker: Dispatcher
    intake: Intake
    metrics: Metrics
    oidc: OidcVerifier | None = None
    oidc_login: OidcLogin | None = None
    notes: list[str] = field(default_factory=list)
    """Start-up findings worth a look (runbooks that did not load), shown by /readyz."""
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the server is asked to stop: long-lived responses (live updates) end."""

    @property
    def settings(self) -> Settings:
        return self.runtime.settings


async def services(request: Request) -> Services:
    """Async on purpose: a sync dependency costs every request a hop to the thread pool."""
    svc: Services = request.app.state.services
    return svc


ServicesDep = Annotated[Services, Depends(services)]


def identity(request: Request, svc: ServicesDep) -> Identity:
    """The caller (401/403 otherwise); a cookie-borne unsafe request must carry its CSRF."""
    found = identify(request, svc.runtime.db, svc.runtime.runner.deps.directory, svc.oidc)
    check_csrf(found, request.method, request.headers.get(CSRF_HEADER))
    return found


def caller(found: Annotated[Identity, Depends(identity)]) -> Caller:
    return found.caller


CallerDep = Annotated[Caller, Depends(caller)]


def require(permission: Permission) -> Any:
    """A dependency that lets in only callers holding `permission` (403 otherwise)."""

    def check(who: CallerDep) -> Caller:
        if not who.may(permission):
            raise Forbidden(f"{who.user} lacks the {permission.value} permission")
        return who

    return Depends(check)


Answerer = Annotated[Caller, require(Permission.ANSWER)]
Starter = Annotated[Caller, require(Permission.START_RUN)]
Canceller = Annotated[Caller, require(Permission.CANCEL_RUN)]
Resolver = Annotated[Caller, require(Permission.RESOLVE_INCIDENT)]
Auditor = Annotated[Caller, require(Permission.READ_AUDIT)]


def visible_run(svc: Services, who: Caller, run_id: str) -> None:
    """Another team's run does not exist for this caller: 404, exactly as an unknown id."""
    with svc.runtime.db.read() as session:
        run_store.get_run(session, run_id=run_id)
        team = incident_store.team_of_run(session, run_id=run_id)
    if not who.sees(team):
        raise NotFound(f"no run {run_id!r}")


def visible_incident(svc: Services, who: Caller, incident_id: str) -> None:
    with svc.runtime.db.read() as session:
        incident_store.get(session, incident_id=incident_id)
        team = incident_store.team_of_incident(session, incident_id=incident_id)
    if not who.sees(team):
        raise NotFound(f"no incident {incident_id!r}")
