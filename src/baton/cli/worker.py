"""`baton worker`: run queued run advances and timers on PostgreSQL (scale-out mode).

Start as many as you like, on as many hosts: each job advances one run under that run's
lock, and a worker that dies hands its jobs to the others.
"""

from __future__ import annotations

import typer

from baton.cli.serve import configure_logging
from baton.errors import ConfigError
from baton.jobs import worker as jobs
from baton.settings import get_settings


def worker(
    concurrency: int = typer.Option(
        4, "--concurrency", "-c", min=1, max=64, help="Runs this worker advances at once."
    ),
    name: str | None = typer.Option(None, help="Worker name in logs (default host:pid)."),
) -> None:
    """Advance queued runs and run the periodic sweep (needs BATON_DATABASE_URL=postgresql…)."""
    settings = get_settings()
    if not settings.on_postgres:
        raise ConfigError(
            "baton worker needs PostgreSQL (BATON_DATABASE_URL=postgresql+psycopg://…); "
            "on the embedded SQLite, `baton serve` advances runs itself"
        )
    configure_logging()
    jobs.run(settings, concurrency=concurrency, name=name)


def register(app: typer.Typer) -> None:
    app.command()(worker)
