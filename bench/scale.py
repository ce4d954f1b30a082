"""Scale-out on PostgreSQL: runs/s and alert -> first task with 1, 2 and 4 `baton worker`s.

One throwaway PostgreSQL server (tests/integration/postgres.py: Debian's binaries, loopback
TCP, `fsync=off`) for the whole bench. For each worker count N (`--workers 1,2,4`), on a
fresh database and a fresh home (tests/server.py's ServerHome, with the production sweep
period of 15 s): one `baton serve`, which only enqueues run advances into procrastinate,
and N `baton worker --concurrency C` processes, which execute them.

1. Warm-up: bursts of new alert groups until every worker has advanced a run (its log
   says so) and those runs are parked, so no measured run pays for a process's first
   graph compile or connection.
2. Load: M new alert groups (distinct groupKey, fingerprint and instance; alertname
   HighErrorRate, routed to `web-restart`: its first task runs `true`, then the run parks
   at an approval gate) posted as fast as a pool of `--clients` keep-alive httpx clients
   can. Every answer must be `created`; the bench keeps each run's id and send time.
3. The bench reads the database (read-only, every 50 ms) until all M runs are `waiting`
   at their gate, then reads, as the workers wrote them:
   - runs/s = M / (last run's `updated_at` as it parked - first send);
   - alert -> first task = the run's first `task_executions.started_at` - its send time
     (UTC wall clock, same host), p50 and p99 (nearest rank) over the M runs. The alerts
     arrive as a burst, so a late run's latency includes its wait in the queue;
   - intake: M / (last answer - first send), the rate the server accepted alerts at, and
     `bound`: `intake` when the workers kept up with it, `workers` when a backlog built up;
   - CPU over the load, from /proc: the whole box (busy cores), `baton serve`, the
     workers (with the `true` commands they ran), PostgreSQL (the postmaster, its live
     children and the ones that ended) and this client; and the PostgreSQL sessions
     opened per run (`pg_stat_database.sessions`).
   `--statements` also loads pg_stat_statements and prints the statements PostgreSQL spent
   most time on per run (lock waits count as time); it costs a little, so it is off by
   default.

Every process shares the same cores: this box's `os.cpu_count()` is printed with the
curve, and where adding workers stops paying. Last line: `workers_1=<runs/s>
workers_2=<runs/s> workers_4=<runs/s> p99_ms_4=<p99 alert->first task, most workers>`.

    python bench/scale.py [--alerts 300] [--workers 1,2,4] [--concurrency 4] [--clients 4]
                          [--quick] [--statements]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.server and tests.integration.postgres, as the tests use them

from tests.integration import postgres  # noqa: E402
from tests.server import Server, ServerHome, Worker  # noqa: E402

from ingest import AM_TOKEN, new_alert, pct  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
POLL_SECONDS = 0.05
WARM_BURSTS = 6  # at most, per worker count
PARK_SECONDS = 300.0  # all runs of one load must be parked by then
HOOK = "/v1/webhooks/alertmanager"
ADVANCED = "advanced: "  # what a worker logs when a job advanced a run (jobs/worker.py)


def libpq(url: str) -> str:
    """A SQLAlchemy `postgresql+psycopg://` URL as libpq takes it."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


def utc(value: datetime) -> float:
    """A UTC time column (SQLAlchemy stores it naive on PostgreSQL) as a Unix timestamp."""
    return value.replace(tzinfo=UTC).timestamp()


# ---- CPU from /proc ----------------------------------------------------------------------


def box_busy() -> float:
    """Seconds of CPU the whole box has spent busy (not idle, not waiting on I/O) so far."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(v) for v in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICKS


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, with that of its children it has waited for
    (a worker's `true` commands; the PostgreSQL backends that ended, for the postmaster)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS


def children(parent: int) -> list[int]:
    """Pids of `parent`'s live children."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


@dataclass
class Cpu:
    """CPU seconds of each part of the system, read before and after a load."""

    pids: dict[str, list[int]]
    postmaster: int
    start: dict[str, float] = field(default_factory=dict)

    def read(self) -> dict[str, float]:
        def total(pids: list[int]) -> float:
            seconds = 0.0
            for pid in pids:
                # A process gone by now (a PostgreSQL backend that ended) takes its time along.
                with contextlib.suppress(OSError):
                    seconds += cpu_seconds(pid)
            return seconds

        out = {name: total(pids) for name, pids in self.pids.items()}
        out["postgresql"] = total([self.postmaster, *children(self.postmaster)])
        out["client"] = time.process_time()
        out["box"] = box_busy()
        out["seconds"] = time.monotonic()
        return out

    def begin(self) -> None:
        self.start = self.read()

    def used(self) -> dict[str, float]:
        """CPU seconds of each part since `begin`, and the `seconds` that took."""
        end = self.read()
        return {name: end[name] - self.start[name] for name in end}


# ---- posting alerts and reading what became of them -------------------------------------


@dataclass
class Posted:
    """What the clients sent: per run, the UTC time its alert was sent."""

    sent: dict[str, float] = field(default_factory=dict)
    first_send: float = float("inf")
    last_answer: float = 0.0


def post_alerts(url: str, tag: str, count: int, clients: int) -> Posted:
    """Post `count` new alert groups from `clients` threads, each with its own keep-alive
    connection, as fast as they can; every answer must have created a run."""
    out = Posted()
    lock = threading.Lock()
    numbers = itertools.count()
    ready = threading.Barrier(clients)
    headers = {"Authorization": f"Bearer {AM_TOKEN}", "Content-Type": "application/json"}
    errors: list[BaseException] = []

    def client() -> None:
        try:
            with httpx.Client(base_url=url, timeout=60) as http:
                http.get("/healthz")  # the connection is open before the first send
                ready.wait(timeout=60)
                while (i := next(numbers)) < count:
                    body = json.dumps(new_alert(i, tag)).encode()
                    sent = time.time()
                    response = http.post(HOOK, content=body, headers=headers)
                    answered = time.time()
                    response.raise_for_status()
                    answer = response.json()
                    if answer["outcome"] != "created":
                        raise RuntimeError(f"alert {tag}/{i}: expected `created`, got {answer}")
                    with lock:
                        out.sent[answer["results"][0]["run_id"]] = sent
                        out.first_send = min(out.first_send, sent)
                        out.last_answer = max(out.last_answer, answered)
        except BaseException as exc:
            errors.append(exc)
            ready.abort()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return out


_STATUSES = "SELECT status, count(*) FROM runs GROUP BY status"
_SESSIONS = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
_TOP = (
    "SELECT calls, total_exec_time, query FROM pg_stat_statements"
    " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " ORDER BY total_exec_time DESC LIMIT 6"
)
STATS_FLUSH_SECONDS = 1.5  # a backend reports its counters at most once a second
_TIMES = (
    "SELECT r.id, r.updated_at, MIN(t.started_at) FROM runs r"
    " JOIN task_executions t ON t.run_id = r.id"
    " WHERE r.id = ANY(%s) GROUP BY r.id, r.updated_at"
)


def wait_parked(conn: psycopg.Connection[tuple[object, ...]], expected: int) -> None:
    """Until all `expected` runs of this (fresh) database wait at their gate; a run that
    ends otherwise fails the bench. One cheap query per poll: the database being measured
    is this bench's to load as little as it can."""
    deadline = time.monotonic() + PARK_SECONDS
    while True:
        counts = {str(status): int(str(n)) for status, n in conn.execute(_STATUSES)}
        if counts.get("waiting", 0) == expected == sum(counts.values()):
            return
        ended = {k: v for k, v in counts.items() if k in ("succeeded", "failed", "cancelled")}
        if ended:
            raise RuntimeError(f"runs ended without parking at their gate: {ended}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all {expected} runs parked: {counts}")
        time.sleep(POLL_SECONDS)


@dataclass
class Result:
    workers: int
    alerts: int
    wall: float  # first send -> last run parked
    intake: float  # first send -> last answer
    latency_ms: list[float]
    cpu: dict[str, float]
    sessions: float = 0.0  # PostgreSQL sessions opened per run
    statements: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.alerts / self.wall

    @property
    def intake_rate(self) -> float:
        return self.alerts / self.intake


def measure(
    conn: psycopg.Connection[tuple[object, ...]],
    workers: int,
    posted: Posted,
    cpu: Cpu,
    expected: int,
) -> Result:
    """Wait for the load's runs (and the `expected` runs in all) to park; its figures."""
    runs = list(posted.sent)
    wait_parked(conn, expected)
    used = cpu.used()  # the load is over when the last run parked (at most POLL_SECONDS ago)
    rows = conn.execute(_TIMES, (runs,)).fetchall()
    if len(rows) != len(runs):
        raise RuntimeError(f"{len(runs) - len(rows)} runs have no task rows")
    parked = max(utc(r[1]) for r in rows)  # type: ignore[arg-type]
    latency = [(utc(r[2]) - posted.sent[str(r[0])]) * 1e3 for r in rows]  # type: ignore[arg-type]
    return Result(
        workers=workers,
        alerts=len(runs),
        wall=parked - posted.first_send,
        intake=posted.last_answer - posted.first_send,
        latency_ms=latency,
        cpu=used,
    )


def counter(conn: psycopg.Connection[tuple[object, ...]], query: str) -> int:
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(str(row[0]))


def worker_advances(log: Path) -> int:
    return log.read_text(errors="replace").count(ADVANCED) if log.exists() else 0


def one_count(
    cluster: postgres.Cluster, tmp: Path, workers: int, args: argparse.Namespace
) -> Result:
    """One `baton serve` and `workers` workers on a fresh database: warm up, then load."""
    url = cluster.database()
    home = ServerHome(
        tmp / f"home-{workers}",
        env={"BATON_DATABASE_URL": url, "BATON_SERVE_RECOVER_SECONDS": "15"},
    )
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    with ExitStack() as stack, psycopg.connect(libpq(url), autocommit=True) as conn:
        if args.statements:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        server = Server(home)
        stack.callback(server.stop)
        server.start()
        pool = [Worker(home, f"w{i}", concurrency=args.concurrency) for i in range(workers)]
        for worker in pool:
            stack.callback(worker.stop)
            worker.start()
        runs = 0  # on this database so far
        for burst in range(WARM_BURSTS):
            warm = post_alerts(server.url, f"warm{workers}x{burst}", workers * 2, args.clients)
            runs += len(warm.sent)
            wait_parked(conn, runs)
            if all(worker_advances(w.log) for w in pool):
                break
        else:
            idle = [w.name for w in pool if not worker_advances(w.log)]
            print(f"  (warm-up: workers {idle} advanced no run; measuring anyway)")
        assert server.proc is not None
        cpu = Cpu(
            pids={
                "serve": [server.proc.pid],
                "workers": [w.proc.pid for w in pool if w.proc is not None],
            },
            postmaster=postmaster,
        )
        if args.statements:
            conn.execute("SELECT pg_stat_statements_reset()")
        time.sleep(STATS_FLUSH_SECONDS)
        sessions = counter(conn, _SESSIONS)
        cpu.begin()
        posted = post_alerts(server.url, f"load{workers}", args.alerts, args.clients)
        result = measure(conn, workers, posted, cpu, runs + len(posted.sent))
        time.sleep(STATS_FLUSH_SECONDS)
        result.sessions = (counter(conn, _SESSIONS) - sessions) / result.alerts
        if args.statements:
            result.statements = [
                (int(str(calls)) / result.alerts, float(str(ms)) / result.alerts, str(query))
                for calls, ms, query in conn.execute(_TOP)
            ]
        for worker in pool:
            if worker.proc is not None and worker.proc.poll() is not None:
                raise RuntimeError(f"worker {worker.name} died: see {worker.log}")
    return result


# ---- report -----------------------------------------------------------------------------


def busy(r: Result, part: str) -> float:
    """Cores `part` kept busy during the load, on average."""
    return r.cpu[part] / r.cpu["seconds"]


def bound(r: Result) -> str:
    """What set the pace: the workers (a backlog built up behind them) or the server's
    intake (the workers kept up with the alerts as fast as it accepted them)."""
    return "intake" if r.rate >= 0.9 * r.intake_rate else "workers"


def bends(results: list[Result], cpus: int) -> str:
    """Where adding workers stopped paying: the first step that gained under 10 %."""
    if len(results) < 2:
        return "one worker count only: no curve"
    for before, after in itertools.pairwise(results):
        gain = after.rate / before.rate - 1
        if gain < 0.10:
            return (
                f"the curve bends at {before.workers} worker(s): going to {after.workers}"
                f" changed runs/s by {gain:+.0%}; at {before.workers} the box was already"
                f" {busy(before, 'box'):.2f} of {cpus} cores busy"
            )
    return f"no bend up to {results[-1].workers} workers (every step gained >= 10 %)"


def report(results: list[Result], args: argparse.Namespace, load: tuple[float, float]) -> None:
    cpus = os.cpu_count() or 1
    print(
        f"PostgreSQL (loopback TCP, fsync=off); per worker count: fresh database, 1 baton serve"
        f" (enqueues only), N baton workers --concurrency {args.concurrency};"
        f" {args.alerts} new alert groups per count, posted by {args.clients} keep-alive"
        f" httpx clients; {cpus} cpus (os.cpu_count()) shared by all of them (load average"
        f" {load[0]:.1f} before, {load[1]:.1f} after)"
    )
    print()
    print(
        f"{'workers':>7} {'runs/s':>7} {'speedup':>7} {'intake/s':>8} {'bound':>7}"
        f" {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        "   cores busy: box (serve workers pg client)"
    )
    base = results[0].rate
    for r in results:
        print(
            f"{r.workers:>7} {r.rate:>7.1f} {r.rate / base:>6.2f}x {r.intake_rate:>8.1f}"
            f" {bound(r):>7} {pct(r.latency_ms, 50):>8.1f} {pct(r.latency_ms, 99):>8.1f}"
            f" {max(r.latency_ms):>8.1f}   {busy(r, 'box'):.2f} of {cpus}"
            f" ({busy(r, 'serve'):.2f} {busy(r, 'workers'):.2f} {busy(r, 'postgresql'):.2f}"
            f" {busy(r, 'client'):.2f})"
        )
    print()
    print("runs/s (runs parked at their gate per second, first send -> last parked):")
    top = max(r.rate for r in results)
    for r in results:
        bar = "#" * max(1, round(40 * r.rate / top))
        print(f"  {r.workers} worker{'s' if r.workers > 1 else ' '} {bar} {r.rate:.1f}")
    print()
    print(bends(results, cpus))
    print("cpu per run, ms (serve / workers / postgresql) and PostgreSQL sessions opened per run:")
    for r in results:
        ms = {part: r.cpu[part] / r.alerts * 1e3 for part in ("serve", "workers", "postgresql")}
        print(
            f"  {r.workers} worker(s): {ms['serve']:.1f} / {ms['workers']:.1f} /"
            f" {ms['postgresql']:.1f} = {sum(ms.values()):.1f} ms; {r.sessions:.2f} sessions"
        )
    print(
        "bound: `workers` when a backlog built up behind them (latency then includes the wait"
        " behind the burst), `intake` when they kept up with the server's answers"
    )
    for r in results:
        if r.statements:
            print(f"PostgreSQL statements by time, {r.workers} worker(s), per run:")
            for calls, spent, query in r.statements:
                print(f"  {calls:6.2f} calls {spent:8.2f} ms  {' '.join(query.split())[:90]}")
    last = results[-1]
    figures = " ".join(f"workers_{r.workers}={r.rate:.1f}" for r in results)
    print(f"{figures} p99_ms_{last.workers}={pct(last.latency_ms, 99):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=300, help="new alert groups per count")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, in order")
    parser.add_argument("--concurrency", type=int, default=4, help="each worker's --concurrency")
    parser.add_argument("--clients", type=int, default=4, help="posting clients (threads)")
    parser.add_argument("--quick", action="store_true", help="60 alerts per count")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="load pg_stat_statements and print where PostgreSQL's time goes (costs a little)",
    )
    args = parser.parse_args()
    if args.quick:
        args.alerts = min(args.alerts, 60)
    counts = [int(n) for n in args.workers.split(",")]
    if not postgres.available():
        raise SystemExit("PostgreSQL server binaries are not installed (Debian `postgresql`)")
    before = os.getloadavg()[0]
    results = []
    with postgres.cluster() as cluster, tempfile.TemporaryDirectory(prefix="baton-scale-") as tmp:
        if args.statements:  # the last `-c` of a setting wins
            cluster.options += " -c shared_preload_libraries=pg_stat_statements"
            cluster.restart()
        for workers in counts:
            results.append(one_count(cluster, Path(tmp), workers, args))
    report(results, args, (before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
