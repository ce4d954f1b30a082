"""Truncation with the checkpoints gone, checkpoints anchored outside the database, and
verifying a read-only copy of a home (issue 12 items 3 and 5)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from baton.domain.incident import Incident
from baton.evidence import checkpoints
from baton.settings import Settings
from baton.store import audit
from baton.store.db import open_database_readonly
from tests.conftest import cli_env
from tests.integration.test_evidence import finish_a_run, report, unguard

pytestmark = pytest.mark.integration


def verify(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baton.cli.main", "audit", "verify", *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_deleting_the_tail_and_every_checkpoint_is_still_found(signed, incident, tmp_path):
    rt, signer = signed
    finish_a_run(rt, incident, tmp_path)
    with rt.db.read() as s:
        size = audit.latest_checkpoint(s).tree_size
    unguard(rt, f"DELETE FROM audit_events WHERE seq > {size - 3}", "DELETE FROM audit_checkpoints")
    result = report(rt, signer)
    assert result.chain.ok and not result.ok
    assert "no signed checkpoint, though a signing key exists" in str(result)


def test_an_anchor_outside_the_database_catches_what_the_database_lost(
    signed, incident: Incident, tmp_path: Path, settings: Settings
):
    rt, signer = signed
    finish_a_run(rt, incident, tmp_path)
    anchors = tmp_path / "anchors.jsonl"
    checkpoint_cli = subprocess.run(
        [sys.executable, "-m", "baton.cli.main", "audit", "checkpoint", "--out", str(anchors)],
        env=cli_env(settings.home),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "anchored in" in checkpoint_cli.stdout
    anchored = checkpoints.read_anchor(anchors)
    assert anchored is not None
    ok = verify(settings.home, "--anchor", str(anchors))
    assert ok.returncode == 0, ok.stderr
    # The attacker deletes the tail and every checkpoint, then signs nothing (no key access).
    unguard(
        rt,
        f"DELETE FROM audit_events WHERE seq > {anchored.tree_size - 2}",
        "DELETE FROM audit_checkpoints",
    )
    with rt.db.read() as s:
        found = checkpoints.check(s, signer.public, anchored)
    assert not found.ok and found.problem.startswith("truncated:")
    broken = verify(settings.home, "--anchor", str(anchors))
    assert broken.returncode == 1 and "truncated" in broken.stderr


def test_a_read_only_copy_of_a_home_verifies(signed, incident, tmp_path, settings, monkeypatch):
    rt, _ = signed
    finish_a_run(rt, incident, tmp_path)
    copy = tmp_path / "auditor-copy"
    shutil.copytree(settings.home, copy)

    def files() -> dict[Path, int]:  # SQLite's shared-memory index is no data: left out
        return {p: p.stat().st_mtime_ns for p in copy.rglob("*") if not p.name.endswith("-shm")}

    before = files()
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        result = verify(copy)
        assert result.returncode == 0, result.stderr
        assert "signed checkpoint at" in result.stdout
        # Nothing written, nothing created (no -wal/-shm, no lock, no schema work).
        assert files() == before
        # Where nobody may write (root may, so ask as if it could not): opened immutable.
        monkeypatch.setattr("baton.store.db.os.access", lambda *a, **k: False)
        db = open_database_readonly(Settings(home=copy))
        try:
            with db.read() as session:
                assert checkpoints.check(session, None).chain.ok
        finally:
            db.close()
        assert files() == before
    finally:
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
