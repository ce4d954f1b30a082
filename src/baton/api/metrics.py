"""Prometheus metrics of one server (its own registry: two apps in one process never clash).

Counters and histograms are observed where things happen; run counts by state are read from
the database at scrape time, so they are right whoever moved the runs (CLI or server).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from baton.domain.status import ItemKind, RunStatus
from baton.store.db import Database
from baton.store.models import PendingItemRow, RunRow

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_WAIT = (10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)


class _StoreCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runs = GaugeMetricFamily("baton_runs", "Runs by state.", labels=["state"])
        items = GaugeMetricFamily(
            "baton_pending_items", "Items waiting for a person, by kind.", labels=["kind"]
        )
        # Every state and kind, zeros included: an absent series reads as "no data", not 0.
        by_state = dict.fromkeys((s.value for s in RunStatus), 0)
        by_kind = dict.fromkeys((k.value for k in ItemKind), 0)
        with self.db.read() as session:
            for state, count in session.execute(
                select(RunRow.status, func.count()).group_by(RunRow.status)
            ):
                by_state[state] = count
            for kind, count in session.execute(
                select(PendingItemRow.kind, func.count())
                .where(PendingItemRow.status == "pending")
                .group_by(PendingItemRow.kind)
            ):
                by_kind[kind] = count
        for state, count in by_state.items():
            runs.add_metric([state], count)
        for kind, count in by_kind.items():
            items.add_metric([kind], count)
        yield runs
        yield items


class Metrics:
    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.alerts_received = Counter(
            "baton_alerts_received", "Alerts received, by source.", ["source"], registry=r
        )
        self.alert_outcomes = Counter(
            "baton_alert_outcomes",
            "What received alerts did: created, deduplicated, attached, suppressed, no_route, "
            "resolved.",
            ["source", "outcome"],
            registry=r,
        )
        self.webhooks_rejected = Counter(
            "baton_webhooks_rejected",
            "Webhook deliveries refused, by source and reason.",
            ["source", "reason"],
            registry=r,
        )
        self.gate_wait = Histogram(
            "baton_gate_wait_seconds",
            "How long an item waited for the answer that settled it.",
            ["kind"],
            buckets=_WAIT,
            registry=r,
        )
        self.task_duration = Histogram(
            "baton_task_duration_seconds",
            "Task durations, by task type (agent tasks: the agent's latency).",
            ["type"],
            buckets=_LATENCY,
            registry=r,
        )
        self.advance_duration = Histogram(
            "baton_advance_seconds",
            "Time a worker spent moving a run until it waited or ended.",
            buckets=_LATENCY,
            registry=r,
        )
        self.requests = Histogram(
            "baton_http_request_seconds",
            "HTTP requests, by route template and status.",
            ["method", "route", "status"],
            buckets=_LATENCY,
            registry=r,
        )
        r.register(_StoreCollector(db))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def observe_tasks(self, rows: list[Any]) -> None:
        """Task rows that finished (started_at and finished_at set) since last observed."""
        for row in rows:
            if row.started_at and row.finished_at:
                seconds = (row.finished_at - row.started_at).total_seconds()
                self.task_duration.labels(row.task_type).observe(max(0.0, seconds))
