"""The audit trail: an append-only, hash-chained log of everything that happened.

Each event's `hash` is SHA-256 over the previous event's hash (64 lowercase hex digits;
64 zeros before the first event) followed by the event's canonical JSON (see
`canonical_event` and docs/audit.md). Events are appended inside the caller's write
transaction, so an event exists if and only if the state change it records was committed.
On SQLite that transaction holds the database's write lock, so `seq` can never fork; the
primary key on `seq` refuses a fork anyway. Triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from baton.store import jsontext, sql

GENESIS = "0" * 64
BLOB_THRESHOLD = 8192
"""Payloads whose canonical JSON is larger are stored once in `audit_blobs`, by digest."""

SUBJECTS = ("incident", "run", "task", "item", "pattern")
_SUBJECTS = frozenset(SUBJECTS)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN/Infinity (docs/audit.md)."""
    return jsontext.canonical(value)


def rfc3339(at: datetime) -> str:
    """UTC with microseconds and a `Z`: the one time format that is hashed."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _string(value: str | None) -> str:
    """A JSON string (or null) exactly as `canonical_json` writes it, via json's C encoder."""
    return "null" if value is None else encode_basestring(value)


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str
    kind: str
    subjects: dict[str, str | None]
    status: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


def canonical_event(
    *,
    seq: int,
    at: datetime | str,
    actor: str,
    kind: str,
    subjects: Mapping[str, str | None],
    status: str | None,
    payload_text: str,
) -> str:
    """The canonical JSON of an event whose payload is already canonical JSON.

    Equal to `canonical_json` of the whole event (keys in sorted order; tested), but
    serialises the payload once: it is also what the database stores. `at` may be given
    already formatted (RFC 3339, as hashed).
    """
    get = subjects.get
    return _canonical(
        seq,
        at if isinstance(at, str) else rfc3339(at),
        actor,
        kind,
        get("incident"),
        get("item"),
        get("pattern"),
        get("run"),
        get("task"),
        status,
        payload_text,
    )


def _canonical(
    seq: int,
    at: str,
    actor: str,
    kind: str,
    incident: str | None,
    item: str | None,
    pattern: str | None,
    run: str | None,
    task: str | None,
    status: str | None,
    payload_text: str,
) -> str:
    """The event's canonical JSON (keys sorted, compact), as `canonical_json` would give it."""
    head, tail = _around_seq(
        at, actor, kind, incident, item, pattern, run, task, status, payload_text
    )
    return f"{head}{seq}{tail}"


def _around_seq(
    at: str,
    actor: str,
    kind: str,
    incident: str | None,
    item: str | None,
    pattern: str | None,
    run: str | None,
    task: str | None,
    status: str | None,
    payload_text: str,
) -> tuple[str, str]:
    """The canonical JSON before and after the sequence number: PostgreSQL hashes on the
    server, where the number is taken (`baton_audit_append`), SQLite in `_canonical`."""
    s = _string
    return (
        f'{{"actor":{s(actor)},"at":"{at}","kind":{s(kind)},"payload":{payload_text},"seq":',
        f',"status":{s(status)},"subjects":{{"incident":{s(incident)},'
        f'"item":{s(item)},"pattern":{s(pattern)},"run":{s(run)},"task":{s(task)}}}}}',
    )


def chain_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical.encode()).hexdigest()


_HEAD = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
_LOCK = "SELECT pg_advisory_xact_lock(7423501)"
_APPEND = (
    "SELECT seq, prev_hash, hash FROM baton_audit_append(CAST(:at AS timestamp), :actor, :kind,"
    " :incident, :run, :task, :item, :pattern, :status, CAST(:payload AS json), :head, :tail)"
)
_INSERT = (
    "INSERT INTO audit_events (seq, at, actor, kind, incident_id, run_id, task_id, item_id,"
    " pattern_id, status, payload, prev_hash, hash) VALUES (:seq, :at, :actor, :kind,"
    " :incident, :run, :task, :item, :pattern, :status, :payload, :prev_hash, :hash)"
)
_INSERT_SQLITE = (
    "INSERT INTO audit_events (seq, at, actor, kind, incident_id, run_id, task_id, item_id,"
    " pattern_id, status, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_BLOB = (
    "INSERT INTO audit_blobs (digest, body) VALUES (:digest, :body) ON CONFLICT (digest) DO NOTHING"
)


def append(
    session: sql.Tx,
    *,
    actor: str,
    kind: str,
    status: str | None = None,
    payload: Mapping[str, Any] | None = None,
    **subjects: str | None,
) -> AuditEvent:
    """Append one event in the caller's transaction and return it (with its hash)."""
    if not _SUBJECTS.issuperset(subjects):
        raise TypeError(f"unknown audit subjects {sorted(set(subjects) - _SUBJECTS)}")
    get = subjects.get
    seq, at, body, prev, event_hash = _link(
        sql.connection(session),
        actor,
        kind,
        status,
        dict(payload) if payload else {},
        get("incident"),
        get("run"),
        get("task"),
        get("item"),
        get("pattern"),
    )
    return AuditEvent(seq, at, actor, kind, dict(subjects), status, body, prev, event_hash)


def record(
    conn: sql.Conn,
    *,
    actor: str,
    kind: str,
    status: str | None,
    payload: dict[str, Any],
    run: str,
    task: str | None = None,
    item: str | None = None,
) -> None:
    """`append` for the per-task hot path: same event, nothing handed back.

    Every action appends two events; building the `AuditEvent` that nobody reads, and
    passing subjects by keyword, is a measurable share of that (bench/engine.py).
    """
    _link(conn, actor, kind, status, payload, None, run, task, item, None, False)


def _link(
    conn: sql.Conn,
    actor: str,
    kind: str,
    status: str | None,
    body: dict[str, Any],
    incident: str | None,
    run: str | None,
    task: str | None,
    item: str | None,
    pattern: str | None,
    needed: bool = True,
) -> tuple[int, datetime, dict[str, Any], str, str]:
    """Insert the next link of the chain; (seq, at, payload as stored, prev_hash, hash)."""
    body, text, blob = _stored_payload(body)
    if blob is not None:
        sql.send(conn, _BLOB, {"digest": blob[0], "body": blob[1]})
    if isinstance(conn, sql.PgRaw):
        return _link_on_server(
            conn, actor, kind, status, body, text, incident, run, task, item, pattern, needed
        )
    at = sql.stamp(conn)
    if isinstance(conn, sql.Raw):  # SQLite's hot path: the head cached, the row positional
        cached = conn.audit_head
        head = cached if cached is not None else _head(conn)
        subjects = (incident, item, pattern, run, task)
        try:
            link = _insert_sqlite(conn, head, at, actor, kind, status, text, subjects)
        except sqlite3.IntegrityError:
            fresh = _head(conn)
            if fresh == head:  # not a stale head: some other constraint
                raise
            link = _insert_sqlite(conn, fresh, at, actor, kind, status, text, subjects)
        conn.audit_head = (link[0], link[2])
        return link[0], at.at, body, link[1], link[2]
    seq, prev = _head(conn)
    seq += 1
    canonical = _canonical(
        seq, at.rfc3339, actor, kind, incident, item, pattern, run, task, status, text
    )
    event_hash = chain_hash(prev, canonical)
    sqlite = conn.dialect.name == "sqlite"
    sql.execute(
        conn,
        _INSERT,
        {
            "seq": seq,
            # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff': the hashed time, reformatted.
            "at": at.sqlite if sqlite else sql.when(conn, at.at),
            "actor": actor,
            "kind": kind,
            "incident": incident,
            "run": run,
            "task": task,
            "item": item,
            "pattern": pattern,
            "status": status,
            # Canonical JSON is valid JSON: SQLite stores it as it is.
            "payload": text if sqlite else sql.document(conn, body),
            "prev_hash": prev,
            "hash": event_hash,
        },
    )
    return seq, at.at, body, prev, event_hash


def _stored_payload(body: dict[str, Any]) -> tuple[dict[str, Any], str, tuple[str, str] | None]:
    """(payload as the event stores it, its canonical JSON, (digest, text) of the blob that
    holds it instead if it is too big to store inline)."""
    text = canonical_json(body)
    if len(text) <= BLOB_THRESHOLD:
        return body, text, None
    ref = digest(text)
    stored = {"$blob": ref, "bytes": len(text.encode())}
    return stored, canonical_json(stored), (ref, text)


def server_event(
    at: sql.Stamp,
    *,
    actor: str,
    kind: str,
    status: str | None,
    payload: dict[str, Any],
    run: str,
    task: str | None,
) -> dict[str, Any]:
    """An event a server function appends (`baton_task_mark`, migration 0005), as its
    parameters: the payload's canonical JSON (or its blob's reference, with the blob) and
    the canonical JSON around the sequence number, which the server fills in."""
    _, text, blob = _stored_payload(payload)
    head, tail = _around_seq(at.rfc3339, actor, kind, None, None, None, run, task, status, text)
    return {
        "blob_digest": blob[0] if blob else None,
        "blob": blob[1] if blob else None,
        "payload": text,
        "head": head,
        "tail": tail,
    }


def _head(conn: sql.Conn) -> tuple[int, str]:
    """The chain's head: (seq, hash) of its last event, or (0, GENESIS)."""
    if conn.dialect.name == "postgresql":
        # SQLite's write lock serialises appends; PostgreSQL needs this one (released at
        # commit) so two transactions never read the same head. The head is read by a
        # statement of its own: under READ COMMITTED a statement reads the snapshot
        # taken when it starts, so only one after the lock sees the holder's append.
        sql.execute(conn, _LOCK, {})
    found = sql.first(conn, _HEAD, {})
    return (found["seq"], found["hash"]) if found else (0, GENESIS)


def _insert_sqlite(
    raw: sql.Raw,
    head: tuple[int, str],
    at: sql.Stamp,
    actor: str,
    kind: str,
    status: str | None,
    text: str,
    subjects: tuple[str | None, str | None, str | None, str | None, str | None],
) -> tuple[int, str, str]:
    """The link after `head` on SQLite; (seq, prev_hash, hash). SQLite keeps the hashed time
    reformatted ('YYYY-MM-DD HH:MM:SS.ffffff') and the canonical JSON as it is (valid JSON).
    `sqlite3.IntegrityError` if `head` is stale: its next sequence number is taken."""
    seq, prev = head[0] + 1, head[1]
    incident, item, pattern, run, task = subjects
    canonical = _canonical(
        seq, at.rfc3339, actor, kind, incident, item, pattern, run, task, status, text
    )
    event_hash = chain_hash(prev, canonical)
    row = (seq, at.sqlite, actor, kind, incident, run, task, item, pattern, status, text)
    raw.dbapi.execute(_INSERT_SQLITE, (*row, prev, event_hash))
    return seq, prev, event_hash


def _link_on_server(
    conn: sql.PgRaw,
    actor: str,
    kind: str,
    status: str | None,
    body: dict[str, Any],
    text: str,
    incident: str | None,
    run: str | None,
    task: str | None,
    item: str | None,
    pattern: str | None,
    needed: bool,
) -> tuple[int, datetime, dict[str, Any], str, str]:
    """PostgreSQL's hot path: `baton_audit_append` (migration 0003) takes the chain's lock
    (the one the Python append above takes too), reads the head and inserts the event hashed
    over `head || seq || tail`: one statement instead of three round trips. When
    nothing of the link is `needed` (the hot path's `record`), it waits in the pipeline
    for the transaction's next round trip (`sql.send`); seq and hashes are then 0 and ""."""
    at = sql.stamp(conn)
    head, tail = _around_seq(
        at.rfc3339, actor, kind, incident, item, pattern, run, task, status, text
    )
    params = {
        "at": sql.when(conn, at.at),
        "actor": actor,
        "kind": kind,
        "incident": incident,
        "run": run,
        "task": task,
        "item": item,
        "pattern": pattern,
        "status": status,
        "payload": sql.document(conn, body),
        "head": head,
        "tail": tail,
    }
    if not needed:
        sql.send(conn, _APPEND, params)
        return 0, at.at, body, "", ""
    found = sql.first(conn, _APPEND, params)
    assert found is not None
    return found["seq"], at.at, body, found["prev_hash"], found["hash"]


_COLUMNS = (
    "seq, at, actor, kind, incident_id, run_id, task_id, item_id, pattern_id, status,"
    " payload, prev_hash, hash"
)


def _event(conn: sql.Conn, row: Mapping[str, Any]) -> AuditEvent:
    at = sql.read_when(conn, row["at"])
    assert at is not None
    return AuditEvent(
        seq=row["seq"],
        at=at,
        actor=row["actor"],
        kind=row["kind"],
        subjects={name: row[f"{name}_id"] for name in SUBJECTS},
        status=row["status"],
        payload=sql.read_document(conn, row["payload"]) or {},
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def events(
    session: sql.Tx, *, run_id: str | None = None, after: int = 0, limit: int | None = None
) -> Iterator[AuditEvent]:
    """Events in `seq` order, optionally of one run, streamed in batches."""
    conn = sql.connection(session)
    where = "seq > :after" + (" AND run_id = :run_id" if run_id else "")
    batch = 5000 if limit is None else min(limit, 5000)
    seen = 0
    while True:
        rows = sql.rows(
            conn,
            f"SELECT {_COLUMNS} FROM audit_events WHERE {where} ORDER BY seq LIMIT :n",  # noqa: S608
            {"after": after, "run_id": run_id, "n": batch},
        )
        for row in rows:
            yield _event(conn, row)
            seen += 1
            if limit is not None and seen >= limit:
                return
        if len(rows) < batch:
            return
        after = rows[-1]["seq"]


def blob(session: sql.Tx, ref: str) -> str | None:
    row = sql.first(
        sql.connection(session), "SELECT body FROM audit_blobs WHERE digest = :d", {"d": ref}
    )
    return None if row is None else str(row["body"])


@dataclass(frozen=True)
class Verdict:
    """The result of walking the chain: ok, or the first broken link and why."""

    ok: bool
    events: int
    head: str
    broken_seq: int | None = None
    expected: str | None = None
    found: str | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.events} events, head {self.head}"
        return (
            f"broken at seq {self.broken_seq}: {self.reason}"
            f" (expected {self.expected}, found {self.found})"
        )


def _stored_time(value: Any) -> str:
    """A stored `at` (SQLite text or a driver's naive UTC datetime) as hashed (RFC 3339)."""
    if isinstance(value, str) and len(value) == 26 and value[10] == " ":
        return f"{value[:10]}T{value[11:]}Z"  # SQLite's 'YYYY-MM-DD HH:MM:SS.ffffff'
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return rfc3339(at.replace(tzinfo=UTC) if at.tzinfo is None else at)


def verify(session: sql.Tx) -> Verdict:
    """Recompute every link from the stored fields; name the first one that does not hold.

    Reads rows as the database holds them: on SQLite the payload column already is the
    canonical JSON that was hashed, so any edit to it, even of whitespace, breaks the link.
    """
    conn = sql.connection(session)
    result = sql.execute(sql.driver(conn), f"SELECT {_COLUMNS} FROM audit_events ORDER BY seq", {})  # noqa: S608
    prev, count = GENESIS, 0
    blobs_checked: set[str] = set()
    for row in result:
        seq, at, actor, kind, incident, run, task, item, pattern, status, payload = row[:11]
        prev_hash, stored_hash = row[11], row[12]
        count += 1
        if seq != count:
            return Verdict(False, count - 1, prev, seq, str(count), str(seq), "gap")
        if prev_hash != prev:
            return Verdict(False, count - 1, prev, seq, prev, prev_hash, "prev_hash mismatch")
        payload_text = payload if isinstance(payload, str) else canonical_json(payload)
        canonical = _canonical(
            seq,
            _stored_time(at),
            actor,
            kind,
            incident,
            item,
            pattern,
            run,
            task,
            status,
            payload_text,
        )
        expected = chain_hash(prev, canonical)
        if expected != stored_hash:
            return Verdict(False, count - 1, prev, seq, expected, stored_hash, "hash mismatch")
        if payload_text.startswith('{"$blob":'):
            ref = json.loads(payload_text)["$blob"]
            if ref not in blobs_checked:
                body = blob(conn, ref)
                found = digest(body) if body is not None else "missing"
                if found != ref:
                    return Verdict(False, count - 1, prev, seq, ref, found, "blob mismatch")
                blobs_checked.add(ref)
        prev = stored_hash
    return Verdict(True, count, prev)


def hashes(session: sql.Tx, *, upto: int | None = None) -> list[bytes]:
    """The chain hashes (32 bytes each) of events 1..upto, in order: the Merkle entries."""
    conn = sql.driver(sql.connection(session))
    query = "SELECT hash FROM audit_events WHERE seq <= :upto ORDER BY seq"
    rows = sql.execute(conn, query, {"upto": upto if upto is not None else 2**62})
    return [bytes.fromhex(row[0]) for row in rows]


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root: str
    at: str
    key_id: str
    signature: str


def add_checkpoint(session: sql.Tx, checkpoint: Checkpoint) -> None:
    sql.execute(
        sql.connection(session),
        "INSERT INTO audit_checkpoints (tree_size, root, at, key_id, signature)"
        " VALUES (:tree_size, :root, :at, :key_id, :signature)"
        " ON CONFLICT (tree_size) DO NOTHING",
        checkpoint.__dict__,
    )


def latest_checkpoint(session: sql.Tx) -> Checkpoint | None:
    row = sql.first(
        sql.connection(session),
        "SELECT tree_size, root, at, key_id, signature FROM audit_checkpoints"
        " ORDER BY tree_size DESC LIMIT 1",
        {},
    )
    return Checkpoint(**row) if row else None


def head_seq(session: sql.Tx) -> int:
    """The sequence number of the newest event (0 for an empty trail)."""
    row = sql.first(sql.connection(session), _HEAD, {})
    return int(row["seq"]) if row else 0
