"""`baton serve` under faults: a busy database, a shutdown mid-run, OIDC bearer tokens.

What must hold: an alert is never answered 2xx and then lost (busy → 503 + Retry-After,
and the redelivery creates exactly one incident); a server stopped while a run is mid-step
leaves it resumable, and the next start finishes it without repeating the side effect;
an OIDC JWT is accepted only with the right issuer, audience, signature and expiry.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import PY, wait_for
from tests.server import Server, ServerHome

pytestmark = pytest.mark.integration

ALERT = {"title": "WebDown", "severity": "critical", "labels": {"alertname": "WebDown"}}
AUTH = {"Authorization": "Bearer generic-token"}


def test_a_busy_database_answers_503_and_loses_nothing(tmp_path: Path) -> None:
    home = ServerHome(tmp_path / "home", env={"BATON_SQLITE_BUSY_TIMEOUT_MS": "300"})
    token = home.token("alice")
    with Server(home) as server, server.client() as client:
        blocker = sqlite3.connect(home.path / "baton.sqlite", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
        try:
            busy = client.post("/v1/webhooks/generic", json=ALERT, headers=AUTH)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert busy.status_code == 503, busy.text
        assert busy.json()["error"]["code"] == "unavailable"
        assert busy.headers["retry-after"]
        retried = client.post("/v1/webhooks/generic", json=ALERT, headers=AUTH)
        assert retried.status_code == 200, retried.text
        again = client.post("/v1/webhooks/generic", json=ALERT, headers=AUTH)
        assert again.json()["outcome"] == "deduplicated"
        incidents = client.get("/v1/incidents", headers={"Authorization": f"Bearer {token}"})
        assert len(incidents.json()["items"]) == 1


SLOW = """\
id: slow
title: Write once, then wait
owner: payments
triggers:
  - source: generic
    match: {{alertname: WebDown}}
tasks:
  - id: mark
    type: action
    title: Mark
    executor: command
    params: {{argv: ["{py}", "-c", "open('{effects}', 'a').write('mark\\\\n')"]}}
  - id: pause
    type: action
    title: Pause
    needs: [mark]
    executor: wait
    params: {{seconds: 4}}
  - id: after
    type: action
    title: After
    needs: [pause]
    executor: command
    params: {{argv: ["{py}", "-c", "open('{effects}', 'a').write('after\\\\n')"]}}
"""


def test_a_server_stopped_mid_run_leaves_it_resumable(tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    home = ServerHome(
        tmp_path / "home",
        runbook=SLOW.format(py=PY, effects=effects),
        env={"BATON_SERVE_GRACE_SECONDS": "0.5"},
    )
    token = home.token("alice")
    auth = {"Authorization": f"Bearer {token}"}
    first = Server(home).start()
    with first.client() as client:
        run_id = client.post("/v1/webhooks/generic", json=ALERT, headers=AUTH).json()["results"][0][
            "run_id"
        ]

        def pausing() -> bool:
            tasks = client.get(f"/v1/runs/{run_id}", headers=auth).json()["tasks"]
            return any(t["id"] == "pause" and t["status"] in ("running", "waiting") for t in tasks)

        wait_for(pausing, timeout=20, what="the run to be mid-wait")
    began = time.monotonic()
    first.stop()  # SIGTERM while the wait action runs
    assert time.monotonic() - began < 10, "shutdown must not wait for the whole run"
    assert effects.read_text() == "mark\n"
    with Server(home) as second, second.client(token) as client:

        def finished() -> str | None:
            status = client.get(f"/v1/runs/{run_id}").json()["run"]["status"]
            return status if status in ("succeeded", "failed") else None

        assert wait_for(finished, timeout=30, what="the resumed run to finish") == "succeeded"
    assert effects.read_text() == "mark\nafter\n"  # nothing ran twice


class _Jwks(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def issuer() -> Iterator[tuple[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    _Jwks.body = json.dumps({"keys": [jwk | {"kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key
    finally:
        server.shutdown()
        server.server_close()


def _token(key: Any, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": "https://idp.test", "aud": "baton", "exp": now + 300, "iat": now} | claims
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


def test_oidc_bearer_tokens(tmp_path: Path, issuer: tuple[str, Any]) -> None:
    jwks, key = issuer
    home = ServerHome(
        tmp_path / "home",
        env={
            "BATON_OIDC_ISSUER": "https://idp.test",
            "BATON_OIDC_AUDIENCE": "baton",
            "BATON_OIDC_JWKS_URL": jwks,
        },
    )
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with Server(home) as server, server.client() as client:

        def call(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return client.get("/v1/incidents", headers=headers).status_code

        assert call(_token(key, preferred_username="bob")) == 200
        assert call(_token(key, preferred_username="Bob")) == 200  # the same person
        assert call(_token(key, preferred_username="mallory")) == 403  # not in people.yaml
        assert call(_token(key, preferred_username="bob", aud="other")) == 401
        assert call(_token(key, preferred_username="bob", iss="https://evil.test")) == 401
        assert call(_token(key, preferred_username="bob", exp=int(time.time()) - 60)) == 401
        assert call(_token(other, preferred_username="bob")) == 401  # not the issuer's key
        assert call(_token(key, sub="bob")) == 401  # no preferred_username claim


def test_the_cli_answers_on_the_same_home_while_the_server_runs(tmp_path: Path) -> None:
    """One runner, one set of run locks, one audit trail: an approval typed at the terminal
    moves a run the server started, and the server shows it finished."""
    import subprocess
    import sys

    home = ServerHome(tmp_path / "home")
    token = home.token("alice")
    with Server(home) as server, server.client(token) as client:
        started = client.post("/v1/webhooks/generic", json=ALERT, headers=AUTH).json()
        run_id = started["results"][0]["run_id"]

        def item() -> str | None:
            items = client.get("/v1/items", params={"run": run_id}).json()["items"]
            return items[0]["id"] if items else None

        item_id = wait_for(item, timeout=20, what="the gate")
        approved = subprocess.run(
            [sys.executable, "-m", "baton.cli.main", "approve", str(item_id), "--as", "bob"],
            env={k: v for k, v in home.env.items() if k != "BATON_ALLOW_UNVERIFIED_APPROVERS"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert approved.returncode == 0, approved.stderr

        def finished() -> bool:
            return client.get(f"/v1/runs/{run_id}").json()["run"]["status"] == "succeeded"

        wait_for(finished, timeout=30, what="the server to show the run finished")
        decisions = client.get(f"/v1/items/{item_id}").json()["decisions"]
        assert [(d["actor"], d["verdict"]) for d in decisions] == [("human:bob", "approve")]
        verify = client.get("/v1/audit/verify")  # alice is an admin: she may read the trail
        assert verify.status_code == 200 and verify.json()["ok"] is True, verify.json()
