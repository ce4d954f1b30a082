"""API tokens, browser sessions and one-time login links: secrets kept only as digests.

A token reads `bt_<id>_<secret>`: the id finds the row, the secret's SHA-256 is compared in
constant time. The secrets are 256 random bits, so a plain hash (not a password hash) is
enough: nothing short of the secret itself reproduces the digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.errors import InputError, NotFound
from baton.store.models import ApiTokenRow, LoginLinkRow, WebSessionRow, utcnow

TOKEN_PREFIX = "bt_"  # noqa: S105 (a prefix, not a secret)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Holder:
    """Who a credential speaks for: a user, optionally narrowed to one team."""

    user: str
    team: str | None
    token_id: str | None = None
    """The token this holder proved itself with, if any (sessions opened with it end with it)."""


# ---- API tokens ---------------------------------------------------------------------------


def create_token(
    session: Session, *, user: str, team: str | None, expires_at: datetime | None, by: str
) -> tuple[ApiTokenRow, str]:
    """A new token row and the token text (shown once; only its digest is stored)."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiTokenRow(
        id=token_id,
        user=user,
        team=team,
        digest=_digest(secret),
        created_by=by,
        expires_at=expires_at,
    )
    session.add(row)
    return row, f"{TOKEN_PREFIX}{token_id}_{secret}"


def check_token(session: Session, token: str, *, now: datetime | None = None) -> Holder | None:
    """The holder of a live token, or None for anything else (unknown, revoked, expired)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token.removeprefix(TOKEN_PREFIX).partition("_")
    if not sep or not secret:
        return None
    row = session.get(ApiTokenRow, token_id)
    if row is None or not hmac.compare_digest(row.digest, _digest(secret)):
        return None
    now = now or utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return Holder(row.user, row.team, row.id)


def list_tokens(session: Session, *, user: str | None = None) -> list[ApiTokenRow]:
    query = select(ApiTokenRow).order_by(ApiTokenRow.created_at)
    if user:
        query = query.where(ApiTokenRow.user == user)
    return list(session.scalars(query))


def revoke_token(session: Session, *, token_id: str) -> ApiTokenRow:
    row = session.get(ApiTokenRow, token_id.removeprefix(TOKEN_PREFIX).split("_")[0])
    if row is None:
        raise NotFound(f"no token {token_id!r}")
    if row.revoked_at is not None:
        raise InputError(f"token {row.id} was already revoked")
    row.revoked_at = utcnow()
    return row


# ---- browser sessions ---------------------------------------------------------------------


@dataclass(frozen=True)
class WebSession:
    holder: Holder
    csrf: str
    via: str


def open_session(
    session: Session, *, holder: Holder, via: str, lifetime: timedelta
) -> tuple[str, str]:
    """A new browser session: (cookie secret, CSRF token)."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    session.add(
        WebSessionRow(
            digest=_digest(secret),
            user=holder.user,
            team=holder.team,
            csrf=csrf,
            via=via,
            token_id=holder.token_id,
            expires_at=utcnow() + lifetime,
        )
    )
    return secret, csrf


def check_session(session: Session, secret: str) -> WebSession | None:
    row = session.get(WebSessionRow, _digest(secret))
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if row.token_id is not None:  # a session lives no longer than the token that opened it
        token = session.get(ApiTokenRow, row.token_id)
        if token is None or token.revoked_at is not None:
            return None
        if token.expires_at is not None and token.expires_at <= now:
            return None
    return WebSession(Holder(row.user, row.team, row.token_id), row.csrf, row.via)


def end_session(session: Session, secret: str) -> None:
    row = session.get(WebSessionRow, _digest(secret))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()


# ---- one-time login links -----------------------------------------------------------------


def create_login_link(session: Session, *, holder: Holder, lifetime: timedelta) -> str:
    """The secret of a link that logs `holder` in once, within `lifetime`."""
    secret = secrets.token_urlsafe(32)
    session.add(
        LoginLinkRow(
            digest=_digest(secret),
            user=holder.user,
            team=holder.team,
            expires_at=utcnow() + lifetime,
        )
    )
    return secret


def use_login_link(session: Session, secret: str) -> Holder | None:
    """The holder of an unused, unexpired link, which this use spends; None otherwise."""
    row = session.get(LoginLinkRow, _digest(secret))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    row.used_at = utcnow()
    return Holder(row.user, row.team)
