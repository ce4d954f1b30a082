"""Browser login with OIDC (authorization code + PKCE) against a local identity provider
that speaks the documented endpoints: discovery, authorize, token (checking the PKCE
verifier) and JWKS. What must hold: the person the ID token names gets a session only if
the people directory knows them; a forged state, a replayed code or a foreign browser get
nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.server import Server, ServerHome, free_port

pytestmark = pytest.mark.integration


class Provider:
    """A tiny OIDC provider: whoever `user` is gets logged in at /authorize."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.user = "bob"
        self.codes: dict[str, dict[str, str]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: Any, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(
                        {
                            "issuer": provider.url,
                            "authorization_endpoint": f"{provider.url}/authorize",
                            "token_endpoint": f"{provider.url}/token",
                            "jwks_uri": f"{provider.url}/jwks",
                        }
                    )
                elif url.path == "/jwks":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                    self._json({"keys": [jwk | {"kid": "k1", "alg": "RS256", "use": "sig"}]})
                elif url.path == "/authorize":
                    q = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = q
                    back = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
                    self.send_response(302)
                    self.send_header("Location", back)
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                asked = provider.codes.pop(form.get("code", ""), None)  # a code works once
                verifier = form.get("code_verifier", "")
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    .rstrip(b"=")
                    .decode()
                )
                if asked is None or challenge != asked["code_challenge"]:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                now = int(time.time())
                claims = {
                    "iss": provider.url,
                    "aud": asked["client_id"],
                    "sub": "u-1",
                    "preferred_username": provider.user,
                    "nonce": asked["nonce"],
                    "iat": now,
                    "exp": now + 300,
                }
                token = jwt.encode(claims, provider.key, algorithm="RS256", headers={"kid": "k1"})
                self._json({"id_token": token, "access_token": "x", "token_type": "Bearer"})

        return Handler


@pytest.fixture
def provider() -> Iterator[Provider]:
    idp = Provider()
    thread = threading.Thread(target=idp.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        idp.server.shutdown()
        idp.server.server_close()


def test_oidc_browser_login(tmp_path: Path, provider: Provider) -> None:
    port = free_port()
    home = ServerHome(
        tmp_path / "home",
        env={
            "BATON_OIDC_ISSUER": provider.url,
            "BATON_OIDC_CLIENT_ID": "baton-web",
            "BATON_PUBLIC_URL": f"http://127.0.0.1:{port}",
        },
    )
    with Server(home, port=port) as server:
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as browser:
            inbox = browser.get("/login/oidc", params={"next": "/incidents"})
            assert inbox.status_code == 200, inbox.text
            assert inbox.url.path == "/incidents"
            assert "bob" in inbox.text
            assert browser.get("/v1/incidents").status_code == 200  # the session cookie works
            callback = next(r.url for r in inbox.history if r.url.path == "/login/oidc/callback")
            replayed = browser.get(str(callback))  # the flow was spent on first use
            assert replayed.status_code == 401, replayed.text

        # A state that is not this browser's: refused, no session.
        with httpx.Client(base_url=server.url, timeout=30) as stranger:
            forged = stranger.get("/login/oidc/callback", params={"code": "x", "state": "y"})
            assert forged.status_code == 401
            assert "baton_session" not in stranger.cookies

        # Someone the provider knows but the people directory does not: no session.
        provider.user = "mallory"
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as browser:
            refused = browser.get("/login/oidc")
            assert refused.status_code == 403
            assert "not in the people directory" in refused.text
            assert "baton_session" not in browser.cookies

        # The provider says no: a clear message.
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            denied = browser.get("/login/oidc/callback", params={"error": "access_denied"})
            assert denied.status_code == 401 and "access_denied" in denied.text
