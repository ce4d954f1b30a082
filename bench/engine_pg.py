"""Per-task overhead of Baton vs raw LangGraph on PostgreSQL, measured in the same run.

bench/engine.py on PostgreSQL: both sides run the same 50-task sequential chain with
`durability="sync"` on one throwaway server (tests/integration/postgres.py: Debian's binaries,
`fsync=off`, loopback TCP), each on a fresh database of its own.

- raw: LangGraph's `PostgresSaver` on a psycopg pool opened as Baton opens its own
  (autocommit, no prepared statements, dict rows); the nodes only return their state update.
- baton: `build_runtime` with `BATON_DATABASE_URL` on the server (app tables and
  checkpoints there, run locks as advisory locks) and the chain as a runbook of `wait 0s`
  actions, so each task goes through everything a real action does: precheck, ledger
  intent and result, task transitions, audit events and the checkpoint.

- floor: the raw chain, each node also making the two calls ADR 0002 requires of an action
  on PostgreSQL, `baton_action_intent` then `baton_action_result` (migration 0005), on a
  connection of its own to a database Baton made (run rows created by `Runner.create` and
  every call's parameters built before the clock starts: no Python work but the calls).
  `baton / floor` is what Baton's own code costs over what any runtime with these
  guarantees on this server must pay (bench/engine_floor.py's floor, on PostgreSQL).

Raw, floor and Baton runs alternate one by one; a ratio is the median of the per-run ratios,
with its quartiles. `--statements` also loads pg_stat_statements and prints what each side
sends per task (statements, and their execution time on the server; BEGIN and COMMIT,
which Baton's hot path sends itself in its pipeline, and SQLAlchemy's pool pre-ping on
other paths, are not counted); it costs a little per statement, so it is off by default.
What the difference is made of: ADR 0004. `--fsync` measures with fsync=on. Last lines:
`floor_ratio=<baton / floor>`, then `ratio=<baton per-task / raw per-task>`.

    python bench/engine_pg.py [--tasks 50] [--repeat 32] [--fsync] [--statements]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from baton.domain.incident import Incident
from baton.domain.status import TaskStatus
from baton.graph.state import RunState, initial_state
from baton.runbooks.loader import parse_runbook
from baton.runtime import build_runtime
from baton.settings import Settings
from baton.store import action_steps, jsontext, sql
from baton.store.action_steps import Mark
from baton.store.sql import pg_statement
from engine import chain, chain_yaml, raw_graph

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.integration.postgres: the tests' throwaway server

from tests.integration import postgres  # noqa: E402

INCIDENT = Incident(id="INC-BENCH", title="bench", service="bench")
_STATEMENTS = (
    "SELECT calls, total_exec_time, query FROM pg_stat_statements"
    " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s) ORDER BY calls DESC"
)


def libpq(url: str) -> str:
    """A SQLAlchemy `postgresql+psycopg://` URL as libpq takes it."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


class RawSide:
    """Raw LangGraph: the chain on `PostgresSaver`, one run per call."""

    def __init__(self, n: int, url: str, pool_size: int, stack: ExitStack) -> None:
        self.n = n
        self.database = url.rsplit("/", 1)[1]
        kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        pool: ConnectionPool[Any] = ConnectionPool(
            libpq(url), kwargs=kwargs, min_size=1, max_size=pool_size, open=True
        )
        stack.callback(pool.close)
        saver = PostgresSaver(pool)
        saver.setup()
        self.graph = raw_graph(n, cast(Any, saver))

    def once(self) -> float:
        """Seconds per task of one run."""
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        start = time.perf_counter()
        self.graph.invoke(initial_state(), config, durability="sync")
        return (time.perf_counter() - start) / self.n


class FloorSide:
    """Raw LangGraph plus an action's two server-function calls per task, one run per call."""

    def __init__(self, n: int, url: str, pool_size: int, home: Path, stack: ExitStack) -> None:
        self.n = n
        self.database = url.rsplit("/", 1)[1]
        self.loaded = parse_runbook(chain_yaml(n), "bench.yaml")
        # Baton makes the schema (and its functions) and, before each timed run, the rows.
        self.rt = stack.enter_context(build_runtime(Settings(home=home, database_url=url)))
        self.app = psycopg.connect(libpq(url), autocommit=True, prepare_threshold=0)
        stack.callback(self.app.close)
        kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        pool: ConnectionPool[Any] = ConnectionPool(
            libpq(url), kwargs=kwargs, min_size=1, max_size=pool_size, open=True
        )
        stack.callback(pool.close)
        self.calls: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        intent, result = pg_statement(action_steps._INTENT), pg_statement(action_steps._RESULT)

        def make(task: str) -> Any:
            def node(state: RunState) -> dict[str, Any]:
                before, after = self.calls[task]
                self.app.execute(intent, before)
                self.app.execute(result, after)
                return {"tasks": {task: {"status": "succeeded"}}}

            return node

        self.graph = chain(n, make, PostgresSaver(pool))

    def once(self) -> float:
        run_id = self.rt.runner.create(self.loaded, INCIDENT, requested_by="human:bench")
        self.calls = {f"t{i}": calls(run_id, f"t{i}") for i in range(self.n)}
        config = {"configurable": {"thread_id": run_id}}
        start = time.perf_counter()
        self.graph.invoke(initial_state(), config, durability="sync")
        elapsed = (time.perf_counter() - start) / self.n
        done = self.app.execute(_DONE, (run_id,)).fetchone()
        assert done == (self.n,), f"the floor finished {done} of {self.n} tasks"
        return elapsed


_DONE = "SELECT count(*) FROM task_executions WHERE run_id = %s AND status = 'succeeded'"


def calls(run_id: str, task: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parameters of a `wait 0s` action's intent and result calls, as Baton sends them."""
    actor, key = "automation:wait", f"{run_id}:{task}:1"
    invocation = {"seconds": 0.0}
    detail = {"idempotency_key": key, "executor": "wait", "idempotent": True}
    running = Mark(task, actor, TaskStatus.RUNNING, "task", {**detail, "invocation": invocation}, 1)
    at = sql.now()
    intent = {
        "fence_run": None,
        "generation": None,
        "run": run_id,
        "ledger_task": task,
        "attempt": 1,
        "first": True,
        "key": key,
        "executor": "wait",
        "idempotent": True,
        "invocation": jsontext.plain(invocation),
        "at": at.at.replace(tzinfo=None),
        **action_steps._marked(at, run_id, running),
    }
    data = '{"due_at":"2026-01-01T00:00:00+00:00","waited_seconds":0.0}'
    evidence = {"idempotency_key": key, "result": "succeeded", "invocation": invocation}
    done = Mark(task, actor, TaskStatus.SUCCEEDED, "task", evidence, output_text=data)
    later, shown = sql.now(), jsontext.canonical(invocation)
    result = {
        "fence_run": None,
        "generation": None,
        "run": run_id,
        "ledger_task": task,
        "attempt": 1,
        "result": f'{{"data":{data},"error":null,"invocation":{shown},"status":"succeeded"}}',
        "at": later.at.replace(tzinfo=None),
        "output": data,
        "error": None,
        **action_steps._marked(later, run_id, done),
    }
    return intent, result


class BatonSide:
    """Baton on PostgreSQL: the same chain as a runbook of `wait 0s` actions."""

    def __init__(self, n: int, url: str, home: Path, stack: ExitStack) -> None:
        self.n = n
        self.database = url.rsplit("/", 1)[1]
        self.loaded = parse_runbook(chain_yaml(n), "bench.yaml")
        self.incident = INCIDENT
        self.settings = Settings(home=home, database_url=url)
        self.rt = stack.enter_context(build_runtime(self.settings))

    def once(self) -> float:
        start = time.perf_counter()
        _, status = self.rt.runner.start(self.loaded, self.incident, requested_by="human:bench")
        elapsed = (time.perf_counter() - start) / self.n
        assert status == "succeeded", status
        return elapsed


def statements(admin: str, database: str, tasks: int) -> list[str]:
    """What pg_stat_statements saw of `database`, per task: a summary and the top lines."""
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute(_STATEMENTS, (database,)).fetchall()
    calls = sum(int(r[0]) for r in rows) / tasks
    spent = sum(float(r[1]) for r in rows) / tasks * 1e3
    lines = [f"{calls:.2f} statements per task, {spent:.0f} us executing them on the server:"]
    for count, total, query in rows[:12]:
        text = " ".join(str(query).split())[:80]
        lines.append(
            f"  {int(count) / tasks:6.2f} x {float(total) / int(count) * 1e3:6.1f} us  {text}"
        )
    return lines


def settings_line(admin: str) -> str:
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('fsync'),"
            " current_setting('synchronous_commit')"
        ).fetchone()
    assert row is not None
    return f"PostgreSQL {row[0]} on loopback TCP (fsync={row[1]}, synchronous_commit={row[2]})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=32, help="measured runs per side")
    parser.add_argument(
        "--fsync", action="store_true", help="restart the server with fsync=on first"
    )
    parser.add_argument(
        "--statements", action="store_true", help="count statements with pg_stat_statements"
    )
    args = parser.parse_args()
    raw: list[float] = []
    floor: list[float] = []
    baton: list[float] = []
    seen: dict[str, list[str]] = {}
    with (
        postgres.cluster() as server,
        tempfile.TemporaryDirectory(prefix="baton-bench-pg-") as tmp,
        ExitStack() as stack,
    ):
        if args.fsync:  # the last `-c` of a setting wins
            server.options += " -c fsync=on"
        if args.statements:
            server.options += " -c shared_preload_libraries=pg_stat_statements"
        if args.fsync or args.statements:
            server.restart()
        admin = libpq(server.url)
        pool_size = Settings().postgres_pool_size
        raw_side = RawSide(args.tasks, server.database(), pool_size, stack)
        floor_side = FloorSide(args.tasks, server.database(), pool_size, Path(tmp) / "floor", stack)
        baton_side = BatonSide(args.tasks, server.database(), Path(tmp) / "baton", stack)
        raw_side.once(), floor_side.once(), baton_side.once()  # warm up every side
        if args.statements:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION pg_stat_statements")
                conn.execute("SELECT pg_stat_statements_reset()")
        # Alternate single runs: drift on a shared machine hits each pair alike.
        for _ in range(args.repeat):
            raw.append(raw_side.once())
            floor.append(floor_side.once())
            baton.append(baton_side.once())
        if args.statements:
            for name, side in (("raw", raw_side), ("floor", floor_side), ("baton", baton_side)):
                seen[name] = statements(admin, side.database, args.repeat * args.tasks)
        setup = settings_line(admin)
    q1, median, q3 = quartiles(baton, raw)
    raw_ms, baton_ms = statistics.median(raw) * 1e3, statistics.median(baton) * 1e3
    floor_ms = statistics.median(floor) * 1e3
    print(
        f"tasks={args.tasks} repeat={args.repeat} {setup}; durability=sync;"
        f" checkpoint pool of {pool_size} connections (both sides)"
    )
    print(f"raw langgraph  per task: {raw_ms:.3f} ms (min {min(raw) * 1e3:.3f})")
    print(f"floor          per task: {floor_ms:.3f} ms (min {min(floor) * 1e3:.3f})")
    print(f"baton          per task: {baton_ms:.3f} ms (min {min(baton) * 1e3:.3f})")
    print(
        f"baton adds     per task: {baton_ms - raw_ms:.3f} ms"
        f" ({baton_ms - floor_ms:.3f} over the floor)"
    )
    for name, lines in seen.items():
        print(f"{name}: {lines[0]}")
        print("\n".join(lines[1:]))
    f1, floor_median, f3 = quartiles(floor, raw)
    b1, over_floor, b3 = quartiles(baton, floor)
    print(f"floor / raw:  quartiles {f1:.2f} / {floor_median:.2f} / {f3:.2f}")
    print(f"baton / floor: quartiles {b1:.2f} / {over_floor:.2f} / {b3:.2f}")
    print(f"baton / raw:  quartiles {q1:.2f} / {median:.2f} / {q3:.2f}")
    print("target: ratio (baton / raw) <= 1.5 (moonshot 1.2)")
    print(f"floor_ratio={over_floor:.2f}")
    print(f"ratio={median:.2f}")


def quartiles(top: list[float], bottom: list[float]) -> list[float]:
    """Quartiles of the per-run ratios `top / bottom` (runs alternate, so pairs share drift)."""
    return statistics.quantiles(sorted(t / b for t, b in zip(top, bottom, strict=True)), n=4)


if __name__ == "__main__":
    main()
