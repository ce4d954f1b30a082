"""Audit append and verify throughput vs a raw SQLite insert of the same rows.

Appends go through `store.audit.append` (canonical JSON, SHA-256 chain, head lookup) on the
same kind of connection Baton's hot path uses; the baseline inserts the same columns with a
precomputed dummy hash. Both one event per transaction and 100 per transaction.
Last line: `ratio=<append rate / raw rate>` (one per transaction).

    python bench/audit.py [--events 5000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from baton.runtime import build_runtime
from baton.settings import Settings
from baton.store import audit

PAYLOAD = {
    "idempotency_key": "run_0123456789ab:rollback:1",
    "executor": "command",
    "idempotent": False,
    "invocation": {"params": {"argv": ["kubectl", "rollout", "undo", "deploy/checkout-api"]}},
}
RAW = (
    "INSERT INTO audit_events (seq, at, actor, kind, incident_id, run_id, task_id, item_id,"
    " pattern_id, status, payload, prev_hash, hash) VALUES (?, ?, ?, ?, NULL, ?, ?, NULL, NULL,"
    " ?, ?, ?, ?)"
)


def rate(n: int, seconds: float) -> float:
    return n / seconds


def bench(events: int, batch: int) -> tuple[float, float, float]:
    """(append events/s, raw insert rows/s, verify events/s)."""
    with tempfile.TemporaryDirectory(prefix="baton-bench-audit-") as tmp:
        with build_runtime(Settings(home=Path(tmp) / "a")) as rt:
            start = time.perf_counter()
            for first in range(0, events, batch):
                with rt.db.begin() as conn:
                    for _ in range(min(batch, events - first)):
                        audit.append(
                            conn,
                            actor="automation:command",
                            kind="task",
                            status="running",
                            payload=PAYLOAD,
                            run="run_0123456789ab",
                            task="rollback",
                        )
            appended = rate(events, time.perf_counter() - start)
            start = time.perf_counter()
            with rt.db.read() as session:
                verdict = audit.verify(session)
            verified = rate(verdict.events, time.perf_counter() - start)
            assert verdict.ok and verdict.events == events
        with build_runtime(Settings(home=Path(tmp) / "b")) as rt:
            text = audit.canonical_json(PAYLOAD)
            start = time.perf_counter()
            with rt.db.begin() as conn:  # warm the pooled connection
                pass
            raw = conn.dbapi  # type: ignore[union-attr]
            start = time.perf_counter()
            for first in range(0, events, batch):
                raw.execute("BEGIN IMMEDIATE")
                for seq in range(first + 1, min(first + batch, events) + 1):
                    raw.execute(
                        RAW,
                        (
                            seq,
                            "2026-11-27 06:00:00.000000",
                            "automation:command",
                            "task",
                            "run_0123456789ab",
                            "rollback",
                            "running",
                            text,
                            "0" * 64,
                            f"{seq:064x}",
                        ),
                    )
                raw.execute("COMMIT")
            inserted = rate(events, time.perf_counter() - start)
    return appended, inserted, verified


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    single = bench(args.events, 1)
    batched = bench(args.events, 100)
    print(f"events={args.events} sqlite WAL synchronous=NORMAL")
    print(f"append, 1 per txn:   {single[0]:>9,.0f}/s   raw insert: {single[1]:>9,.0f}/s")
    print(
        f"append, 100 per txn: {batched[0]:>9,.0f}/s   raw insert: {batched[1]:>9,.0f}/s"
        f"   ratio {batched[0] / batched[1]:.2f}"
    )
    print(f"verify: {max(single[2], batched[2]):,.0f} events/s")
    print(f"ratio={single[0] / single[1]:.2f}")


if __name__ == "__main__":
    main()
