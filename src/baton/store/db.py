"""Engine and sessions: `Database.read()` for queries, `Database.write()` for units of work.

On SQLite (WAL) a write transaction starts with `BEGIN IMMEDIATE`, taking the write lock up
front, so two processes (a `baton run` and a `baton approve`) queue on `busy_timeout`
instead of failing a read-to-write upgrade. Reads use a deferred BEGIN: a WAL snapshot that
never blocks a writer, so a read held open can't deadlock a write in the same process.
"""

from __future__ import annotations

import fcntl
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from baton.errors import ConfigError, Fenced, StorageError
from baton.settings import Settings
from baton.store import migrations, sql
from baton.store.locks import FENCE

if TYPE_CHECKING:
    from baton.store.migrations.apply import Status

_WRITE = "baton_write"


def create_db_engine(
    url: str,
    *,
    synchronous: str = "NORMAL",
    wal_autocheckpoint: int = 1000,
    busy_timeout_ms: int = 30000,
) -> Engine:
    """An engine for `url`; SQLite gets WAL, busy timeout, foreign keys and immediate txns."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    # Sessions and connections always end their own transactions, so the pool need not
    # roll back again on every check-in (a measurable cost on the per-task hot path).
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        pool_reset_on_return=None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        prepare_sqlite(dbapi_conn, synchronous, wal_autocheckpoint, busy_timeout_ms)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def prepare_sqlite(
    dbapi_conn: Any, synchronous: str, wal_autocheckpoint: int, busy_timeout_ms: int = 30000
) -> None:
    """The pragmas every connection to Baton's SQLite files gets (checkpoints' too)."""
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA synchronous={synchronous}")
    cur.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cur.close()


def init_schema(engine: Engine) -> Status | None:
    """Bring the schema to the newest migration; `StorageError` if we can't, and then the
    database stays as it was (the whole upgrade is one transaction, on SQLite too).

    A database at head costs one query and no alembic (every CLI command opens one). Else
    it returns where the database stood: empty, made before migrations (adopted, then
    upgraded) or at an older revision.
    """
    if migrations.at_head(engine):
        return None
    from baton.store.migrations import apply  # ~80 ms of imports: only when there is work

    try:
        with (
            engine.execution_options(**{_WRITE: True}).connect() as conn,
            _foreign_keys_off(conn),
            conn.begin(),
        ):
            return apply.upgrade(conn)
    except DBAPIError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StorageError(f"cannot open database {where}: {exc.orig}") from exc


@contextmanager
def _foreign_keys_off(conn: Connection) -> Iterator[None]:
    """SQLite: no foreign key enforcement while migrating, as SQLite's own procedure for
    rebuilding a table asks (a batch migration drops a table others refer to; deferred
    checks are not enough, the drop counts as a violation the rename never undoes). The
    pragma is a no-op inside a transaction, so it is set before BEGIN; `apply.upgrade` runs
    `PRAGMA foreign_key_check` before the commit instead."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


class Database:
    """The app database, and the one way to open a transaction on it.

    `read()` (a consistent snapshot) and `write()` (a unit of work: commit or roll back)
    yield an ORM session; `begin()` (a write for the per-task hot path) and `peek()`
    (single-statement reads) yield a Core connection. Whichever opened it, the store's
    functions take it as a `sql.Tx`; the four differ in cost, never in what a caller may
    do with the store.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        synchronous: str = "NORMAL",
        wal_autocheckpoint: int = 1000,
        busy_timeout_ms: int = 30000,
    ) -> None:
        self.engine = engine
        self._reader = sessionmaker(engine, expire_on_commit=False)
        self._write_engine = engine.execution_options(**{_WRITE: True})
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)
        self._synchronous = synchronous
        self._wal_autocheckpoint = wal_autocheckpoint
        self._busy_timeout_ms = busy_timeout_ms
        self._idle: queue.SimpleQueue[sql.Raw] = queue.SimpleQueue()
        self._lent: list[sql.Raw] = []

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; whatever it reads is one consistent snapshot."""
        with self._reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        with self._writer() as session, session.begin():
            if self.engine.dialect.name != "sqlite":
                _check_fence(session.connection())
            yield session

    def begin(self) -> AbstractContextManager[sql.Conn]:
        """A write transaction for the per-task hot path (`store.sql` statements only).

        It runs on a DB-API connection of its own, without SQLAlchemy's connection and
        transaction layers: on SQLite they cost more than SQLite's commit itself
        (bench/engine.py); on PostgreSQL the transaction is pipelined (`sql.PgRaw`).
        """
        if self.engine.dialect.name != "sqlite":
            return _PgTransaction(self)
        return _Transaction(self)

    def call(self, statement: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """PostgreSQL only: one statement as a transaction of its own, in one round trip (no
        BEGIN, no COMMIT, no fence read of its own); its first row, or None.

        For the server functions that do a whole transaction's writes and check the fence
        themselves (`store.action_steps`, migration 0005). A connection found dead is
        replaced and the statement sent once more, so a function called here must find
        its own rows if it was committed before the answer was lost.
        """
        assert self.engine.dialect.name == "postgresql", "Database.call is PostgreSQL's"
        return _pg_call(self, statement, params)

    @property
    def _hot(self) -> Engine:
        hot = _HOT.get(self.engine)
        return hot if hot is not None else _hot_engine(self.engine)

    @property
    def local(self) -> bool:
        """An embedded database (a local SQLite file): a read never waits on a network."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def peek(self) -> Iterator[sql.Conn]:
        """A connection for a few single-statement reads, with no transaction around them
        (each statement sees a consistent snapshot on its own): the cheapest read there is,
        for hot paths that only look (alert redeliveries)."""
        if self.engine.dialect.name != "sqlite":
            with self.engine.connect() as conn:
                yield conn
            return
        raw = self._borrow()
        try:
            yield raw
        finally:
            self._idle.put(raw)

    def _borrow(self) -> sql.Raw:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            conn = sqlite3.connect(
                self.engine.url.database or ":memory:",
                timeout=self._busy_timeout_ms / 1000,
                check_same_thread=False,
            )
            prepare_sqlite(conn, self._synchronous, self._wal_autocheckpoint, self._busy_timeout_ms)
            raw = sql.Raw(conn, self.engine.dialect)
            self._lent.append(raw)
            return raw

    def close(self) -> None:
        for raw in self._lent:
            raw.dbapi.close()
        self._lent.clear()
        self.engine.dispose()


_GENERATION = text("SELECT generation FROM runs WHERE id = :run_id FOR SHARE")


def _check_fence(conn: Connection) -> None:
    """Refuse the transaction if this context advances a run whose lock another process
    has since taken (`store.locks.FENCE`). The row stays share-locked until commit, so a
    takeover (which bumps the generation) waits for this transaction or wins before it."""
    fence = FENCE.get()
    if fence is None:
        return
    run_id, generation = fence
    current = conn.execute(_GENERATION, {"run_id": run_id}).scalar_one_or_none()
    if current is not None and current != generation:
        raise Fenced(
            f"fenced: run {run_id} was taken over (generation {current}, this process held "
            f"{generation}); nothing of this step is written"
        )


_HOT: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_HOT_LOCK = threading.Lock()


def _hot_engine(engine: Engine) -> Engine:
    """PostgreSQL: the pool of `engine`'s hot-path connections (`Database.begin`), one per
    engine and disposed with it. Autocommit, because `sql.PgRaw` sends its own BEGIN; no
    pre-ping (a round trip before every transaction): a connection found dead when the
    first round trip fails is replaced and the transaction sent again (`_PgTransaction`)."""
    with _HOT_LOCK:
        hot = _HOT.get(engine)
        if hot is None:
            hot = _HOT[engine] = create_engine(
                engine.url,
                isolation_level="AUTOCOMMIT",
                pool_reset_on_return=None,
                pool_size=engine.pool.size(),  # type: ignore[attr-defined]
            )
            event.listen(engine, "engine_disposed", lambda _engine: hot.dispose())
            event.listen(hot, "close", _leave_pipeline)
        return hot


_PIPELINE = "baton_pipeline"


def _leave_pipeline(dbapi: Any, record: Any) -> None:
    """A hot-path connection is closed: leave pipeline mode first (else psycopg warns when
    the mode's context is collected, the connection already closed)."""
    held = record.info.pop(_PIPELINE, None)
    if held is not None and not dbapi.broken:
        with suppress(Exception):
            held[0].__exit__(None, None, None)


_FENCE_ROW = "SELECT generation FROM runs WHERE id = :run_id FOR SHARE"


class _PgTransaction:
    """PostgreSQL's hot-path transaction: BEGIN ... COMMIT sent by `sql.PgRaw` on an
    autocommit connection in pipeline mode. BEGIN, the fence check and the first statement
    go to the server together, the last statements with the COMMIT.

    The fence is checked in the transaction, by the same share-locked read as `write()`,
    and before anything is committed: its result is looked at when the first round trip
    comes back, and no COMMIT is sent before that.
    """

    __slots__ = ("_db", "_dead", "_fairy", "_raw")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._dead = False

    def __enter__(self) -> sql.PgRaw:
        try:
            raw = self._open()
        except Exception:
            if not self._dead:
                raise
            # Found dead in the pool: the pool's other idle connections most likely died
            # with it (a restart, a failover), so they go too; once more, on a new one.
            self._db._hot.dispose()
            raw = self._open()
        raw.replay = self._replay
        return raw

    def _open(self) -> sql.PgRaw:
        fairy = self._fairy = self._db._hot.raw_connection()
        try:
            dbapi = fairy.driver_connection
            raw = self._raw = sql.PgRaw(dbapi, self._db.engine.dialect, _pipeline(fairy))
            raw.send("BEGIN", None)
            fence = FENCE.get()
            if fence is not None:
                cursor = raw.send(_FENCE_ROW, {"run_id": fence[0]})
                raw.check = lambda: _fenced(fence, cursor.fetchone())
        except BaseException:
            self._dead = bool(dbapi.broken)  # type: ignore[union-attr]
            self._close(broken=True)
            raise
        return raw

    def _replay(self) -> None:
        """The connection died before the first round trip came back: send the same
        statements on a new one (nothing of them was committed)."""
        sent = self._raw.sent or []
        old = self._raw
        self._close(broken=True)
        self._db._hot.dispose()  # its idle siblings most likely died with it
        raw = self._open()  # with its BEGIN and fence
        for statement, params, many in sent:
            if statement not in ("BEGIN", _FENCE_ROW):
                raw.send(statement, params, many)
        # The caller holds `old`: it takes over the new connection's state.
        old.dbapi, old.pipeline, old.sent, old.check = raw.dbapi, raw.pipeline, raw.sent, raw.check
        old.last = raw.last
        self._raw = old

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        raw = self._raw
        if kind is None:
            try:
                if raw.sent is not None:
                    # Nothing came back yet: the fence first. And COMMIT never travels in
                    # the first round trip, the one sent again on a new connection if this
                    # one is found dead: a COMMIT that ran there would then run twice.
                    raw.sync()
                raw.send("COMMIT", None)
                raw.sync()
            except BaseException:
                self._abort()
                raise
            self._close(broken=False)
            return
        self._abort()

    def _abort(self) -> None:
        """Roll back whatever is open; a connection that cannot is dropped from the pool."""
        raw = self._raw
        try:
            with suppress(Exception):  # out of an aborted pipeline: its error was raised
                raw.pipeline.sync()
            raw.dbapi.execute("ROLLBACK")
            raw.pipeline.sync()
            self._close(broken=False)
        except Exception:
            self._close(broken=True)

    def _close(self, *, broken: bool) -> None:
        fairy = self._fairy
        if broken or fairy.driver_connection.broken:  # type: ignore[union-attr]
            fairy.invalidate()
        fairy.close()


def _pipeline(fairy: Any) -> Any:
    """The pipeline of a hot-path connection. Pipeline mode is entered once per connection
    and never left: entering and leaving it cost a tenth of an action's transaction
    (bench/engine_pg.py). (The context manager is kept too: collected, it would leave the
    mode.)"""
    dbapi = fairy.driver_connection
    held = fairy.info.get(_PIPELINE)
    if held is None or held[2] is not dbapi:
        mode = dbapi.pipeline()
        held = fairy.info[_PIPELINE] = (mode, mode.__enter__(), dbapi)
    return held[1]


def _pg_call(db: Database, statement: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """`Database.call` on PostgreSQL: one statement, one round trip, on the hot pool."""
    text = sql.pg_statement(statement)
    for again in (False, True):
        fairy = db._hot.raw_connection()
        dbapi: Any = fairy.driver_connection
        try:
            pipeline = _pipeline(fairy)
            cursor = dbapi.cursor()
            cursor.execute(text, params)
            pipeline.sync()
            found = cursor.fetchone()
            names = [d[0] for d in cursor.description] if found is not None else []
        except Exception as exc:
            broken = bool(dbapi.broken)
            if broken:
                fairy.invalidate()
            fairy.close()
            if broken and not again:
                # Found dead (a restart, a failover): its idle siblings most likely died
                # with it. Sent once more on a new connection: the functions called here
                # recognise their own rows if the first one was committed after all.
                db._hot.dispose()
                continue
            if getattr(exc, "sqlstate", None) == _FENCED:
                raise Fenced(str(exc).strip()) from exc
            raise
        fairy.close()
        return dict(zip(names, found, strict=True)) if found is not None else None
    raise AssertionError("unreachable")


_FENCED = "BF001"
"""The SQLSTATE of `baton_fence` (migration 0005): another process took the run over."""


def _fenced(fence: tuple[str, int], row: tuple[int] | None) -> None:
    run_id, generation = fence
    if row is not None and row[0] != generation:
        raise Fenced(
            f"fenced: run {run_id} was taken over (generation {row[0]}, this process held "
            f"{generation}); nothing of this step is written"
        )


class _Transaction:
    """`BEGIN IMMEDIATE` ... `COMMIT` on a borrowed connection, returned to the pool after.

    A class rather than a generator: every action opens two of these (bench/engine.py).
    """

    __slots__ = ("_db", "_raw")

    def __init__(self, db: Database) -> None:
        self._db = db

    def __enter__(self) -> sql.Raw:
        raw = self._raw = self._db._borrow()
        try:
            raw.dbapi.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._abort()
            raise
        raw.stamp = None
        return raw

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is not None:
            self._abort()
            return
        try:
            self._raw.dbapi.execute("COMMIT")
        except BaseException:
            self._abort()
            raise
        self._db._idle.put(self._raw)

    def _abort(self) -> None:
        """Roll back whatever is open and lend the connection out again."""
        raw = self._raw
        try:
            raw.audit_head = None
            if raw.dbapi.in_transaction:
                raw.dbapi.execute("ROLLBACK")
        finally:
            self._db._idle.put(raw)


def ensure_home(home: Path) -> None:
    """Create `$BATON_HOME` or say exactly why we can't; never a traceback."""
    if home.exists() and not home.is_dir():
        raise ConfigError(f"BATON_HOME {home} is not a directory")
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create BATON_HOME {home}: {exc.strerror}") from exc
    if not os.access(home, os.W_OK | os.X_OK):
        raise ConfigError(f"BATON_HOME {home} is not writable by this user")


@contextmanager
def _schema_lock(home: Path) -> Iterator[None]:
    """One process at a time migrates a SQLite home: twenty `baton run`s started at once on
    a new home raced in creating it and lost runs to "database is locked" (a new file's
    switch to WAL is one of the races, so the check for work happens under it too)."""
    fd = os.open(home / ".schema.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def open_database(settings: Settings) -> Database:
    """The app database of `settings`, schema ensured; no engine, graph or executor."""
    ensure_home(settings.home)
    engine = create_db_engine(
        settings.resolved_database_url,
        synchronous=settings.sqlite_synchronous,
        wal_autocheckpoint=settings.sqlite_wal_autocheckpoint,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    # PostgreSQL needs no file lock: `init_schema` takes an advisory one across hosts.
    local = engine.dialect.name == "sqlite"
    try:
        with _schema_lock(settings.home) if local else nullcontext():
            init_schema(engine)
    except BaseException:
        engine.dispose()  # a process that reports the error and goes on holds no connection
        raise
    return Database(
        engine,
        synchronous=settings.sqlite_synchronous,
        wal_autocheckpoint=settings.sqlite_wal_autocheckpoint,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )


def open_database_readonly(settings: Settings) -> Database:
    """The app database for reading only (an auditor's copy may be read-only): no schema
    work, no pragmas that write. SQLite cannot read a WAL database in a directory nobody may
    write (it needs its shared-memory file there), so such a copy is read from a private
    snapshot of the database and its WAL in a temporary directory."""
    url = settings.resolved_database_url
    if not url.startswith("sqlite"):
        return Database(create_engine(url, pool_pre_ping=True))
    path = settings.sqlite_path
    if not path.exists():
        raise ConfigError(f"no database at {path}")
    if not os.access(path.parent, os.W_OK):
        snapshot = Path(tempfile.mkdtemp(prefix="baton-verify-")) / path.name
        for suffix in ("", "-wal"):
            source = path.with_name(path.name + suffix)
            if source.exists():
                shutil.copyfile(source, snapshot.with_name(snapshot.name + suffix))
        path = snapshot
    target = f"file:{path}?mode=ro"
    engine = create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(target, uri=True, check_same_thread=False),
        pool_reset_on_return=None,
    )
    return Database(engine)
