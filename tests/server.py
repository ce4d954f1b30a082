"""A real `baton serve` in a subprocess on a free loopback port, for HTTP-level tests.

`ServerHome` prepares a home (people directory, tokens made through the real store);
`Server` starts the process, polls `/healthz` until it answers, and stops it with SIGTERM
(SIGKILL if it does not stop in time). Nothing sleeps for a fixed time.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from baton.settings import Settings
from baton.store import credentials
from baton.store.credentials import Holder
from baton.store.db import open_database
from tests.conftest import PATTERN_FIXTURES, REPO, cli_env

PEOPLE = """\
people:
  alice: [admin, incident_manager, incident-commander]
  bob: [responder, sre, incident-commander]
  carol: {roles: [responder, sre], teams: [payments]}
  dave: {roles: [responder, sre], teams: [search]}
  vic: [viewer]
  aud: [auditor]
"""

RUNBOOK = """\
id: web-restart
title: Restart the web tier
owner: payments
triggers:
  - source: alertmanager
    match: {alertname: HighErrorRate}
    severity: [critical, high]
  - source: generic
    match: {alertname: WebDown}
tasks:
  - id: note
    type: action
    title: Note the alert
    executor: command
    params: {argv: ["true"]}
  - id: approve
    type: approval
    needs: [note]
    approvers: [sre]
    title: Restart the web tier?
  - id: restart
    type: action
    title: Restart
    needs: [approve]
    executor: command
    params: {argv: ["true"]}
"""


def wait_healthy(
    proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float, what: str
) -> None:
    """Poll `url`/healthz until it answers 200; fail with the process's log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer in {timeout}s: {log.read_text()[-2000:]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerHome:
    """A home for a server: people, routed runbooks, webhook credentials, API tokens."""

    path: Path
    people: str = PEOPLE
    runbook: str = RUNBOOK
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "people.yaml").write_text(self.people)
        routes = self.path / "runbooks"
        routes.mkdir(exist_ok=True)
        (routes / "web-restart.yaml").write_text(textwrap.dedent(self.runbook))
        self.env = {
            **cli_env(self.path),
            "BATON_RUNBOOKS_DIR": str(routes),
            "BATON_PATTERNS_DIR": str(PATTERN_FIXTURES),
            "BATON_WEBHOOK_TOKEN_ALERTMANAGER": "am-token",
            "BATON_WEBHOOK_TOKEN_GENERIC": "generic-token",
            "BATON_SERVE_RECOVER_SECONDS": "1",
            **self.env,
        }

    @property
    def settings(self) -> Settings:
        return Settings(
            home=self.path,
            patterns_dir=PATTERN_FIXTURES,
            database_url=self.env.get("BATON_DATABASE_URL"),
        )

    def token(self, user: str, team: str | None = None) -> str:
        db = open_database(self.settings)
        try:
            with db.write() as session:
                _, token = credentials.create_token(
                    session, user=user, team=team, expires_at=None, by="system:test"
                )
        finally:
            db.close()
        return token

    def login_link(self, user: str) -> str:
        from datetime import timedelta

        db = open_database(self.settings)
        try:
            with db.write() as session:
                return credentials.create_login_link(
                    session, holder=Holder(user, None), lifetime=timedelta(minutes=10)
                )
        finally:
            db.close()


def stop_group(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> int | None:
    """Signal a started process's group; SIGKILL it if it has not exited within `timeout`."""
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    os.killpg(proc.pid, sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=timeout)


class Server:
    def __init__(self, home: ServerHome, *, port: int | None = None) -> None:
        self.home = home
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home.path / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Server:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "baton.cli.main", "serve", "--port", str(self.port)],
                cwd=REPO,
                env=self.home.env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        try:
            wait_healthy(self.proc, self.url, self.log, timeout, "baton serve")
        except RuntimeError:
            self.stop()
            raise
        return self

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        return stop_group(self.proc, sig, timeout)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Worker:
    """A `baton worker` process on the home's (PostgreSQL) database."""

    def __init__(self, home: ServerHome, name: str, *, concurrency: int = 2) -> None:
        self.home = home
        self.name = name
        self.concurrency = concurrency
        self.log = home.path / f"worker-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "baton.cli.main", "worker"),
                    *("--name", self.name, "--concurrency", str(self.concurrency)),
                ],
                cwd=REPO,
                env=self.home.env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        return self

    def send(self, sig: int) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGCONT)  # a paused worker could not hear SIGTERM
        return stop_group(self.proc, sig, timeout)


def use_login_link(client: httpx.Client, secret: str) -> httpx.Response:
    """Open a one-time login link as a browser does: the page, then its Continue button."""
    page = client.get(f"/login/link/{secret}")
    found = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return client.post(f"/login/link/{secret}", data={"login_csrf": found.group(1)})
