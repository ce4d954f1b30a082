"""Composition root: `build_runtime(settings)` wires store, checkpointer, executors, runner."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from baton import parts
from baton.agents.kit import build_kit
from baton.errors import RunLocked, StorageError
from baton.evidence import checkpoints
from baton.evidence.keys import Signer
from baton.graph.deps import EngineDeps
from baton.graph.runner import Runner
from baton.settings import Settings
from baton.store import audit
from baton.store.db import Database, open_database, prepare_sqlite
from baton.store.locks import AdvisoryRunLocks, RunLock, RunLocks, waiting
from baton.tools.executors.base import Executor
from baton.tools.executors.command import CommandExecutor
from baton.tools.executors.dry_run import DryRun
from baton.tools.executors.http import HttpExecutor
from baton.tools.executors.wait import WaitExecutor


@dataclass
class Runtime:
    settings: Settings
    db: Database
    runner: Runner
    _close_checkpoints: Callable[[], None] = field(repr=False)
    signer: Signer | None = field(default=None, repr=False)

    def sign_checkpoint(self) -> audit.Checkpoint | None:
        """Sign the audit log as it stands, if a signing key exists (maintenance paths)."""
        return None if self.signer is None else checkpoints.sign_now(self.db, self.signer)

    def close(self) -> None:
        self._close_checkpoints()
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_executors(settings: Settings) -> dict[str, Executor]:
    """The executors runbooks may name, registered in this one visible place. In dry-run
    mode the ones with effects outside Baton record their invocation instead."""
    effects: dict[str, Executor] = {
        "command": CommandExecutor(output_limit_bytes=settings.output_limit_bytes),
        "http": HttpExecutor(
            allow_private=settings.http_allow_private,
            output_limit_bytes=settings.output_limit_bytes,
        ),
    }
    if settings.dry_run:
        effects = {name: DryRun(executor) for name, executor in effects.items()}
    return {**effects, "wait": WaitExecutor()}


_SETUP = "baton:checkpoint-setup"
_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"
Checkpoints = tuple[BaseCheckpointSaver[Any], Callable[[], None]]


def open_checkpointer(settings: Settings) -> Checkpoints:
    """The graph checkpointer beside the app tables (same database), and how to close it."""
    if settings.on_postgres:
        return _postgres_checkpointer(settings)
    try:
        busy = settings.sqlite_busy_timeout_ms
        conn = sqlite3.connect(
            settings.checkpoint_path, check_same_thread=False, timeout=busy / 1000
        )
        isolation = conn.isolation_level
        prepare_sqlite(conn, settings.sqlite_synchronous, settings.sqlite_wal_autocheckpoint, busy)
        conn.isolation_level = isolation  # SqliteSaver manages its own transactions
        saver = SqliteSaver(conn)
        saver.setup()
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open checkpoints {settings.checkpoint_path}: {exc}") from exc
    return saver, conn.close


def _postgres_checkpointer(settings: Settings) -> Checkpoints:
    """LangGraph's PostgresSaver on a pool of its own (it wants autocommit connections
    without prepared statements); its tables are set up once, under an advisory lock, so
    processes starting together do not race in its migrations."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import Connection, OperationalError
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool, PoolTimeout

    conninfo = settings.postgres_conninfo
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    try:
        with Connection.connect(conninfo, autocommit=True) as conn:
            # Polled, not blocking: a session waiting in pg_advisory_lock holds a snapshot
            # that the holder's CREATE INDEX CONCURRENTLY waits for (a deadlock, measured).
            for _ in waiting(settings.postgres_connect_seconds, "checkpoint set-up is stuck"):
                taken = conn.execute(_TRY_LOCK, (_SETUP,)).fetchone()
                if taken == (True,):
                    break
            PostgresSaver(conn).setup()  # type: ignore[arg-type]
        pool: ConnectionPool[Any] = ConnectionPool(
            conninfo,
            kwargs=kwargs,
            min_size=1,
            max_size=settings.postgres_pool_size,
            timeout=settings.postgres_connect_seconds,
            open=True,
        )
        pool.wait(timeout=settings.postgres_connect_seconds)
    except (OperationalError, PoolTimeout, RunLocked) as exc:
        raise StorageError(f"cannot open checkpoints on PostgreSQL: {exc}") from exc
    return PostgresSaver(pool), pool.close


def checkpoint_after_runs(db: Database, signer: Signer | None) -> Callable[[str], None] | None:
    """With a signing key, every finished run leaves a signed checkpoint of the audit log."""
    if signer is None:
        return None

    def after_run(run_id: str) -> None:
        checkpoints.sign_now(db, signer)

    return after_run


def build_runtime(settings: Settings) -> Runtime:
    db = open_database(settings)
    saver, close = open_checkpointer(settings)
    signer = parts.signer(settings)
    deps = EngineDeps(
        db=db,
        executors=build_executors(settings),
        retry_backoff_seconds=settings.retry_backoff_seconds,
        after_run=checkpoint_after_runs(db, signer),
        catalog=parts.catalog(settings),
        freeze=parts.freeze_calendar(settings),
        directory=parts.directory(settings),
        agents=build_kit(settings),
        dry_run=settings.dry_run,
    )
    locks: RunLock = (
        AdvisoryRunLocks(
            db.engine,
            timeout=settings.lock_timeout_seconds,
            stall_seconds=settings.worker_stall_seconds,
        )
        if settings.on_postgres
        else RunLocks(settings.lock_dir, timeout=settings.lock_timeout_seconds)
    )
    runner = Runner(deps, saver, locks)
    return Runtime(settings, db, runner, close, signer)
