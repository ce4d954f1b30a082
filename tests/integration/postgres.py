"""A real PostgreSQL server for tests: initdb into a temp dir, started on a free port.

Uses the Debian packages (.ci/run installs them). initdb refuses to run as root, so as root
the server runs as the `postgres` user the package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def available() -> bool:
    return _bin("initdb") is not None and _bin("pg_ctl") is not None


needed = pytest.mark.skipif(
    not available() and not os.environ.get("CI"),
    reason="PostgreSQL server binaries not installed (CI installs them)",
)
"""Marks tests that start a real server (CI installs it, so there they never skip)."""


@dataclass
class Cluster:
    """A running throwaway server: its URL, and the faults a test may inflict on it."""

    url: str
    data: Path
    log: Path
    options: str
    as_user: list[str]
    pg_ctl: str

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), *args],
            check=True,
            capture_output=True,
        )

    def restart(self) -> None:
        """Stop at once (connections cut, as a crash would) and start again."""
        self._ctl("-m", "immediate", "-w", "stop")
        self._ctl("-o", self.options, "-l", str(self.log), "-w", "start")

    def running(self) -> bool:
        status = subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), "status"], capture_output=True
        )
        return status.returncode == 0

    def start(self) -> None:
        """Start the server again if it is down (it stops itself on a fatal fault)."""
        if not self.running():
            self._ctl("-o", self.options, "-l", str(self.log), "-w", "start")

    def database(self) -> str:
        """A fresh database on this server; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        admin.dispose()
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def terminate_backends(self, database_url: str) -> int:
        """`pg_terminate_backend` every other connection to `database_url`'s database."""
        name = make_url(database_url).database
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            killed = conn.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %(name)s AND pid <> pg_backend_pid()",
                {"name": name},
            ).scalar_one()
        admin.dispose()
        return int(killed)


@contextmanager
def cluster() -> Iterator[Cluster]:
    """A fresh server; stopped and deleted afterwards."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    assert initdb and pg_ctl, "PostgreSQL server binaries are not installed"
    root = Path(tempfile.mkdtemp(prefix="baton-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    run(initdb, "-D", str(data), "-A", "trust", "-U", "baton", "--no-sync", "-E", "UTF8")
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
    )
    run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    url = f"postgresql+psycopg://baton@127.0.0.1:{port}/postgres"
    try:
        yield Cluster(url, data, root / "log", options, as_user, pg_ctl)
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def server() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh server; stop and delete it afterwards."""
    with cluster() as running:
        yield running.url
