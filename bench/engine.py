"""Per-task overhead of Baton vs raw LangGraph, measured in the same run.

Both run a 50-task sequential chain of no-op tasks on a file SqliteSaver (WAL, same
synchronous pragma) with `durability="sync"`. Baton's tasks are `wait 0s` actions, so each
one goes through everything a real action does: precheck, ledger intent and result,
task transitions in the app database, and the checkpoint. The raw graph's nodes only return
their state update. Last line: `ratio=<baton per-task / raw per-task>`.

Raw and Baton runs alternate one by one; the ratio is the median over those pairs (a
shared machine's drift hits both runs of a pair alike), with its quartiles.

    python bench/engine.py [--tasks 50] [--repeat 32]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
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


def chain(n: int, make: Any, saver: Any) -> Any:
    """A compiled chain t0 -> ... -> t{n-1} of `make(task_id)` nodes, checkpointed by `saver`."""
    builder: StateGraph[RunState, Any, RunState, RunState] = StateGraph(RunState)
    for i in range(n):
        builder.add_node(f"t{i}", make(f"t{i}"))
        builder.add_edge(START if i == 0 else f"t{i - 1}", f"t{i}")
    builder.add_edge(f"t{n - 1}", END)
    return builder.compile(checkpointer=saver)


def raw_graph(n: int, saver: SqliteSaver) -> Any:
    def make(task_id: str) -> Any:
        def node(state: RunState) -> dict[str, Any]:
            return {"tasks": {task_id: {"status": "succeeded"}}}

        return node

    return chain(n, make, saver)


def open_raw(n: int, path: Path, wal_autocheckpoint: int | None = None) -> tuple[Any, Any]:
    """(graph, connection): the raw chain on a file SqliteSaver with Baton's pragmas."""
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
    pages = wal_autocheckpoint or Settings().sqlite_wal_autocheckpoint
    conn.execute(f"PRAGMA wal_autocheckpoint={pages}")
    saver = SqliteSaver(conn)
    saver.setup()
    return raw_graph(n, saver), conn


class RawSide:
    """Raw LangGraph: the chain on a file SqliteSaver, one run per call."""

    def __init__(self, n: int, home: Path) -> None:
        self.n = n
        self.graph, self.conn = open_raw(n, home / "raw.sqlite")

    def once(self) -> float:
        """Seconds per task of one run."""
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        start = time.perf_counter()
        self.graph.invoke(initial_state(), config, durability="sync")
        return (time.perf_counter() - start) / self.n


class BatonSide:
    """Baton: the same chain as a runbook of `wait 0s` actions, one run per call."""

    def __init__(self, n: int, home: Path, stack: ExitStack) -> None:
        self.n = n
        self.loaded = parse_runbook(chain_yaml(n), "bench.yaml")
        self.incident = Incident(id="INC-BENCH", title="bench", service="bench")
        settings = Settings(home=home / "baton", sqlite_synchronous=SYNCHRONOUS)
        self.rt = stack.enter_context(build_runtime(settings))

    def once(self) -> float:
        start = time.perf_counter()
        _, status = self.rt.runner.start(self.loaded, self.incident, requested_by="human:bench")
        elapsed = (time.perf_counter() - start) / self.n
        assert status == "succeeded", status
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=32, help="measured runs per side")
    args = parser.parse_args()
    raw: list[float] = []
    baton: list[float] = []
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp, ExitStack() as stack:
        raw_side = RawSide(args.tasks, Path(tmp))
        stack.callback(raw_side.conn.close)
        baton_side = BatonSide(args.tasks, Path(tmp), stack)
        raw_side.once(), baton_side.once()  # warm up both
        # Alternate single runs: drift on a shared machine hits each pair alike.
        for _ in range(args.repeat):
            raw.append(raw_side.once())
            baton.append(baton_side.once())
    pairs = sorted(b / r for r, b in zip(raw, baton, strict=True))
    q1, median, q3 = statistics.quantiles(pairs, n=4)
    raw_ms, baton_ms = statistics.median(raw) * 1e3, statistics.median(baton) * 1e3
    wal = Settings().sqlite_wal_autocheckpoint
    print(
        f"tasks={args.tasks} repeat={args.repeat} sqlite WAL synchronous={SYNCHRONOUS}"
        f" wal_autocheckpoint={wal} (both sides) durability=sync"
    )
    print(f"raw langgraph  per task: {raw_ms:.3f} ms (min {min(raw) * 1e3:.3f})")
    print(f"baton          per task: {baton_ms:.3f} ms (min {min(baton) * 1e3:.3f})")
    print(f"baton adds     per task: {baton_ms - raw_ms:.3f} ms")
    print(f"paired ratios: quartiles {q1:.2f} / {median:.2f} / {q3:.2f}")
    print(f"ratio={median:.2f}")


if __name__ == "__main__":
    main()
