"""Who is calling: an API token, an OIDC bearer JWT, or a browser session. Never a claim.

Whatever the credential, the person must be in the people directory: roles and teams come
from there, not from the credential (a token may only narrow the teams). Webhook
credentials are not accepted here at all: they can start runs, never answer items.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Request

from baton.domain import actor
from baton.errors import Forbidden, Unauthenticated
from baton.policies.access import Caller, scope
from baton.policies.people import Directory
from baton.settings import Settings
from baton.store import credentials
from baton.store.credentials import Holder
from baton.store.db import Database

SESSION_COOKIE = "baton_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class OidcVerifier:
    """Bearer JWTs from one issuer, checked against its JWKS (fetched and cached by PyJWT)."""

    ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA")

    def __init__(self, issuer: str, audience: str, jwks_url: str, user_claim: str) -> None:
        self.issuer = issuer
        self.audience = audience
        self.user_claim = user_claim
        self._keys = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)

    def user(self, token: str) -> str:
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(self.ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWKClientError as exc:
            raise Unauthenticated(f"cannot check the token's signature: {exc}") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        name = claims.get(self.user_claim)
        if not isinstance(name, str) or not name:
            raise Unauthenticated(f"the token has no {self.user_claim!r} claim")
        return name


def oidc_from(settings: Settings) -> OidcVerifier | None:
    if not (settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url):
        return None
    return OidcVerifier(
        settings.oidc_issuer,
        settings.oidc_audience,
        settings.oidc_jwks_url,
        settings.oidc_user_claim,
    )


@dataclass(frozen=True)
class Identity:
    """A resolved caller and, for browser sessions, the session's CSRF token."""

    caller: Caller
    csrf: str | None = None


def caller_for(holder: Holder, directory: Directory, via: str) -> Caller:
    """The caller a credential speaks for, as the people directory describes them."""
    if not directory.enforced:
        raise Forbidden(
            "no people directory: the server lets nobody in until $BATON_HOME/people.yaml "
            "lists who holds which roles"
        )
    try:
        actor.human(holder.user)
    except ValueError as exc:
        raise Unauthenticated(str(exc)) from None
    if not directory.knows(holder.user):
        raise Forbidden(f"{holder.user} is not in the people directory")
    person = actor.human(holder.user)
    roles = directory.roles_of(person)
    teams = scope(directory.teams_of(holder.user), roles, holder.team)
    return Caller(person.removeprefix("human:"), roles, teams, via)


def identify(
    request: Request, db: Database, directory: Directory, oidc: OidcVerifier | None
) -> Identity:
    """The caller of `request`, or `Unauthenticated` (401) / `Forbidden` (403)."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use 'Authorization: Bearer <token>'")
        token = token.strip()
        if token.startswith(credentials.TOKEN_PREFIX):
            with db.read() as session:
                holder = credentials.check_token(session, token)
            if holder is None:
                raise Unauthenticated("unknown, expired or revoked token")
            return Identity(caller_for(holder, directory, "token"))
        if oidc is not None and token.count(".") == 2:
            return Identity(caller_for(Holder(oidc.user(token), None), directory, "oidc"))
        raise Unauthenticated("unknown token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with db.read() as session:
            web = credentials.check_session(session, cookie)
        if web is None:
            raise Unauthenticated("your session has ended; log in again")
        return Identity(caller_for(web.holder, directory, f"session:{web.via}"), web.csrf)
    raise Unauthenticated("credentials required: an API token (Authorization: Bearer …)")


def check_csrf(identity: Identity, method: str, given: str | None) -> None:
    """A state-changing request riding on a session cookie must carry the session's token."""
    if identity.csrf is None or method in SAFE_METHODS:
        return
    if not given or not hmac.compare_digest(given, identity.csrf):
        raise Forbidden("missing or wrong CSRF token; reload the page and try again")
