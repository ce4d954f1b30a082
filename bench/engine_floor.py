"""The engine ratio restated against its floor: raw LangGraph plus the commits ADR 0002 requires.

bench/engine.py compares Baton with raw LangGraph, whose nodes write nothing. But ADR 0002
requires two commits per action that raw LangGraph never makes: the ledger intent (with the
task's `running` transition and its audit event) before the effect, and the result (with
the final transition and its audit event) after. The floor is raw LangGraph with exactly
those two commits added, so `baton / floor` is what Baton's own code costs on top of what
any runtime with these guarantees must pay. Sides, on the same 50-task chain:

- `raw`: bench/engine.py's raw chain (file SqliteSaver, Baton's pragmas, `durability="sync"`);
- `floor`: the same raw chain, each node also committing twice to an app database with
  Baton's schema (made by Baton, run rows created by `Runner.create` before the clock
  starts) on a connection of its own with Baton's pragmas (`prepare_sqlite`: WAL,
  synchronous NORMAL, the same wal_autocheckpoint): `BEGIN IMMEDIATE`, ledger intent
  INSERT, task UPDATE, audit event INSERT, `COMMIT`; then `BEGIN IMMEDIATE`, ledger result
  UPDATE, task UPDATE, audit event INSERT, `COMMIT`. Values are precomputed: no Python work
  but the statements;
- `baton`: bench/engine.py's Baton side (the chain as `wait 0s` actions);
- optionally (`--variants`), Baton with parts of an action taken away, by replacing
  `baton.graph.nodes.perform` (ADR 0003's table): `lean` (every action's work inlined with
  positional SQL), `sql-only` (the same rows in the same two transactions, no Python work,
  inside Baton's graph), `no-action` (the graph, the runner and the node code only).

Each round starts on fresh files and runs every side once to warm up, then alternates
single runs of all sides (the order rotates each time), so drift on a shared machine hits
every side alike. A round's ratio is the median of its per-run ratios; the figure is the
median over rounds. Last lines: `engine_ratio=<baton / raw>` (bench/engine.py's measure,
target <= 1.8 as a regression guard), then `ratio=<baton / floor>` (target <= 1.2).

    python bench/engine_floor.py [--rounds 8] [--runs 10] [--variants baton,lean,sql-only,no-action]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver

from baton.domain.envelope import ActionResult, ResultStatus
from baton.domain.incident import Incident
from baton.graph import actions, nodes
from baton.graph.state import RunState, initial_state
from baton.runbooks.loader import LoadedRunbook, parse_runbook
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import audit, jsontext
from baton.store.db import prepare_sqlite
from baton.tools.executors.base import ExecutionContext
from engine import SYNCHRONOUS, chain, chain_yaml, open_raw

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
_HEAD = "SELECT COALESCE(MAX(seq), 0) FROM audit_events"
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

Perform = Callable[..., actions.Performed]


def _open(raw: Any) -> tuple[Any, datetime, str, str]:
    """BEGIN IMMEDIATE, the chain head, one timestamp: what every hot transaction starts with."""
    c = raw.dbapi
    c.execute("BEGIN IMMEDIATE")  # the head cached as Baton caches it (one writer here)
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
    ) -> actions.Performed:
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
        return actions.Performed(result, 1)

    return perform


def sql_only(runtime: Runtime) -> Perform:
    def perform(deps: Any, *, run_id: str, step: Any, **_: Any) -> actions.Performed:
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
        return actions.Performed(_OK, 1)

    return perform


def no_action(runtime: Runtime) -> Perform:
    def perform(*_: Any, **__: Any) -> actions.Performed:
        return actions.Performed(_OK, 1)

    return perform


VARIANTS: dict[str, Callable[[Runtime], Perform] | None] = {
    "baton": None,
    "lean": lean,
    "sql-only": sql_only,
    "no-action": no_action,
}
SHIPPED: Perform = nodes.perform  # type: ignore[attr-defined]
INCIDENT = Incident(id="INC-BENCH", title="bench", service="bench")


def use(perform: Perform) -> None:
    """Make every action node call `perform` (nodes look it up at each call)."""
    nodes.perform = perform  # type: ignore[attr-defined]


# ---- the floor: raw LangGraph plus an action's two commits ------------------------------


def floor_graph(n: int, saver: SqliteSaver, app: sqlite3.Connection, seq: list[int]) -> Any:
    """bench/engine.py's raw chain whose nodes commit an action's intent and result to
    `app`; `seq` holds the audit chain's last sequence number."""

    def make(task: str) -> Any:
        def node(state: RunState, config: RunnableConfig) -> dict[str, Any]:
            run, actor = config["configurable"]["thread_id"], "automation:wait"
            app.execute("BEGIN IMMEDIATE")  # the intent, with the task's `running` transition
            app.execute(_LEDGER_INTENT, (f"{run}:{task}:1", run, task, "wait", 1, _INVOCATION, _T))
            app.execute(_TASK_RUNNING, (actor, _T, _T, run, task))
            seq[0] += 1
            app.execute(_EVENT, (seq[0], _T, actor, run, task, "running", _PAYLOAD, _H, _H))
            app.execute("COMMIT")
            app.execute("BEGIN IMMEDIATE")  # the result, with the task's final transition
            app.execute(_LEDGER_RESULT, (_RESULT, _T, run, task))
            app.execute(_TASK_DONE, ("succeeded", actor, _T, _T, _OUTPUT, None, run, task))
            seq[0] += 1
            app.execute(_EVENT, (seq[0], _T, actor, run, task, "succeeded", _PAYLOAD, _H, _H))
            app.execute("COMMIT")
            return {"tasks": {task: {"status": "succeeded"}}}

        return node

    return chain(n, make, saver)


class Floor:
    """The floor side: its own checkpoint file and app database, one run per call."""

    def __init__(self, n: int, home: Path, loaded: LoadedRunbook, stack: ExitStack) -> None:
        self.n, self.loaded = n, loaded
        settings = Settings(home=home, sqlite_synchronous=SYNCHRONOUS)
        # Baton makes the schema and, before each timed run, the run's rows (Runner.create).
        self.rt = stack.enter_context(build_runtime(settings))
        self.app = sqlite3.connect(settings.sqlite_path, check_same_thread=False)
        stack.callback(self.app.close)
        prepare_sqlite(
            self.app,
            settings.sqlite_synchronous,
            settings.sqlite_wal_autocheckpoint,
            settings.sqlite_busy_timeout_ms,
        )
        self.seq = [0]
        raw, conn = open_raw(n, home / "floor-checkpoints.sqlite")  # for its SqliteSaver
        stack.callback(conn.close)
        self.graph = floor_graph(n, raw.checkpointer, self.app, self.seq)

    def once(self) -> float:
        run_id = self.rt.runner.create(self.loaded, INCIDENT, requested_by="human:bench")
        self.seq[0] = self.app.execute(_HEAD).fetchone()[0]  # creating a run appends events
        config = {"configurable": {"thread_id": run_id}}
        start = time.perf_counter()
        self.graph.invoke(initial_state(), config, durability="sync")
        return (time.perf_counter() - start) / self.n


class Raw:
    def __init__(self, n: int, home: Path, stack: ExitStack) -> None:
        self.n = n
        self.graph, conn = open_raw(n, home / "raw.sqlite")
        stack.callback(conn.close)

    def once(self) -> float:
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        start = time.perf_counter()
        self.graph.invoke(initial_state(), config, durability="sync")
        return (time.perf_counter() - start) / self.n


class Baton:
    """Baton as shipped, or one of the variants with part of an action taken away."""

    def __init__(
        self, n: int, home: Path, loaded: LoadedRunbook, variant: str, stack: ExitStack
    ) -> None:
        self.n, self.loaded, self.variant = n, loaded, variant
        settings = Settings(home=home, sqlite_synchronous=SYNCHRONOUS)
        self.rt = stack.enter_context(build_runtime(settings))
        make = VARIANTS[variant]
        self.perform = SHIPPED if make is None else make(self.rt)

    def once(self) -> float:
        use(self.perform)
        try:
            start = time.perf_counter()
            _, status = self.rt.runner.start(self.loaded, INCIDENT, requested_by="human:bench")
            elapsed = (time.perf_counter() - start) / self.n
        finally:
            use(SHIPPED)
        assert status == "succeeded", status
        return elapsed

    def check(self) -> None:
        """The variants that write real records must leave a valid audit chain."""
        if self.variant in ("baton", "lean"):
            with self.rt.db.read() as session:
                assert audit.verify(session).ok, self.variant


Side = Raw | Floor | Baton


def one_round(
    n: int, runs: int, variants: list[str], loaded: LoadedRunbook
) -> dict[str, list[float]]:
    """Seconds per task of every side's runs in one round on fresh files."""
    with tempfile.TemporaryDirectory(prefix="baton-floor-") as tmp, ExitStack() as stack:
        home = Path(tmp)
        sides: dict[str, Side] = {
            "raw": Raw(n, home, stack),
            "floor": Floor(n, home / "floor", loaded, stack),
        }
        for variant in variants:
            sides[variant] = Baton(n, home / variant, loaded, variant, stack)
        for side in sides.values():  # warm up
            side.once()
        times: dict[str, list[float]] = {name: [] for name in sides}
        order = list(sides)
        for i in range(runs):
            for name in order[i % len(order) :] + order[: i % len(order)]:
                times[name].append(sides[name].once())
        for side in sides.values():
            if isinstance(side, Baton):
                side.check()
    return times


def paired(times: dict[str, list[float]], top: str, bottom: str) -> float:
    """Median of the per-run ratios `top / bottom` of one round."""
    return statistics.median(t / b for t, b in zip(times[top], times[bottom], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=8, help="rounds on fresh files")
    parser.add_argument("--runs", type=int, default=10, help="measured runs per side and round")
    parser.add_argument("--variants", default="baton", help=f"Baton sides, of {','.join(VARIANTS)}")
    args = parser.parse_args()
    n, variants = args.tasks, args.variants.split(",")
    unknown = set(variants) - set(VARIANTS)
    if unknown or "baton" not in variants:
        parser.error(f"--variants: must include baton, may add {', '.join(VARIANTS)}")
    loaded = parse_runbook(chain_yaml(n), "bench.yaml")
    rounds = [one_round(n, args.runs, variants, loaded) for _ in range(args.rounds)]

    wal = Settings().sqlite_wal_autocheckpoint
    print(
        f"tasks={n} rounds={args.rounds} runs={args.runs} per side and round; sqlite WAL"
        f" synchronous={SYNCHRONOUS} wal_autocheckpoint={wal} (all sides) durability=sync"
    )
    print("floor = raw LangGraph + 2 commits per task (ledger, task, audit rows; ADR 0002)")
    print()
    names = ["raw", "floor", *variants]
    print(f"{'side':<10} {'ms/task':>8}   per round (median ms/task)")
    for name in names:
        per_round = [statistics.median(r[name]) * 1e3 for r in rounds]
        cells = " ".join(f"{v:.3f}" for v in per_round)
        print(f"{name:<10} {statistics.median(per_round):>8.3f}   {cells}")
    print()
    print(f"{'ratio':<16} {'median':>6}   per round (median of paired ratios)")
    figures: dict[str, float] = {}
    pairs = [("floor", "raw")] + [(v, b) for v in variants for b in ("raw", "floor")]
    for top, bottom in pairs:
        per_round = [paired(r, top, bottom) for r in rounds]
        figures[f"{top}/{bottom}"] = statistics.median(per_round)
        cells = " ".join(f"{v:.2f}" for v in per_round)
        print(f"{top + '/' + bottom:<16} {figures[f'{top}/{bottom}']:>6.2f}   {cells}")
    print()
    print("targets: baton/floor <= 1.2; baton/raw (bench/engine.py's ratio) <= 1.8")
    print(f"engine_ratio={figures['baton/raw']:.2f}")
    print(f"ratio={figures['baton/floor']:.2f}")


if __name__ == "__main__":
    main()
