"""An argv item rendered from data into an option is refused at run time (issue 12 item 8)."""

from __future__ import annotations

import pytest

from baton.domain.incident import Incident
from baton.domain.status import RunStatus
from baton.runtime import Runtime
from baton.store import runs as run_store
from tests.conftest import PY, runbook

pytestmark = pytest.mark.integration


def test_a_title_that_renders_into_an_option_never_runs(runtime: Runtime, tmp_path) -> None:
    marker = tmp_path / "ran"
    rb = runbook(
        f"""\
        id: opt
        title: Opt
        owner: sre
        tasks:
          - id: say
            type: action
            title: Say
            executor: command
            params: {{argv: ["{PY}", "-c", "open('{marker}', 'w')", "{{{{ incident.title }}}}"]}}
        """
    )
    hostile = Incident(id="INC-OPT", title="--rm-everything")
    run_id, status = runtime.runner.start(rb, hostile, requested_by="human:alice")
    assert status is RunStatus.FAILED
    with runtime.db.read() as session:
        task = run_store.get_task(session, run_id=run_id, task_id="say")
    assert "option injection" in (task.error or "")
    assert not marker.exists()
    fine = Incident(id="INC-OK", title="checkout down")
    assert runtime.runner.start(rb, fine, requested_by="human:alice")[1] is RunStatus.SUCCEEDED
    assert marker.exists()
