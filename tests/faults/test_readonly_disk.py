"""The disk under the data dir turns read-only while Baton runs on it: $BATON_HOME under
`baton serve` on SQLite (the embedded default), PostgreSQL's data dir under `baton serve`
and a `baton worker`.

Must hold: what is sent while the disk is read-only (an alert, an answer at a gate) gets a
clean 503 that says why, and nothing of it is half-written; a step in flight when the disk
turned read-only is retried once it is writable again; afterwards every run goes on, none
is lost, and the audit chain verifies.

How the disk is made read-only: `chattr +i` on every file and directory of the data dir.
Permissions would not do (a running process writes through the files it has open, and root
ignores them); an immutable inode refuses every write, through open files too. It needs
root (CAP_LINUX_IMMUTABLE) and a filesystem that has the flag (ext4, xfs, btrfs): elsewhere
the tests skip and say so. SQLite's `-shm` file is left writable: it is SQLite's shared
memory (the WAL index, never durable data), mapped into every process, and a write fault on
a mapping is a SIGBUS, not an error SQLite could report. The processes' own logs (test
artefacts kept in the home) stay writable too. PostgreSQL cannot write its WAL, PANICs
and stops (it cannot reopen `global/pg_control` either): once the disk is writable again it
is started again, as its service manager would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PY, wait_for
from tests.faults.conftest import Estate, chain_valid, run_of, settles
from tests.integration import postgres
from tests.integration.scripts import APPEND, EFFECT_THEN_BLOCK, lines
from tests.integration.test_api_webhooks import am_group
from tests.server import Server, ServerHome

pytestmark = pytest.mark.integration


def immutable_flag_works(where: Path) -> str | None:
    """None if `chattr +i` stops writes under `where`; else why not."""
    if shutil.which("chattr") is None:
        return "no chattr (e2fsprogs) to make the data dir read-only under running processes"
    with tempfile.NamedTemporaryFile(dir=where) as probe:
        made = subprocess.run(["chattr", "+i", probe.name], capture_output=True, text=True)
        if made.returncode != 0:
            return f"chattr +i is refused here ({made.stderr.strip()}): needs root on ext4/xfs"
        try:
            with open(probe.name, "a") as out:
                out.write("x")
            return "chattr +i did not stop a write"
        except OSError:
            return None
        finally:
            subprocess.run(["chattr", "-i", probe.name], check=True)


@contextmanager
def read_only(root: Path, *, keep: tuple[str, ...] = (".log", "-shm")) -> Iterator[None]:
    """Every file and directory under `root` (and `root`) immutable while inside."""
    paths = [root, *(p for p in root.rglob("*") if not p.name.endswith(keep))]
    chattr("+i", paths)
    try:
        yield
    finally:
        chattr("-i", paths)


def chattr(flag: str, paths: list[Path]) -> None:
    """Set or clear the flag; a file the database removed since it was listed is no error."""
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True)
    failures = [line for line in done.stderr.splitlines() if "No such file" not in line]
    assert done.returncode == 0 or not failures, done.stderr


SLOW = """\
id: slow-restart
title: Slow restart
owner: payments
tasks:
  - id: slow
    type: action
    title: Slow, safe to repeat
    executor: command
    idempotent: true
    timeout: 120
    params: {{argv: {slow}}}
  - id: after
    type: action
    title: After
    needs: [slow]
    executor: command
    params: {{argv: {after}}}
"""


def alert(client: httpx.Client, group: str) -> httpx.Response:
    body = json.dumps(am_group(group, [f"{group}-1"])).encode()
    headers = {"Authorization": "Bearer am-token", "Content-Type": "application/json"}
    return client.post("/v1/webhooks/alertmanager", content=body, headers=headers)


def unavailable(response: httpx.Response) -> str:
    """The error message of a clean 503 (with Retry-After), or fail."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers.get("Retry-After"), response.headers
    error = response.json()["error"]
    assert error["code"] in ("unavailable", "storage_error"), error
    assert "database" in error["message"], error
    return str(error["message"])


def stored(database_url: str) -> dict[str, int]:
    """Row counts of what requests create (read straight from the database)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in ("runs", "incidents", "alert_groups", "decisions")
            }
    finally:
        engine.dispose()


class Scene:
    """A run parked at its gate, and a run whose slow (idempotent) command is running."""

    def __init__(self, home: ServerHome, tmp: Path) -> None:
        self.effects, self.started = tmp / "effects", tmp / "started"
        self.release = tmp / "release"
        slow = [PY, "-c", EFFECT_THEN_BLOCK, *map(str, (self.effects, self.started, self.release))]
        after = [PY, "-c", APPEND, str(self.effects), "after"]
        (home.path / "runbooks" / "slow-restart.yaml").write_text(
            SLOW.format(slow=json.dumps(slow), after=json.dumps(after))
        )
        self.database_url = (
            home.env.get("BATON_DATABASE_URL") or f"sqlite:///{home.path}/baton.sqlite"
        )

    def set_up(self, alice: httpx.Client, bob: httpx.Client) -> None:
        self.parked = declare(alice, "web-restart")
        settles(alice, self.parked, "waiting")
        (self.item,) = bob.get("/v1/items", params={"run": self.parked}).json()["items"]
        self.in_flight = declare(alice, "slow-restart")
        wait_for(self.started.exists, timeout=60, what="the slow command")
        self.before = stored(self.database_url)

    def refused(self, alice: httpx.Client, bob: httpx.Client, sender: httpx.Client) -> None:
        """While the disk is read-only: an answer and an alert get a clean 503, /readyz
        says the database cannot be written."""
        item = self.item["id"]
        unavailable(bob.post(f"/v1/items/{item}/decision", json={"verdict": "approve"}))
        unavailable(alert(sender, "readonly"))
        ready = alice.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert "cannot write" in ready.json()["checks"]["database"], ready.text

    def goes_on(self, alice: httpx.Client, bob: httpx.Client, sender: httpx.Client) -> None:
        """Writable again: nothing of the refused requests was recorded; they are taken when
        sent again; every run goes on, the slow step having run again; the chain verifies."""
        wait_for(lambda: alice.get("/readyz").status_code == 200, timeout=90, what="ready")
        assert stored(self.database_url) == self.before
        assert bob.get(f"/v1/items/{self.item['id']}").json()["status"] == "pending"
        decided = bob.post(f"/v1/items/{self.item['id']}/decision", json={"verdict": "approve"})
        assert decided.status_code == 200, decided.text
        taken = alert(sender, "readonly")
        assert taken.status_code == 200, taken.text
        (result,) = taken.json()["results"]
        assert result["outcome"] == "created", result

        settles(alice, self.parked, "succeeded")
        settles(alice, self.in_flight, "succeeded")
        assert lines(self.effects) == ["effect", "effect", "after"]  # the step was retried
        settles(alice, result["run_id"], "waiting")
        after = stored(self.database_url)
        assert (after["runs"], after["incidents"], after["decisions"]) == (3, 3, 1), after
        chain_valid(alice)


def declare(client: httpx.Client, runbook: str) -> str:
    response = client.post(
        "/v1/incidents", json={"incident": {"title": runbook}, "runbook": runbook}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


def test_a_read_only_sqlite_home_answers_503_and_loses_nothing(tmp_path: Path) -> None:
    """On the embedded default (SQLite in $BATON_HOME, under `baton serve`): what is sent
    while the home is read-only gets a clean 503 and leaves nothing behind, the command
    that ended meanwhile is run again, and then everything goes on."""
    home = ServerHome(tmp_path / "home")
    if (reason := immutable_flag_works(home.path)) is not None:
        pytest.skip(reason)
    scene = Scene(home, tmp_path)
    with (
        Server(home) as server,
        server.client(home.token("alice")) as alice,
        server.client(home.token("bob")) as bob,
        server.client() as sender,
    ):
        scene.set_up(alice, bob)
        with read_only(home.path):
            scene.release.touch()  # the command ends; its result cannot be written
            wait_for(
                lambda: f"run {scene.in_flight}: " in server.log.read_text(),
                timeout=60,
                what="the server to report the step it could not record",
            )
            scene.refused(alice, bob, sender)
            assert bob.get(f"/v1/items/{scene.item['id']}").json()["status"] == "pending"
            assert run_of(alice, scene.in_flight)["run"]["status"] == "running"
        scene.goes_on(alice, bob, sender)


@postgres.needed
def test_a_read_only_postgresql_data_dir_answers_503_and_loses_nothing(
    estate: Estate, tmp_path: Path
) -> None:
    """On PostgreSQL, with `baton serve` and a `baton worker`: the database stops at its
    first write to the read-only disk; meanwhile the server answers a clean 503, the worker
    cannot record the command that ended and backs off; once the disk is writable and the
    database started again, the step is retried and everything goes on."""
    if (reason := immutable_flag_works(estate.pg.data.parent)) is not None:
        pytest.skip(reason)
    scene = Scene(estate.home, tmp_path)
    estate.server()
    worker = estate.worker("w1")
    with (
        estate.client("alice") as alice,
        estate.client("bob") as bob,
        estate.servers[0].client() as sender,
    ):
        scene.set_up(alice, bob)
        try:
            with read_only(estate.pg.data):
                # The worker's heartbeat writes every second: PostgreSQL's WAL write fails,
                # it PANICs and, unable to reopen its control file, stops.
                wait_for(lambda: not estate.pg.running(), timeout=60, what="PostgreSQL down")
                scene.release.touch()  # the command ends; its result cannot be written
                wait_for(
                    lambda: f"run {scene.in_flight}: " in worker.log.read_text(),
                    timeout=60,
                    what="the worker to report the step it could not record",
                )
                scene.refused(alice, bob, sender)
        finally:
            estate.pg.start()  # the session's other tests use this server too
        scene.goes_on(alice, bob, sender)
