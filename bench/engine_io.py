"""What bench/engine.py's chain writes to disk per task, Baton vs raw LangGraph.

Counts WAL frames (one 4 KiB page each, written as two `pwrite`s) per task in each SQLite
file, and commits per task, over runs of the same 50-task chain. Raw LangGraph writes
only its checkpoints; Baton writes the same checkpoints plus the app database (ledger
intent and result, two task transitions, two audit events, in two transactions).

    python bench/engine_io.py [--tasks 50] [--runs 20]
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from pathlib import Path

from baton.domain.incident import Incident
from baton.graph.state import initial_state
from baton.runbooks.loader import parse_runbook
from baton.runtime import build_runtime
from baton.settings import Settings
from engine import SYNCHRONOUS, chain_yaml, open_raw

_NO_CHECKPOINT = 10_000_000  # pages: keep every frame in the WAL so it can be counted


def _frame_size(data: bytes) -> int:
    """24-byte frame header + the page size the WAL header records (bytes 8..12)."""
    return 24 + int.from_bytes(data[8:12], "big")


def frames(wal: Path) -> int:
    """Frames in a WAL file that was never checkpointed (32-byte header, then frames)."""
    if not wal.exists():
        return 0
    with wal.open("rb") as f:
        header = f.read(32)
    return (wal.stat().st_size - 32) // _frame_size(header) if len(header) == 32 else 0


def raw_frames(n: int, runs: int, home: Path) -> float:
    path = home / f"raw-{uuid.uuid4().hex}.sqlite"
    graph, conn = open_raw(n, path, _NO_CHECKPOINT)
    graph.invoke(initial_state(), {"configurable": {"thread_id": "warm-up"}}, durability="sync")
    before = frames(Path(f"{path}-wal"))
    for _ in range(runs):
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        graph.invoke(initial_state(), config, durability="sync")
    after = frames(Path(f"{path}-wal"))
    conn.close()
    return (after - before) / (n * runs)


def baton_frames(n: int, runs: int, home: Path) -> tuple[float, float, float]:
    """(checkpoint frames, app frames, app commits) per task."""
    settings = Settings(
        home=home / f"baton-{uuid.uuid4().hex}",
        sqlite_synchronous=SYNCHRONOUS,
        sqlite_wal_autocheckpoint=_NO_CHECKPOINT,
    )
    loaded = parse_runbook(chain_yaml(n), "bench.yaml")
    incident = Incident(id="INC-BENCH", title="bench", service="bench")
    app_wal = Path(f"{settings.home / 'baton.sqlite'}-wal")
    checkpoint_wal = Path(f"{settings.checkpoint_path}-wal")
    with build_runtime(settings) as rt:
        rt.runner.start(loaded, incident, requested_by="human:bench")
        app, checkpoint = frames(app_wal), frames(checkpoint_wal)
        commits = _commit_frames(app_wal)
        for _ in range(runs):
            rt.runner.start(loaded, incident, requested_by="human:bench")
        per_task = n * runs
        return (
            (frames(checkpoint_wal) - checkpoint) / per_task,
            (frames(app_wal) - app) / per_task,
            (_commit_frames(app_wal) - commits) / per_task,
        )


def _commit_frames(wal: Path) -> int:
    """Frames that end a transaction (their header's 'database size' field is non-zero)."""
    data = wal.read_bytes()
    count = 0
    for offset in range(32, len(data) - 24 + 1, _frame_size(data)):
        if int.from_bytes(data[offset + 4 : offset + 8], "big"):
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baton-io-") as tmp:
        raw = raw_frames(args.tasks, args.runs, Path(tmp))
        checkpoint, app, commits = baton_frames(args.tasks, args.runs, Path(tmp))
    print(f"raw langgraph checkpoints: {raw:.1f} WAL frames per task")
    print(f"baton checkpoints:         {checkpoint:.1f} WAL frames per task")
    print(
        f"baton app database:        {app:.1f} WAL frames per task"
        f" in {commits:.2f} commits per task"
    )
    print(f"frames ratio={(checkpoint + app) / raw:.2f}")


if __name__ == "__main__":
    main()
