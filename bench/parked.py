"""10,000 runs parked at an approval gate: the memory of `baton worker` and `baton serve`.

One throwaway PostgreSQL server (tests/integration/postgres.py), one `baton serve` and one
`baton worker` on a fresh home whose runbook's first task is an approval gate
(tests/faults/parked.py). Runs are started through the API in steps; after each step the
bench waits until every run is parked at its gate (read from the database), lets the
worker's sweep go over them all a few times (the sweep reads every waiting run and pending
item: `--settle` seconds, at the given `--sweep` period), then prints VmRSS of both
processes (from /proc/<pid>/status). The CI-sized check is
tests/faults/test_parked_runs.py.

Last line: `parked=<N> worker_kib=<first>-><last> serve_kib=<first>-><last>
worker_b_per_run=<growth from the first step to the last, per run> serve_b_per_run=<…>`.

    python bench/parked.py [--runs 10000] [--steps 4] [--clients 4] [--concurrency 2]
                           [--sweep 1] [--settle 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.server and tests.integration.postgres, as the tests use them

from tests.faults.parked import GATE_FIRST, Parked, rss_kib, start_runs, wait_parked  # noqa: E402
from tests.integration import postgres  # noqa: E402
from tests.server import Server, ServerHome, Worker  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--sweep", type=float, default=1.0, help="sweep period, seconds")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds of sweeps per step")
    args = parser.parse_args()

    with ExitStack() as stack:
        cluster = stack.enter_context(postgres.cluster())
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="baton-parked-")))
        home = ServerHome(
            root / "home",
            runbook=GATE_FIRST,
            env={
                "BATON_DATABASE_URL": cluster.database(),
                "BATON_SERVE_RECOVER_SECONDS": str(args.sweep),
            },
        )
        server = Server(home).start()
        stack.callback(server.stop)
        worker = Worker(home, "w1", concurrency=args.concurrency).start()
        stack.callback(worker.stop)
        assert server.proc is not None and worker.proc is not None
        parked = Parked(home.env["BATON_DATABASE_URL"])
        stack.callback(parked.close)
        client = stack.enter_context(server.client(home.token("alice")))

        print("parked  seconds  runs/s  worker_kib  serve_kib", flush=True)
        figures: list[tuple[int, int, int]] = []
        total = 0
        per_step = args.runs // args.steps
        for _ in range(args.steps):
            began = time.monotonic()
            start_runs(client, per_step, clients=args.clients, tag=f"s{total}-")
            total += per_step
            wait_parked(parked, total, timeout=max(600.0, per_step / 5))
            took = time.monotonic() - began
            time.sleep(args.settle)  # a bench, not a test: let the sweep read them all
            w, s = rss_kib(worker.proc.pid), rss_kib(server.proc.pid)
            figures.append((total, w, s))
            print(f"{total:6d}  {took:7.1f}  {per_step / took:6.1f}  {w:10d}  {s:9d}", flush=True)
        (n0, w0, s0), (n1, w1, s1) = figures[0], figures[-1]
        grown = max(1, n1 - n0)
        print(
            f"parked={n1} worker_kib={w0}->{w1} serve_kib={s0}->{s1} "
            f"worker_b_per_run={(w1 - w0) * 1024 / grown:.0f} "
            f"serve_b_per_run={(s1 - s0) * 1024 / grown:.0f}"
        )


if __name__ == "__main__":
    main()
