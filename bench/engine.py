"""Per-task overhead of Baton vs raw LangGraph, measured in the same run.

Both run a 50-task sequential chain of no-op tasks on a file SqliteSaver (WAL, same
synchronous pragma) with `durability="sync"`. Baton's tasks are `wait 0s` actions, so each
one goes through everything a real action does: precheck, ledger intent and result,
task transitions in the app database, and the checkpoint. The raw graph's nodes only return
their state update. Last line: `ratio=<baton per-task / raw per-task>`.

    python bench/engine.py [--tasks 50] [--repeat 16]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from baton.domain.incident import Incident
from baton.graph.state import RunState, initial_state
from baton.runbooks.loader import parse_runbook
from baton.runtime import build_runtime
from baton.settings import Settings

SYNCHRONOUS = "NORMAL"


def chain_yaml(n: int) -> str:
    lines = ["id: bench-chain", "title: Bench chain", "owner: bench", "tasks:"]
    for i in range(n):
        needs = f", needs: [t{i - 1}]" if i else ""
        lines.append(
            f"  - {{id: t{i}, type: action, title: T{i}, executor: wait,"
            f" params: {{seconds: 0}}{needs}}}"
        )
    return "\n".join(lines) + "\n"


def raw_graph(n: int, saver: SqliteSaver) -> Any:
    builder: StateGraph[RunState, Any, RunState, RunState] = StateGraph(RunState)

    def make(task_id: str) -> Any:
        def node(state: RunState) -> dict[str, Any]:
            return {"tasks": {task_id: {"status": "succeeded"}}}

        return node

    for i in range(n):
        builder.add_node(f"t{i}", make(f"t{i}"))
        builder.add_edge(START if i == 0 else f"t{i - 1}", f"t{i}")
    builder.add_edge(f"t{n - 1}", END)
    return builder.compile(checkpointer=saver)


def bench_raw(n: int, repeat: int, home: Path) -> list[float]:
    conn = sqlite3.connect(home / f"raw-{uuid.uuid4().hex}.sqlite", check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
    conn.execute(f"PRAGMA wal_autocheckpoint={Settings().sqlite_wal_autocheckpoint}")
    saver = SqliteSaver(conn)
    saver.setup()
    graph = raw_graph(n, saver)
    times = []
    for i in range(repeat + 1):
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        start = time.perf_counter()
        graph.invoke(initial_state(), config, durability="sync")
        if i:  # the first run warms up
            times.append((time.perf_counter() - start) / n)
    conn.close()
    return times


def bench_baton(n: int, repeat: int, home: Path) -> list[float]:
    loaded = parse_runbook(chain_yaml(n), "bench.yaml")
    incident = Incident(id="INC-BENCH", title="bench", service="bench")
    times = []
    settings = Settings(home=home / f"baton-{uuid.uuid4().hex}", sqlite_synchronous=SYNCHRONOUS)
    with build_runtime(settings) as rt:
        for i in range(repeat + 1):
            start = time.perf_counter()
            _, status = rt.runner.start(loaded, incident, requested_by="human:bench")
            if i:
                times.append((time.perf_counter() - start) / n)
            assert status == "succeeded", status
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=16)
    args = parser.parse_args()
    raw: list[float] = []
    baton: list[float] = []
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        # Interleave rounds so drift on a shared machine hits both sides alike.
        for _ in range(max(1, args.repeat // 4)):
            raw += bench_raw(args.tasks, 4, Path(tmp))
            baton += bench_baton(args.tasks, 4, Path(tmp))
    raw_ms, baton_ms = statistics.median(raw) * 1e3, statistics.median(baton) * 1e3
    wal = Settings().sqlite_wal_autocheckpoint
    print(
        f"tasks={args.tasks} repeat={args.repeat} sqlite WAL synchronous={SYNCHRONOUS}"
        f" wal_autocheckpoint={wal} (both sides) durability=sync"
    )
    print(f"raw langgraph  per task: {raw_ms:.3f} ms (min {min(raw) * 1e3:.3f})")
    print(f"baton          per task: {baton_ms:.3f} ms (min {min(baton) * 1e3:.3f})")
    print(f"baton adds     per task: {baton_ms - raw_ms:.3f} ms")
    print(f"ratio={baton_ms / raw_ms:.2f}")


if __name__ == "__main__":
    main()
