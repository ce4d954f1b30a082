"""Live task table while a run advances in a worker thread; the database is the source."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.live import Live

from baton.cli import views
from baton.cli.app import console
from baton.domain.status import RunStatus
from baton.runbooks.canonical import runbook_from_canonical
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store.db import Database

if TYPE_CHECKING:
    from baton.runtime import Runtime


@lru_cache(maxsize=16)
def task_order(db: Database, version: str) -> tuple[str, ...]:
    """Task ids in runbook order, from the stored version (no graph compiled); versions
    never change, so the live table reads it once, not on every refresh."""
    with db.read() as session:
        canonical = run_store.get_runbook_canonical(session, version=version)
    return tuple(t.id for t in runbook_from_canonical(canonical).tasks)


def render(db: Database, run_id: str) -> Any:
    with db.read() as session:
        run = run_store.get_run(session, run_id=run_id)
        tasks = run_store.task_executions(session, run_id=run_id)
        pending = [
            (i, item_store.decisions(session, item_id=i.id))
            for i in item_store.list_items(session, run_id=run_id)
        ]
    order = task_order(db, run.runbook_version)
    parts: list[Any] = [views.task_table(run, tasks, order)]
    if pending:
        parts.append(views.items_table(pending))
    return Group(*parts)


def follow(
    rt: Runtime, run_id: str, work: Callable[[], RunStatus], *, live: bool = True
) -> RunStatus:
    """Run `work` (which advances the run) while showing its tasks; re-raise its errors."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["status"] = work()
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name=f"advance-{run_id}", daemon=True)
    worker.start()
    if live:
        with Live(render(rt.db, run_id), console=console, refresh_per_second=8) as screen:
            while worker.is_alive():
                worker.join(0.125)
                screen.update(render(rt.db, run_id))
            # A refused answer or a failed start changed nothing: show only its error.
            screen.transient = "error" in outcome
    else:
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    status: RunStatus = outcome["status"]
    return status
