"""`baton serve`: the API, the webhooks, the inbox and the run executor in one process.

`--demo` seeds a throwaway home with an incident waiting at a gate (the same estate as
`baton demo`) and prints one-time login links for a demo requester and a demo approver.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from baton.cli.app import console
from baton.cli.demo import PEOPLE, load_data, stand_ins
from baton.cli.runs import load_incident
from baton.errors import ConfigError
from baton.settings import Settings, get_settings, shipped

DEMO_PEOPLE = (
    PEOPLE
    # The requester holds the approver role too: what stops her is separation of duties.
    + "  demo-requester: [incident_manager, incident-commander]\n  demo-auditor: [auditor]\n"
)
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


class JsonLogs(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogs())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def demo_settings(home: Path | None, port: int) -> Settings:
    home = home or Path(tempfile.mkdtemp(prefix="baton-serve-demo-"))
    home.mkdir(parents=True, exist_ok=True)
    (home / "people.yaml").write_text(DEMO_PEOPLE)
    return Settings(
        home=home,
        patterns_dir=stand_ins(home),
        public_url=f"http://127.0.0.1:{port}",
        webhook_token_alertmanager="demo-alertmanager-token",  # noqa: S106 (demo only)
    )


def seed_demo(settings: Settings, *, throwaway: bool) -> list[str]:
    """An incident waiting at a gate, and login links; returns the lines to print."""
    from baton import parts
    from baton.runbooks.loader import load_runbook
    from baton.runtime import build_runtime
    from baton.store import credentials
    from baton.store.credentials import Holder

    parts.signer_or_new(settings)
    load_data(settings)
    loaded = load_runbook(shipped("runbooks/agent-triage.yaml"), parts.catalog(settings))
    incident = load_incident(shipped("runbooks/data/itsm/incident-checkout.yaml"))
    with build_runtime(settings) as rt:
        run_id = rt.runner.create(loaded, incident, requested_by="human:demo-requester")
        status = rt.runner.advance(run_id)
        links = {}
        with rt.db.write() as session:
            for user in ("demo-approver", "demo-requester", "demo-auditor"):
                links[user] = credentials.create_login_link(
                    session, holder=Holder(user, None), lifetime=timedelta(hours=12)
                )
    base = settings.public_url
    return [
        f"demo home {settings.home}{' (throwaway)' if throwaway else ''}; run {run_id} is {status}",
        f"  approver  (answers the gate): {base}/login/link/{links['demo-approver']}",
        f"  requester (cannot approve):   {base}/login/link/{links['demo-requester']}",
        f"  auditor   (reads the trail):  {base}/login/link/{links['demo-auditor']}",
        f"  alerts: curl -H 'Authorization: Bearer demo-alertmanager-token' "
        f"-d @{shipped('runbooks/demo/alert-checkout-5xx.json')} {base}/v1/webhooks/alertmanager",
    ]


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    demo: bool = typer.Option(
        False, "--demo", help="Seed a throwaway home with an incident at a gate; print logins."
    ),
    home: Path | None = typer.Option(None, "--home", help="With --demo: keep state here."),
) -> None:
    """Serve the API (/docs), alert webhooks, the approval inbox and run the executor."""
    import uvicorn

    from baton.api.app import build_services, create_app

    configure_logging()
    _can_listen(host, port)  # before seeding or printing links that would lead nowhere
    throwaway = demo and home is None
    settings = demo_settings(home, port) if demo else get_settings()
    lines = seed_demo(settings, throwaway=throwaway) if demo else []
    svc = build_services(settings)
    app = create_app(svc)
    shown = host if ":" not in host else f"[{host}]"
    console.print(f"Baton on http://{shown}:{port}  (API docs /docs, inbox /inbox)")
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        proxy_headers=False,
    )

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            svc.stopping.set()  # live-update streams end now, so shutdown need not wait
            super().handle_exit(sig, frame)

    server = Server(config)
    try:
        server.run()
    finally:
        svc.runtime.close()
        if throwaway:  # the demo's home was made for this process: leave nothing behind
            shutil.rmtree(settings.home, ignore_errors=True)
    if not server.started:
        raise ConfigError(f"could not listen on {host}:{port} (in use, or not allowed)")


def _can_listen(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def register(app: typer.Typer) -> None:
    app.command()(serve)
