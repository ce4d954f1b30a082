"""Alert intake over HTTP: Baton's webhook vs a bare FastAPI echo, measured in the same run.

Everything is on 127.0.0.1, each server in its own process, served by uvicorn exactly as
`baton serve` serves (one process, `log_config=None`, `access_log=False`, same loop and
HTTP implementation, since both run from this venv).

1. echo: a bare FastAPI POST that parses a JSON body and returns a small JSON; N clients
   (httpx, keep-alive, one connection each) post the Alertmanager fixture for a while.
2. baton: `baton serve` on a throwaway home (tests/server.py's ServerHome) with the
   production sweep period (15 s, not the tests' 1 s):
   a. the same N clients redeliver one Alertmanager delivery
      (tests/fixtures/webhooks/alertmanager-firing.json); it is sent once before the clock
      starts, so every timed response must say `deduplicated` (anything else fails);
   b. alert -> first task started: NEW alert groups (distinct groupKey, fingerprint and
      startsAt, routed to `web-restart`) posted one at a time on an otherwise idle
      server. Latency = the run's first task's `started_at` as the server wrote it in
      its database (UTC wall clock) minus the UTC wall clock taken just before the POST
      was sent. The bench then reads the database read-only until that row is set and the
      run has settled (waiting at its gate), then posts the next alert, so no alert
      queues behind the previous one's run. No HTTP polling: it would load the server
      it measures, and its poll period would round every figure up.

Client and servers share the machine's cores; each load phase prints the CPU the server
process and this (client) process used, so a client-bound figure is visible as such.
Last line: `ratio=<baton dedup alerts/s / echo req/s> p99_ms=<alert->first task p99>`.

    python bench/ingest.py [--clients 8] [--seconds 5] [--alerts 100] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.server: ServerHome and Server, as the tests use them

from tests.server import Server, ServerHome, free_port  # noqa: E402

FIXTURE = REPO / "tests/fixtures/webhooks/alertmanager-firing.json"
HOST = "127.0.0.1"
MAX_REQUESTS = 500_000  # per load phase, whatever the duration
SETTLE_TIMEOUT = 10.0  # seconds one new alert's run may take to start and settle
TICKS = os.sysconf("SC_CLK_TCK")


# ---- the echo server (run as `python bench/ingest.py --echo-port PORT`) -----------------


def serve_echo(port: int) -> None:
    """A bare FastAPI JSON echo served the way `baton serve` serves (cli/serve.py)."""
    import uvicorn

    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        body = json.loads(await request.body())
        return {"ok": True, "keys": len(body)}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        proxy_headers=False,
    )
    uvicorn.Server(config).run()


class EchoServer:
    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> EchoServer:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, "--echo-port", str(self.port)],
                cwd=REPO,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"echo server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"echo server did not answer in {timeout}s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


# ---- load: N keep-alive clients, bounded by count and time ------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Load:
    requests: int = 0
    seconds: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def cpu(self) -> str:
        return (
            f"server cpu {self.server_cpu / self.seconds:.0%} of a core,"
            f" client cpu {self.client_cpu / self.seconds:.0%}"
        )


def load(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    clients: int,
    seconds: float,
    server_pid: int,
    check: Callable[[httpx.Response], str | None],
) -> Load:
    """`clients` threads, each with its own keep-alive connection, post `body` to `url`
    until `seconds` have passed or MAX_REQUESTS were sent; `check` names a bad answer."""
    result = Load()
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    per_client = MAX_REQUESTS // clients
    hdrs = {**headers, "Content-Type": "application/json"}
    deadline = 0.0

    def client() -> None:
        done, failures = 0, Counter[str]()
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(limits=limits, timeout=30) as http:
            http.post(url, content=body, headers=hdrs)  # connect and warm up, not counted
            start_gate.wait()
            while done < per_client and time.monotonic() < deadline:
                try:
                    problem = check(http.post(url, content=body, headers=hdrs))
                except httpx.HTTPError as exc:
                    problem = type(exc).__name__
                done += 1
                if problem:
                    failures[problem] += 1
        with lock:
            result.requests += done
            result.failures.update(failures)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + seconds + 3600  # set for real once all have connected
    start_gate.wait(timeout=60)
    began = time.monotonic()
    deadline = began + seconds
    server0, client0 = cpu_seconds(server_pid), time.process_time()
    for t in threads:
        t.join(timeout=seconds + 60)
    result.seconds = time.monotonic() - began
    result.server_cpu = cpu_seconds(server_pid) - server0
    result.client_cpu = time.process_time() - client0
    if any(t.is_alive() for t in threads):
        raise RuntimeError("a load client did not stop")
    return result


def ok_status(response: httpx.Response) -> str | None:
    return None if response.status_code == 200 else f"HTTP {response.status_code}"


def deduplicated(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    outcome = response.json()["outcome"]
    return None if outcome == "deduplicated" else f"outcome {outcome}"


# ---- alert -> first task started --------------------------------------------------------


def new_alert(i: int, tag: str) -> dict[str, Any]:
    """A new alert group routed to `web-restart` (alertmanager alertname=HighErrorRate)."""
    labels = {
        "alertname": "HighErrorRate",
        "severity": "critical",
        "service": "web",
        "instance": f"web-{tag}-{i}",
    }
    return {
        "receiver": "baton",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": f"error rate high on web-{i}"},
                "startsAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example.com:9090/graph",
                "fingerprint": f"{tag}{i:08x}",
            }
        ],
        "groupLabels": {"alertname": "HighErrorRate", "instance": labels["instance"]},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="HighErrorRate", instance="{labels["instance"]}"}}',
        "truncatedAlerts": 0,
    }


def db_time(text: str) -> float:
    """A UTC time column as SQLAlchemy stores it on SQLite, as a Unix timestamp."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@dataclass
class Latency:
    start_ms: list[float] = field(default_factory=list)  # send -> first task started_at
    answer_ms: list[float] = field(default_factory=list)  # send -> 2xx received
    settle_ms: list[float] = field(default_factory=list)  # send -> run seen waiting


def first_task_latency(server: Server, db_path: Path, n: int, tag: str) -> Latency:
    out = Latency()
    headers = {"Authorization": "Bearer am-token", "Content-Type": "application/json"}
    url = f"{server.url}/v1/webhooks/alertmanager"
    reader = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    first = (
        "SELECT MIN(started_at), COUNT(started_at), COUNT(*) FROM task_executions"
        " WHERE run_id = ?"
    )
    try:
        with httpx.Client(timeout=30) as http:
            http.get(f"{server.url}/healthz")  # the connection is open before the clock
            for i in range(n):
                body = json.dumps(new_alert(i, tag)).encode()
                sent = time.time()
                response = http.post(url, content=body, headers=headers)
                answered = time.time()
                response.raise_for_status()
                answer = response.json()
                if answer["outcome"] != "created":
                    raise RuntimeError(f"alert {i}: expected created, got {answer}")
                run_id = answer["results"][0]["run_id"]
                deadline = time.monotonic() + SETTLE_TIMEOUT
                while True:
                    started, _, tasks = reader.execute(first, (run_id,)).fetchone()
                    (status,) = reader.execute(
                        "SELECT status FROM runs WHERE id = ?", (run_id,)
                    ).fetchone()
                    if started is not None and tasks and status != "running":
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"run {run_id} did not settle: {status} {started}")
                    time.sleep(0.001)
                settled = time.time()
                out.start_ms.append((db_time(started) - sent) * 1e3)
                out.answer_ms.append((answered - sent) * 1e3)
                out.settle_ms.append((settled - sent) * 1e3)
    finally:
        reader.close()
    return out


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank, so p99 of 100 is the 99th value)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


# ---- main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--seconds", type=float, default=5.0, help="per load phase")
    parser.add_argument("--alerts", type=int, default=100, help="new alert groups")
    parser.add_argument("--quick", action="store_true", help="1 s phases, 20 new alerts")
    parser.add_argument("--echo-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_port:
        serve_echo(args.echo_port)
        return
    if args.quick:
        args.seconds, args.alerts = min(args.seconds, 1.0), min(args.alerts, 20)
    fixture = FIXTURE.read_bytes()
    am = {"Authorization": "Bearer am-token"}

    with tempfile.TemporaryDirectory(prefix="baton-bench-ingest-") as tmp, ExitStack() as stack:
        echo = EchoServer(Path(tmp) / "echo.log")
        stack.callback(echo.stop)
        echo.start()
        assert echo.proc is not None
        echo_load = load(
            f"{echo.url}/echo",
            fixture,
            {},
            clients=args.clients,
            seconds=args.seconds,
            server_pid=echo.proc.pid,
            check=ok_status,
        )
        echo.stop()

        home = ServerHome(Path(tmp) / "home", env={"BATON_SERVE_RECOVER_SECONDS": "15"})
        server = Server(home)
        stack.callback(server.stop)
        server.start()
        assert server.proc is not None
        with httpx.Client(timeout=30) as http:
            first = http.post(
                f"{server.url}/v1/webhooks/alertmanager",
                content=fixture,
                headers={**am, "Content-Type": "application/json"},
            )
            first.raise_for_status()
        dedup = load(
            f"{server.url}/v1/webhooks/alertmanager",
            fixture,
            am,
            clients=args.clients,
            seconds=args.seconds,
            server_pid=server.proc.pid,
            check=deduplicated,
        )
        # a few alerts first: the runbook's graph is compiled on the first run
        first_task_latency(server, home.settings.sqlite_path, 3, "warm")
        latency = first_task_latency(server, home.settings.sqlite_path, args.alerts, "bench")
        server.stop()

    if echo_load.failures or dedup.failures:
        raise SystemExit(f"failed requests: echo {echo_load.failures} baton {dedup.failures}")
    ratio = dedup.rate / echo_load.rate
    p50, p99 = pct(latency.start_ms, 50), pct(latency.start_ms, 99)
    print(
        f"loopback, {args.clients} keep-alive clients (httpx, one thread each),"
        f" {args.seconds:g} s per load phase; uvicorn log_config=None access_log=False,"
        f" 1 process; {os.cpu_count()} cpus shared by clients and server"
    )
    print(f"first delivery: {first.json()['outcome']} (then every timed one deduplicated)")
    print(f"{'what':<34} {'figure':>12}  notes")
    print(
        f"{'echo req/s':<34} {echo_load.rate:>12.0f}  {echo_load.requests} req; {echo_load.cpu()}"
    )
    print(f"{'baton dedup alerts/s':<34} {dedup.rate:>12.0f}  {dedup.requests} req; {dedup.cpu()}")
    print(
        f"{'alert->first task p50 ms':<34} {p50:>12.1f}  {len(latency.start_ms)} new groups,"
        f" one at a time; started_at (db, UTC) - send time"
    )
    print(f"{'alert->first task p99 ms':<34} {p99:>12.1f}  max {max(latency.start_ms):.1f}")
    print(
        f"{'  of which POST answered p50/p99 ms':<34}"
        f" {pct(latency.answer_ms, 50):>5.1f}/{pct(latency.answer_ms, 99):<6.1f}"
        f"  intake commit + response; run settled p50"
        f" {statistics.median(latency.settle_ms):.1f} ms"
    )
    print(f"{'ratio (dedup / echo)':<34} {ratio:>12.2f}  targets: ratio >= 0.5, p99 <= 50 ms")
    print(f"ratio={ratio:.2f} p99_ms={p99:.1f}")


if __name__ == "__main__":
    main()
