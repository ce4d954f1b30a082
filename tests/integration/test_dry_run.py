"""Dry-run mode (issue 12 item 11): the whole path runs for real except the effect; the
exact invocation is recorded; nothing counts as promotion evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.domain.incident import Incident
from baton.domain.status import RunStatus
from baton.runtime import build_runtime
from baton.store import action_ledger
from baton.store import promotion_ledger as pattern_store
from tests.conftest import PY, policy_settings, runbook

pytestmark = pytest.mark.integration


def test_a_dry_run_records_what_would_run_and_touches_nothing(tmp_path: Path) -> None:
    effect = tmp_path / "effect"
    settings = policy_settings(tmp_path, "people:\n  bob: [sre]\n").model_copy(
        update={"dry_run": True}
    )
    rb = runbook(
        f"""\
        id: dry
        title: Dry
        owner: sre
        tasks:
          - id: touch
            type: action
            title: Touch
            executor: command
            params: {{argv: ["{PY}", "-c", "open('{effect}', 'w')"]}}
        """
    )
    with build_runtime(settings) as rt:
        run_id, status = rt.runner.start(rb, Incident(title="x"), requested_by="human:alice")
        assert status is RunStatus.SUCCEEDED
        with rt.db.read() as session:
            entries = action_ledger.entries(session, run_id=run_id)
            evidence = pattern_store.standings(session)
    assert not effect.exists()
    assert entries[0].invocation["dry_run"] is True
    assert entries[0].invocation["argv"][-1] == f"open('{effect}', 'w')"
    assert entries[0].result is not None and entries[0].result["data"]["dry_run"] is True
    assert evidence == []
