"""Browser login with OpenID Connect: the authorization-code flow with PKCE.

`/login/oidc` sends the browser to the issuer (found by discovery) with a random `state`,
`nonce` and PKCE challenge; `/login/oidc/callback` exchanges the code at the token endpoint
and checks the ID token (signature against the issuer's JWKS, `iss`, `aud` = client id,
`exp`, `nonce`). The person it names must be in the people directory, as for any login.
The flow's secrets live in a short-lived, HttpOnly cookie bound to this browser and are
spent on first use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from baton.errors import ConfigError, Unauthenticated
from baton.settings import Settings

FLOW_COOKIE = "baton_oidc"
FLOW_SECONDS = 600


@dataclass(frozen=True)
class Flow:
    """What the callback needs to finish one login: kept in the browser, signed by us."""

    state: str
    nonce: str
    verifier: str
    next: str
    expires: float


class OidcLogin:
    def __init__(self, settings: Settings, signing_secret: bytes) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            raise ConfigError("OIDC login needs BATON_OIDC_ISSUER and BATON_OIDC_CLIENT_ID")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        secret = settings.oidc_client_secret
        self.client_secret = secret.get_secret_value() if secret else None
        self.user_claim = settings.oidc_user_claim
        self.redirect_uri = (settings.public_url or "http://127.0.0.1:8080").rstrip(
            "/"
        ) + "/login/oidc/callback"
        self._secret = signing_secret
        self._discovery: dict[str, Any] | None = None
        self._keys: jwt.PyJWKClient | None = None

    def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            try:
                found = httpx.get(url, timeout=5).raise_for_status().json()
            except (httpx.HTTPError, ValueError) as exc:
                raise Unauthenticated(f"cannot reach the identity provider: {exc}") from None
            if found.get("issuer", "").rstrip("/") != self.issuer:
                raise Unauthenticated("the identity provider names another issuer")
            self._discovery = found
            self._keys = jwt.PyJWKClient(found["jwks_uri"], cache_keys=True, timeout=5)
        return self._discovery

    # ---- step 1: to the provider --------------------------------------------------------

    def start(self, next_path: str) -> tuple[str, str]:
        """(the provider's authorization URL, the flow cookie's value)."""
        flow = Flow(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next=next_path,
            expires=time.time() + FLOW_SECONDS,
        )
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(flow.verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": "openid profile email",
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.discovery()['authorization_endpoint']}?{query}", self._seal(flow)

    # ---- step 2: back from the provider -------------------------------------------------

    def finish(self, code: str, state: str, cookie: str | None) -> tuple[str, str]:
        """(the user the provider vouches for, where to go next); `Unauthenticated` else."""
        flow = self._open(cookie)
        if not hmac.compare_digest(flow.state, state):
            raise Unauthenticated("the login does not match this browser (state); start again")
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": flow.verifier,
        }
        auth = (self.client_id, self.client_secret) if self.client_secret else None
        try:
            answer = httpx.post(
                self.discovery()["token_endpoint"], data=data, auth=auth, timeout=10
            )
        except httpx.HTTPError as exc:
            raise Unauthenticated(f"cannot reach the identity provider: {exc}") from None
        if answer.status_code != 200:
            raise Unauthenticated(f"the identity provider refused the code ({answer.status_code})")
        id_token = answer.json().get("id_token")
        if not isinstance(id_token, str):
            raise Unauthenticated("the identity provider sent no ID token")
        return self._user(id_token, flow.nonce), flow.next

    def _user(self, id_token: str, nonce: str) -> str:
        assert self._keys is not None
        try:
            key = self._keys.get_signing_key_from_jwt(id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"],
                audience=self.client_id,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "nonce"]},
            )
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise Unauthenticated(f"invalid ID token: {exc}") from None
        if not hmac.compare_digest(str(claims.get("nonce")), nonce):
            raise Unauthenticated("the ID token was not issued for this login (nonce)")
        name = claims.get(self.user_claim)
        if not isinstance(name, str) or not name:
            raise Unauthenticated(f"the ID token has no {self.user_claim!r} claim")
        return name

    # ---- the flow cookie ----------------------------------------------------------------

    def _seal(self, flow: Flow) -> str:
        body = base64.urlsafe_b64encode(json.dumps(flow.__dict__).encode()).decode()
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    def _open(self, cookie: str | None) -> Flow:
        body, _, mac = (cookie or "").rpartition(".")
        expected = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
        if not body or not hmac.compare_digest(mac, expected):
            raise Unauthenticated("the login started in another browser or expired; start again")
        flow = Flow(**json.loads(base64.urlsafe_b64decode(body)))
        if flow.expires < time.time():
            raise Unauthenticated("the login took too long; start again")
        return flow
