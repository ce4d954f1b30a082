"""Where the floor of bench/engine.py's ratio is: Baton with parts of an action taken away.

Runs the same 50-task chain as bench/engine.py, one run at a time alternating with raw
LangGraph (so drift on a shared machine hits every variant alike), in these variants:

- `baton`: as shipped;
- `lean`: every action does the same work (the same rows, JSON, hashes, envelopes), written
  inline with positional SQL: what the store's layering costs;
- `sql-only`: every action writes the same rows in the same two transactions with
  precomputed values and no Python work: the floor for this schema and these guarantees;
- `no-action`: actions do nothing at all: the graph, the runner and the node code.

Swapping the action for a measurement replaces `baton.graph.nodes.perform`, so it measures
exactly the code bench/engine.py runs minus that call. Per variant: median ms per task,
the raw median measured alongside, and their ratio.

    python bench/engine_floor.py [--runs 30] [--variants baton,lean,sql-only,no-action]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baton.domain.envelope import ActionResult, ResultStatus
from baton.domain.incident import Incident
from baton.graph import actions, nodes
from baton.graph.state import initial_state
from baton.runbooks.loader import parse_runbook
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import audit, jsontext
from baton.tools.executors.base import ExecutionContext
from engine import SYNCHRONOUS, chain_yaml, open_raw

_LEDGER_INTENT = (
    "INSERT INTO action_ledger (key, run_id, task_id, attempt, executor, idempotent,"
    " invocation, state, result, intent_at, completed_at, reexecutions)"
    " VALUES (?, ?, ?, 1, ?, ?, ?, 'intent', NULL, ?, NULL, 0)"
    " ON CONFLICT (run_id, task_id, attempt) DO NOTHING"
)
_TASK_RUNNING = (
    "UPDATE task_executions SET status = 'running', actor = ?, updated_at = ?, attempt = 1,"
    " started_at = COALESCE(started_at, ?) WHERE run_id = ? AND task_id = ?"
)
_EVENT = (
    "INSERT INTO audit_events (seq, at, actor, kind, incident_id, run_id, task_id, item_id,"
    " pattern_id, status, payload, prev_hash, hash)"
    " VALUES (?, ?, ?, 'task', NULL, ?, ?, NULL, NULL, ?, ?, ?, ?)"
)
_LEDGER_RESULT = (
    "UPDATE action_ledger SET state = 'completed', result = ?, completed_at = ?"
    " WHERE run_id = ? AND task_id = ? AND attempt = 1"
)
_TASK_DONE = (
    "UPDATE task_executions SET status = ?, actor = ?, updated_at = ?, finished_at = ?,"
    " output = ?, error = ? WHERE run_id = ? AND task_id = ?"
)
_T = "2026-01-01 00:00:00.000000"
_H = "0" * 64
_PAYLOAD = (
    '{"attempt":1,"executor":"wait","idempotency_key":"run_0123456789ab:t10:1",'
    '"idempotent":true,"invocation":{"seconds":0.0}}'
)
_OUTPUT = '{"due_at":"2026-01-01T00:00:00+00:00","waited_seconds":0.0}'
_INVOCATION = '{"due_at":"2026-01-01T00:00:00+00:00","seconds":0.0,"timeout":null}'
_RESULT = f'{{"data":{_OUTPUT},"error":null,"invocation":{_INVOCATION},"status":"succeeded"}}'
_OK = ActionResult(status=ResultStatus.SUCCEEDED)

Perform = Callable[..., actions.Outcome]


def _open(raw: Any) -> tuple[Any, datetime, str, str]:
    """BEGIN IMMEDIATE, the chain head, one timestamp: what every hot transaction starts with."""
    c = raw.dbapi
    c.execute("BEGIN IMMEDIATE")
    version = c.execute("PRAGMA data_version").fetchone()[0]
    if version != raw.data_version:
        raw.audit_head, raw.data_version = None, version
    if raw.audit_head is None:
        head = c.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        raw.audit_head = tuple(head.fetchone())
    now = datetime.now(UTC)
    text = now.replace(tzinfo=None).isoformat(" ", "microseconds")
    return c, now, text, f"{text[:10]}T{text[11:]}Z"


def _event(
    raw: Any, at: tuple[str, str], who: tuple[str, str, str], status: str, text: str
) -> None:
    """Append a `task` event: `at` is (SQLite text, RFC 3339), `who` is (actor, run, task)."""
    actor, run, task = who
    seq, prev = raw.audit_head[0] + 1, raw.audit_head[1]
    event = audit._canonical(seq, at[1], actor, "task", None, None, None, run, task, status, text)
    digest = hashlib.sha256(prev.encode() + event.encode()).hexdigest()
    raw.dbapi.execute(_EVENT, (seq, at[0], actor, run, task, status, text, prev, digest))
    raw.audit_head = (seq, digest)


def lean(runtime: Runtime) -> Perform:
    def perform(
        deps: Any, *, run_id: str, step: Any, executor: Any, params: Any, **_: Any
    ) -> actions.Outcome:
        raw = deps.db._borrow()
        try:
            invocation = executor.describe(params)
            idempotent = executor.is_idempotent(params)
            task, actor = step.task_id, step.actor
            who = (actor, run_id, task)
            key = f"{run_id}:{task}:1"
            c, now, text, rfc = _open(raw)
            c.execute(
                _LEDGER_INTENT,
                (key, run_id, task, step.executor, idempotent, jsontext.plain(invocation), text),
            )
            c.execute(_TASK_RUNNING, (actor, text, text, run_id, task))
            detail = {
                "attempt": 1,
                "executor": step.executor,
                "idempotency_key": key,
                "idempotent": idempotent,
                "invocation": invocation,
            }
            _event(raw, (text, rfc), who, "running", audit.canonical_json(detail))
            c.execute("COMMIT")
            ctx = ExecutionContext(
                run_id=run_id,
                task_id=task,
                attempt=1,
                idempotency_key=key,
                intent_at=now,
                timeout=step.timeout,
            )
            result = executor.execute(params, ctx)
            status = result.status.value
            data = audit.canonical_json(result.data)
            stored = (
                f'{{"data":{data},"error":{audit.canonical_json(result.error)},'
                f'"invocation":{audit.canonical_json(result.invocation)},"status":"{status}"}}'
            )
            c, now, text, rfc = _open(raw)
            c.execute(_LEDGER_RESULT, (stored, text, run_id, task))
            c.execute(_TASK_DONE, (status, actor, text, text, data, result.error, run_id, task))
            evidence = {
                "idempotency_key": key,
                "result": status,
                "invocation": result.invocation,
                "output_digest": audit.digest(data),
            }
            _event(raw, (text, rfc), who, status, audit.canonical_json(evidence))
            c.execute("COMMIT")
        finally:
            deps.db._idle.put(raw)
        return actions.Outcome(result, 1)

    return perform


def sql_only(runtime: Runtime) -> Perform:
    def perform(deps: Any, *, run_id: str, step: Any, **_: Any) -> actions.Outcome:
        raw = deps.db._borrow()
        task, actor = step.task_id, step.actor
        who = (actor, run_id, task)
        try:
            c, _now, _text, _rfc = _open(raw)
            c.execute(_LEDGER_INTENT, (f"{run_id}:{task}:1", run_id, task, "wait", 1, "{}", _T))
            c.execute(_TASK_RUNNING, (actor, _T, _T, run_id, task))
            _event(raw, (_T, _T), who, "running", _PAYLOAD)
            c.execute("COMMIT")
            c, _now, _text, _rfc = _open(raw)
            c.execute(_LEDGER_RESULT, (_RESULT, _T, run_id, task))
            c.execute(_TASK_DONE, ("succeeded", actor, _T, _T, _OUTPUT, None, run_id, task))
            _event(raw, (_T, _T), who, "succeeded", _PAYLOAD)
            c.execute("COMMIT")
        finally:
            deps.db._idle.put(raw)
        return actions.Outcome(_OK, 1)

    return perform


def no_action(runtime: Runtime) -> Perform:
    def perform(*_: Any, **__: Any) -> actions.Outcome:
        return actions.Outcome(_OK, 1)

    return perform


VARIANTS: dict[str, Callable[[Runtime], Perform] | None] = {
    "baton": None,
    "lean": lean,
    "sql-only": sql_only,
    "no-action": no_action,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30, help="measured runs per variant")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    n, names = args.tasks, args.variants.split(",")
    loaded = parse_runbook(chain_yaml(n), "bench.yaml")
    incident = Incident(id="INC-BENCH", title="bench", service="bench")
    shipped = nodes.perform
    times: dict[str, tuple[list[float], list[float]]] = {v: ([], []) for v in names}
    with tempfile.TemporaryDirectory(prefix="baton-floor-") as tmp:
        home = Path(tmp)
        for round_ in range(max(1, args.runs // 5)):
            for name in names:
                graph, conn = open_raw(n, home / f"raw-{uuid.uuid4().hex}.sqlite")
                settings = Settings(home=home / f"{name}-{round_}", sqlite_synchronous=SYNCHRONOUS)
                with build_runtime(settings) as rt:
                    make = VARIANTS[name]
                    nodes.perform = shipped if make is None else make(rt)  # type: ignore[assignment]
                    for i in range(6):  # the first of each kind warms up
                        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
                        start = time.perf_counter()
                        graph.invoke(initial_state(), config, durability="sync")
                        raw = (time.perf_counter() - start) / n
                        start = time.perf_counter()
                        _, status = rt.runner.start(loaded, incident, requested_by="human:bench")
                        baton = (time.perf_counter() - start) / n
                        assert status == "succeeded", status
                        if i:
                            times[name][0].append(raw)
                            times[name][1].append(baton)
                    if name in ("baton", "lean"):  # they write real records: check them
                        with rt.db.read() as session:
                            assert audit.verify(session).ok, name
                nodes.perform = shipped  # type: ignore[assignment]
                conn.close()
    for name in names:
        raw_ms = statistics.median(times[name][0]) * 1e3
        baton_ms = statistics.median(times[name][1]) * 1e3
        print(f"{name:10} {baton_ms:.3f} ms/task  raw {raw_ms:.3f}  ratio={baton_ms / raw_ms:.2f}")


if __name__ == "__main__":
    main()
