"""An alert storm across two API processes on one PostgreSQL database."""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.faults.conftest import Estate
from tests.integration import postgres
from tests.integration.test_api_webhooks import am_group

pytestmark = [pytest.mark.integration, postgres.needed]

GROUPS = 200
DELIVERIES = 1000
DUPLICATES = 0.3


def deliveries(seed: int) -> list[bytes]:
    """Each group grows from one alert to up to four over its deliveries (Alertmanager adds
    alerts to a group as they fire); 30% of all deliveries are byte-identical re-sends."""
    rng = random.Random(seed)
    distinct = int(DELIVERIES * (1 - DUPLICATES))
    grows = [(g, n) for n in range(1, 5) for g in range(GROUPS)][:distinct]
    bodies = [
        json.dumps(am_group(f"storm{g:04d}", [f"storm{g:04d}{k:08x}" for k in range(n)]))
        for g, n in grows
    ]
    bodies += [rng.choice(bodies) for _ in range(DELIVERIES - len(bodies))]
    rng.shuffle(bodies)
    return [b.encode() for b in bodies]


def test_a_storm_of_redelivered_groups_opens_exactly_one_incident_per_group(
    estate: Estate,
) -> None:
    """Must hold: 1,000 deliveries (30% duplicates) sent at once to two API processes open
    exactly one incident and one run per alert group, and every answer names that incident."""
    servers = [estate.server(), estate.server()]
    bodies = deliveries(seed=13)
    clients = [httpx.Client(base_url=s.url, timeout=60) for s in servers]
    headers = {"Authorization": "Bearer am-token", "Content-Type": "application/json"}
    turn = itertools.count()

    def send(body: bytes) -> dict[str, object]:
        client = clients[next(turn) % len(clients)]
        for _ in range(20):  # a busy database answers 503 + Retry-After: senders retry
            response = client.post("/v1/webhooks/alertmanager", content=body, headers=headers)
            if response.status_code != 503:
                assert response.status_code == 200, response.text
                return dict(response.json())
            time.sleep(0.2)
        raise AssertionError("still 503 after 20 tries")

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(send, bodies))
    elapsed = time.monotonic() - began
    for client in clients:
        client.close()

    seen: dict[str, set[str]] = defaultdict(set)
    for answer in answers:
        for result in answer["results"]:  # type: ignore[attr-defined]
            group = result["fingerprint"][:9]
            seen[group].add(result["incident_id"])
    assert len(seen) == GROUPS
    split = {g: ids for g, ids in seen.items() if len(ids) != 1}
    assert not split, f"groups answered with more than one incident: {split}"

    engine = create_engine(estate.database_url)
    with engine.connect() as conn:
        incidents = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
        runs = conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
    engine.dispose()
    assert (incidents, runs) == (GROUPS, GROUPS), f"in {elapsed:.1f} s"
