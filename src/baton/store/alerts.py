"""Alert episodes read on the redelivery hot path, with literal SQL (bench/ingest.py: the
ORM's `Session.get` was most of a redelivery's cost)."""

from __future__ import annotations

from typing import NamedTuple

from baton.store import sql


class Episode(NamedTuple):
    source: str
    instance: str
    status: str
    outcome: str
    incident_id: str | None


_COLUMNS = "source, instance, status, outcome, incident_id"


def episode(conn: sql.Conn, *, source: str, instance: str) -> Episode | None:
    row = sql.first(
        conn,
        f"SELECT {_COLUMNS} FROM alert_instances WHERE source = :s AND instance = :i",  # noqa: S608
        {"s": source, "i": instance},
    )
    return Episode(**row) if row else None


def latest_firing(conn: sql.Conn, *, source: str, fingerprint: str) -> Episode | None:
    """The alert's newest episode that is still firing, if any."""
    row = sql.first(
        conn,
        f"SELECT {_COLUMNS} FROM alert_instances WHERE source = :s AND fingerprint = :f"  # noqa: S608
        " AND status = 'firing' ORDER BY first_seen DESC LIMIT 1",
        {"s": source, "f": fingerprint},
    )
    return Episode(**row) if row else None
