"""`baton db upgrade|current|history` as an operator meets them: plain messages, no
tracebacks, `--sql` changes nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from baton.store.db import create_db_engine, ensure_home
from baton.store.migrations import HEAD, baseline
from tests.integration.test_crash import baton

pytestmark = pytest.mark.integration


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def old_home(home: Path) -> Path:
    """A home as the release before migrations left it."""
    ensure_home(home)
    engine = create_db_engine(f"sqlite:///{home / 'baton.sqlite'}")
    baseline.metadata.create_all(engine)
    with engine.begin() as conn:
        for statement in baseline.append_only_ddl("sqlite"):
            conn.execute(text(statement))
    engine.dispose()
    return home / "baton.sqlite"


def test_current_upgrade_and_history_on_a_new_home(home: Path) -> None:
    assert "empty" in baton(home, "db", "current").stdout
    assert not (home / "baton.sqlite").exists()  # reading where it stands creates nothing
    sql = baton(home, "db", "upgrade", "--sql").stdout
    assert sql.startswith("BEGIN;") and sql.rstrip().endswith("COMMIT;")
    assert "CREATE TRIGGER IF NOT EXISTS audit_events_no_update" in sql
    assert not (home / "baton.sqlite").exists()
    assert f"upgraded empty -> {HEAD}" in baton(home, "db", "upgrade").stdout
    assert f"already at head ({HEAD})" in baton(home, "db", "upgrade").stdout
    state = json.loads(baton(home, "db", "current", "--json").stdout)
    assert state == {
        "revision": HEAD,
        "head": HEAD,
        "at_head": True,
        "predates_migrations": False,
    }
    quiet = baton(home, "db", "upgrade", "--sql")
    assert quiet.stdout == "" and "already at head" in quiet.stderr
    history = baton(home, "db", "history").stdout
    assert f"-> {HEAD} (head): " in history and "<base> -> 0001: Baseline" in history


def test_an_old_home_is_adopted_on_purpose(home: Path) -> None:
    old_home(home)
    assert "made before migrations" in baton(home, "db", "current").stdout
    stamp = baton(home, "db", "upgrade", "--sql")
    assert "INSERT INTO alembic_version" in stamp.stdout and "CREATE TABLE runs" not in stamp.stdout
    assert "only stamps" in stamp.stderr
    assert "checked and stamped 0001" in baton(home, "db", "upgrade").stdout
    assert json.loads(baton(home, "db", "current", "--json").stdout)["at_head"] is True


def test_an_old_home_unlike_the_baseline_is_a_clean_error(home: Path) -> None:
    path = old_home(home)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE runs ADD COLUMN extra INTEGER")
    for args in (("db", "upgrade"), ("runs", "list")):  # every command opens the database
        proc = baton(home, *args, check=False)
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert "error (storage_error)" in proc.stderr
        assert "unexpected column runs.extra" in proc.stderr
    assert "made before migrations" in baton(home, "db", "current").stdout


def test_a_database_from_a_newer_release_is_named(home: Path) -> None:
    baton(home, "db", "upgrade")
    with sqlite3.connect(home / "baton.sqlite") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    proc = baton(home, "runs", "list", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "at revision 9999, which this Baton does not know" in proc.stderr
    assert "9999: newer than this Baton" in baton(home, "db", "current").stdout
