"""The engine's own end-to-end tests, run again with app tables, LangGraph checkpoints and run
locks on a real PostgreSQL server: one database, two dialects, the same behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.settings import Settings
from tests.conftest import policy_settings
from tests.integration import (
    postgres,
    test_dry_run,
    test_engine,
    test_hot_path,
    test_ledger,
    test_patterns,
)
from tests.integration.test_ledger import run_id  # noqa: F401 (fixtures the tests use)
from tests.integration.test_patterns import PEOPLE, files, rt  # noqa: F401 (fixtures)

# Every test of these modules is collected here too, with the settings below: on PostgreSQL.
# (The audit trail's own PostgreSQL tests, tampering included, are test_audit_postgres.py.)
_SQLITE_ONLY = {"test_the_result_is_stored_as_canonical_json_and_digested_once"}  # reads sqlite3
for _module in (test_dry_run, test_engine, test_hot_path, test_ledger, test_patterns):
    globals().update(
        {k: v for k, v in vars(_module).items() if k.startswith("test_") and k not in _SQLITE_ONLY}
    )

pytestmark = [pytest.mark.integration, postgres.needed]


@pytest.fixture
def database_url(pg: postgres.Cluster) -> str:
    """A fresh database per test on the module's server."""
    return pg.database()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        retry_backoff_seconds=0,
        lock_timeout_seconds=10,
        allow_unverified_approvers=True,
    )


@pytest.fixture
def pattern_settings(database_url: str, tmp_path: Path) -> Settings:
    return policy_settings(tmp_path, PEOPLE).model_copy(update={"database_url": database_url})
