"""Alert intake over HTTP: `baton serve` vs a bare FastAPI JSON echo, measured in one run.

All traffic is on 127.0.0.1. Each server is its own process, served by uvicorn the way
`baton serve` serves (one process, `log_config=None`, `access_log=False`; same loop and
HTTP implementation, as both run from this venv).

1. Throughput, N keep-alive connections posting for a while (bounded by count and time):
   - echo: a bare FastAPI `POST /echo` that parses the JSON body and returns a small JSON;
   - baton dedup: the same Alertmanager delivery (tests/fixtures/webhooks/
     alertmanager-firing.json, one alert) redelivered to `POST /v1/webhooks/alertmanager`.
     It is delivered once before the clock starts, so every timed answer must say
     `deduplicated` (any other answer fails the bench).
   Both servers run side by side and the two loads alternate in short slices, so drift on
   a shared machine hits both alike. Two clients are measured: `raw`, a minimal HTTP/1.1
   keep-alive client (one thread, selectors; it checks every status and, for Baton, every
   outcome), and `httpx` (one thread and one keep-alive `httpx.Client` per connection).
   httpx spends about a millisecond of client CPU per request, so against the echo it
   measures itself, not the server; the headline ratio is therefore the raw client's
   (`--client httpx` makes it httpx's). Server CPU per request (from /proc) is printed
   too: unlike req/s it barely moves when other processes share the cores.
2. Alert -> first task started: NEW alert groups (distinct groupKey, fingerprint and
   startsAt; alertname=HighErrorRate, routed to `web-restart`) posted one at a time.
   Latency = the run's first task's `started_at`, as the server wrote it in its database
   (UTC wall clock, same host), minus the UTC wall clock read just before the POST is
   sent. After each answer the bench reads the database (read-only) until that row is
   set and the run has settled at its gate, and only then posts the next alert: no alert
   waits behind the previous one's run. Not measured by polling GET /v1/runs/{id}: that
   would load the server being measured, and the poll period would round figures up.
   The first alerts after start (the runbook's graph is compiled then) are warm-up.

The home is tests/server.py's ServerHome with the production sweep period (15 s, not the
tests' 1 s). Last line: `ratio=<baton dedup alerts/s / echo req/s> p99_ms=<p99>`.

    python bench/ingest.py [--clients 8] [--seconds 5] [--alerts 100] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
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

from tests.server import Server, ServerHome, free_port, wait_healthy  # noqa: E402

FIXTURE = REPO / "tests/fixtures/webhooks/alertmanager-firing.json"
HOST = "127.0.0.1"
AM_TOKEN = "am-token"  # ServerHome's throwaway webhook token
MAX_REQUESTS = 200_000  # per load slice, whatever its duration
DRAIN_SECONDS = 30.0  # after a slice's deadline, for answers still in flight
SETTLE_SECONDS = 10.0  # one new alert's run may take this long to start and settle
WARM_ALERTS = 3
TICKS = os.sysconf("SC_CLK_TCK")

# Check one answer (status, body): None if it is what the load expects, else a label.
Check = Callable[[int, bytes], str | None]


# ---- the echo server (`python bench/ingest.py --echo-port PORT`) ------------------------


def serve_echo(port: int) -> None:
    """A bare FastAPI JSON echo, served with `baton serve`'s uvicorn settings."""
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
        wait_healthy(self.proc, self.url, self.log, timeout, "echo server")
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


# ---- load: N keep-alive connections, bounded by count and time --------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Load:
    """What the slices of one (client, server) pair added up to."""

    requests: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    slices: list[float] = field(default_factory=list)  # req/s of each slice

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_ms(self) -> float:
        """Server CPU per request, ms."""
        return self.server_cpu / self.requests * 1e3 if self.requests else float("nan")

    def add(self, requests: int, seconds: float, server: float, client: float) -> None:
        self.requests += requests
        self.seconds += seconds
        self.server_cpu += server
        self.client_cpu += client
        self.slices.append(requests / seconds)


def http_request(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def raw_slice(
    port: int, request: bytes, clients: int, seconds: float, check: Check, failures: Counter[str]
) -> tuple[int, float]:
    """One selector thread keeps `clients` connections busy: each sends its request again
    as soon as the previous answer is complete (no pipelining). Stops sending at the
    deadline (or after MAX_REQUESTS) and waits for the answers in flight.
    Returns (answers, seconds from the first send to the last answer)."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(clients):
        sock = socket.create_connection((HOST, port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        socks.append(sock)
    try:
        for sock in socks:  # one answered request each: connections are warm before timing
            sel.register(sock, selectors.EVENT_READ, bytearray())
            sock.sendall(request)
        warm = _answers(sel, len(socks), time.monotonic() + 30, None, check, failures)
        if warm != len(socks):
            raise RuntimeError("raw client: warm-up answers missing")
        sent = done = 0
        began = time.monotonic()
        deadline = began + seconds
        for sock in socks:
            sock.sendall(request)
            sent += 1

        def again(sock: socket.socket) -> bool:
            nonlocal sent
            if sent >= MAX_REQUESTS or time.monotonic() >= deadline:
                return False
            sock.sendall(request)
            sent += 1
            return True

        done = _answers(sel, sent, deadline + DRAIN_SECONDS, again, check, failures)
        elapsed = time.monotonic() - began
        if done != sent:
            raise RuntimeError(f"raw client: {sent - done} answers missing")
        return done, elapsed
    finally:
        sel.close()
        for sock in socks:
            sock.close()


def _answers(
    sel: selectors.BaseSelector,
    expected: int,
    hard_deadline: float,
    again: Callable[[socket.socket], bool] | None,
    check: Check,
    failures: Counter[str],
) -> int:
    """Read complete answers until none is outstanding; `again` may send one more."""
    outstanding, done = expected, 0
    while outstanding and time.monotonic() < hard_deadline:
        for key, _ in sel.select(timeout=0.5):
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            buf: bytearray = key.data
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("raw client: the server closed a keep-alive connection")
            buf += chunk
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = bytes(buf[:end]).decode("latin-1").split("\r\n")
                length = None
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length is None:
                    raise RuntimeError(f"raw client: no Content-Length in {head}")
                if len(buf) < end + 4 + length:
                    break
                body = bytes(buf[end + 4 : end + 4 + length])
                del buf[: end + 4 + length]
                done += 1
                outstanding -= 1
                problem = check(int(head[0].split()[1]), body)
                if problem:
                    failures[problem] += 1
                if again is not None and again(sock):
                    outstanding += 1
    return done


def httpx_slice(
    url: str,
    body: bytes,
    headers: dict[str, str],
    clients: int,
    seconds: float,
    check: Check,
    failures: Counter[str],
) -> tuple[int, float]:
    """`clients` threads, each with its own keep-alive httpx.Client (one connection)."""
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    hdrs = {**headers, "Content-Type": "application/json"}
    per_client = MAX_REQUESTS // clients
    total = [0]
    deadline = [float("inf")]

    def client() -> None:
        done, bad = 0, Counter[str]()
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(limits=limits, timeout=30) as http:
            http.post(url, content=body, headers=hdrs)  # connect and warm up, not counted
            ready.wait(timeout=60)
            while done < per_client and time.monotonic() < deadline[0]:
                try:
                    answer = http.post(url, content=body, headers=hdrs)
                    problem = check(answer.status_code, answer.content)
                except httpx.HTTPError as exc:
                    problem = type(exc).__name__
                done += 1
                if problem:
                    bad[problem] += 1
        with lock:
            total[0] += done
            failures.update(bad)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    ready.wait(timeout=60)
    began = time.monotonic()
    deadline[0] = began + seconds
    for t in threads:
        t.join(timeout=seconds + DRAIN_SECONDS)
    if any(t.is_alive() for t in threads):
        raise RuntimeError("an httpx client did not stop")
    return total[0], time.monotonic() - began


@dataclass
class Target:
    name: str
    port: int
    path: str
    body: bytes
    headers: dict[str, str]
    pid: int
    check: Check


def run_slice(target: Target, kind: str, clients: int, seconds: float, into: Load) -> None:
    server0, client0 = cpu_seconds(target.pid), time.process_time()
    if kind == "raw":
        request = http_request(target.port, target.path, target.body, target.headers)
        n, elapsed = raw_slice(target.port, request, clients, seconds, target.check, into.failures)
    else:
        url = f"http://{HOST}:{target.port}{target.path}"
        n, elapsed = httpx_slice(
            url, target.body, target.headers, clients, seconds, target.check, into.failures
        )
    # CPU includes each slice's warm-up requests (one per connection): negligible.
    server, client = cpu_seconds(target.pid) - server0, time.process_time() - client0
    into.add(n, elapsed, server, client)


def status_ok(status: int, body: bytes) -> str | None:
    return None if status == 200 else f"HTTP {status}"


def deduplicated(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}"
    outcome = json.loads(body)["outcome"]
    return None if outcome == "deduplicated" else f"outcome {outcome}"


# ---- alert -> first task started --------------------------------------------------------


def new_alert(i: int, tag: str) -> dict[str, Any]:
    """A new alert group routed to `web-restart` (alertmanager alertname=HighErrorRate)."""
    instance = f"web-{tag}-{i}"
    labels = {
        "alertname": "HighErrorRate",
        "severity": "critical",
        "service": "web",
        "instance": instance,
    }
    return {
        "receiver": "baton",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": f"error rate high on {instance}"},
                "startsAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example.com:9090/graph",
                "fingerprint": f"{tag}{i:08x}",
            }
        ],
        "groupLabels": {"alertname": "HighErrorRate", "instance": instance},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="HighErrorRate", instance="{instance}"}}',
        "truncatedAlerts": 0,
    }


def db_time(text: str) -> float:
    """A UTC time column as SQLAlchemy stores it on SQLite, as a Unix timestamp."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@dataclass
class Latency:
    start_ms: list[float] = field(default_factory=list)  # send -> first task started_at
    answer_ms: list[float] = field(default_factory=list)  # send -> 2xx answer read
    settle_ms: list[float] = field(default_factory=list)  # send -> run seen settled


_FIRST = "SELECT MIN(started_at), COUNT(*) FROM task_executions WHERE run_id = ?"
_STATUS = "SELECT status FROM runs WHERE id = ?"


def first_task_latency(url: str, db_path: Path, n: int, tag: str) -> Latency:
    out = Latency()
    headers = {"Authorization": f"Bearer {AM_TOKEN}", "Content-Type": "application/json"}
    reader = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            http.get("/healthz")  # the connection is open before the first clock read
            for i in range(n):
                body = json.dumps(new_alert(i, tag)).encode()
                sent = time.time()
                response = http.post("/v1/webhooks/alertmanager", content=body, headers=headers)
                answered = time.time()
                response.raise_for_status()
                answer = response.json()
                if answer["outcome"] != "created":
                    raise RuntimeError(f"alert {i}: expected `created`, got {answer}")
                run_id = answer["results"][0]["run_id"]
                deadline = time.monotonic() + SETTLE_SECONDS
                while True:
                    started, tasks = reader.execute(_FIRST, (run_id,)).fetchone()
                    (status,) = reader.execute(_STATUS, (run_id,)).fetchone()
                    if started is not None and tasks and status != "running":
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"run {run_id} did not settle: {status}, {started}")
                    time.sleep(0.001)
                settled = time.time()
                out.start_ms.append((db_time(started) - sent) * 1e3)
                out.answer_ms.append((answered - sent) * 1e3)
                out.settle_ms.append((settled - sent) * 1e3)
    finally:
        reader.close()
    return out


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile: p99 of 100 values is the 99th smallest."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]


# ---- main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--seconds", type=float, default=5.0, help="per (client, server)")
    parser.add_argument("--slices", type=int, default=5, help="alternations per client")
    parser.add_argument("--alerts", type=int, default=100, help="new alert groups")
    parser.add_argument(
        "--client", choices=["raw", "httpx", "both"], default="both", help="load client(s)"
    )
    parser.add_argument("--quick", action="store_true", help="1 s of load each, 20 alerts")
    parser.add_argument("--echo-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_port:
        serve_echo(args.echo_port)
        return
    if args.quick:
        args.seconds, args.slices, args.alerts = min(args.seconds, 1.0), 2, min(args.alerts, 20)
    kinds = ["raw", "httpx"] if args.client == "both" else [args.client]
    slice_seconds = args.seconds / args.slices
    fixture = FIXTURE.read_bytes()
    am = {"Authorization": f"Bearer {AM_TOKEN}"}
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="baton-bench-ingest-") as tmp, ExitStack() as stack:
        echo = EchoServer(Path(tmp) / "echo.log")
        stack.callback(echo.stop)
        home = ServerHome(Path(tmp) / "home", env={"BATON_SERVE_RECOVER_SECONDS": "15"})
        baton = Server(home)
        stack.callback(baton.stop)
        echo.start()
        baton.start()
        assert echo.proc is not None and baton.proc is not None
        with httpx.Client(timeout=30) as http:
            first = http.post(
                f"{baton.url}/v1/webhooks/alertmanager",
                content=fixture,
                headers={**am, "Content-Type": "application/json"},
            )
            first.raise_for_status()
        targets = {
            "echo": Target("echo", echo.port, "/echo", fixture, {}, echo.proc.pid, status_ok),
            "baton": Target(
                "baton",
                baton.port,
                "/v1/webhooks/alertmanager",
                fixture,
                am,
                baton.proc.pid,
                deduplicated,
            ),
        }
        loads = {(k, t): Load() for k in kinds for t in targets}
        for _ in range(args.slices):  # alternate: drift hits both servers alike
            for kind in kinds:
                for name, target in targets.items():
                    run_slice(target, kind, args.clients, slice_seconds, loads[kind, name])
        echo.stop()
        cold = first_task_latency(baton.url, home.settings.sqlite_path, WARM_ALERTS, "warm")
        latency = first_task_latency(baton.url, home.settings.sqlite_path, args.alerts, "bench")
        baton.stop()

    failed = {f"{k}/{t}": dict(v.failures) for (k, t), v in loads.items() if v.failures}
    if failed:
        raise SystemExit(f"failed requests: {failed}")
    head = kinds[0]
    ratio = loads[head, "baton"].rate / loads[head, "echo"].rate
    p50, p99 = pct(latency.start_ms, 50), pct(latency.start_ms, 99)

    print(
        f"loopback; {args.clients} keep-alive connections; {args.seconds:g} s of load per"
        f" client and server in {args.slices} alternating slices; uvicorn 1 process,"
        f" log_config=None, access_log=False; {os.cpu_count()} cpus shared by clients and"
        f" servers (load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )
    print(f"fixture's first delivery: {first.json()['outcome']}; every timed one: deduplicated")
    print()
    print(f"{'client':<6} {'server':<12} {'req/s':>8} {'slices min-max':>15} {'server cpu':>11}")
    print(f"{'':<6} {'':<12} {'':>8} {'':>15} {'ms/req':>11}  cpu used (of one core)")
    for (kind, name), got in loads.items():
        what = "echo" if name == "echo" else "baton dedup"
        print(
            f"{kind:<6} {what:<12} {got.rate:>8.0f} {min(got.slices):>7.0f}-{max(got.slices):<7.0f}"
            f" {got.server_ms:>11.3f}  server {got.server_cpu / got.seconds:.0%},"
            f" client {got.client_cpu / got.seconds:.0%}"
        )
    for kind in kinds:
        e, b = loads[kind, "echo"], loads[kind, "baton"]
        print(
            f"{kind:<6} ratio dedup/echo: req/s {b.rate / e.rate:.2f};"
            f" server cpu per request {e.server_ms / b.server_ms:.2f}"
            f" (echo ms / baton ms: the ratio if both were cpu-bound)"
        )
    print()
    print(
        f"alert -> first task started, {len(latency.start_ms)} new alert groups one at a time"
        f" (first task's started_at in the db, UTC, minus send time; {WARM_ALERTS} warm-up"
        f" alerts before, the first {cold.start_ms[0]:.1f} ms)"
    )
    print(f"  p50 {p50:.1f} ms   p99 {p99:.1f} ms   max {max(latency.start_ms):.1f} ms")
    print(
        f"  webhook answered (intake committed): p50 {pct(latency.answer_ms, 50):.1f} ms,"
        f" p99 {pct(latency.answer_ms, 99):.1f} ms;"
        f" run settled at its gate: p50 {statistics.median(latency.settle_ms):.1f} ms"
    )
    print()
    print(f"targets: ratio >= 0.5 ({head} client), p99 <= 50 ms")
    print(f"ratio={ratio:.2f} p99_ms={p99:.1f}")


if __name__ == "__main__":
    main()
