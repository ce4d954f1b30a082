"""Shared fixtures: a real runtime (SQLite + LangGraph SqliteSaver) in a temp BATON_HOME."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from baton.domain.incident import Incident
from baton.evidence.keys import Signer, init_keys
from baton.runbooks.loader import LoadedRunbook, parse_runbook
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store.db import Database, create_db_engine, init_schema

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Most engine tests are not about identity: they answer as named people, recorded as
    # unverified (tests/integration/test_identity_default.py covers the refusal).
    return Settings(
        home=tmp_path / "home",
        retry_backoff_seconds=0,
        lock_timeout_seconds=10,
        allow_unverified_approvers=True,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with build_runtime(settings) as rt:
        yield rt


@pytest.fixture
def signed(settings: Settings) -> Iterator[tuple[Runtime, Signer]]:
    """A runtime whose home has a signing key (finished runs leave signed checkpoints)."""
    signer = init_keys(settings.signing_key_path)
    with build_runtime(settings) as rt:
        yield rt, signer


@pytest.fixture(scope="session")
def pg() -> Iterator[Any]:
    """One real PostgreSQL server for the session (tests take a fresh database each)."""
    from tests.integration import postgres

    with postgres.cluster() as running:
        yield running


@pytest.fixture
def pg_store(pg: Any) -> Iterator[Database]:
    """The store, migrated, on a fresh database of the session's PostgreSQL server."""
    engine = create_db_engine(pg.database())
    init_schema(engine)
    database = Database(engine)
    yield database
    database.close()


@pytest.fixture
def incident() -> Incident:
    return Incident(
        id="INC-1", title="checkout 5xx", severity="high", service="checkout", cis=["checkout"]
    )


PATTERN_FIXTURES = REPO / "tests" / "fixtures" / "patterns"


def policy_settings(tmp_path: Path, people: str) -> Settings:
    """A home with a people directory (`people.yaml` text) and the test pattern catalog."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "people.yaml").write_text(people)
    return Settings(
        home=home, retry_backoff_seconds=0, lock_timeout_seconds=10, patterns_dir=PATTERN_FIXTURES
    )


def runbook(text: str, name: str = "test.yaml") -> LoadedRunbook:
    return parse_runbook(textwrap.dedent(text), name)


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "") -> object:
    """Poll until `predicate()` is truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")


def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_HOME=str(home),
        BATON_RETRY_BACKOFF_SECONDS="0",
        BATON_ALLOW_UNVERIFIED_APPROVERS="1",
        COLUMNS="200",
        NO_COLOR="1",
        PYTHONUNBUFFERED="1",
    )
    return env
