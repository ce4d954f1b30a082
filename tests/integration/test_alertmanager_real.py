"""A real Alertmanager (Debian's prometheus-alertmanager) notifies a real `baton serve`.

What must hold: one incident per alert group, however often Alertmanager re-sends the
group (repeat_interval 1s here); a second group opens a second incident; the bearer token
configured in Alertmanager's http_config is what lets it in.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_for
from tests.server import Server, ServerHome, free_port

pytestmark = pytest.mark.integration

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    if BINARY is None:
        pytest.skip("Debian's prometheus-alertmanager is not installed (.ci/run installs it)")
    home = ServerHome(tmp_path / "home")
    server = Server(home).start()
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        textwrap.dedent(f"""\
        route:
          receiver: baton
          group_by: [alertname, service]
          group_wait: 0s
          group_interval: 1s
          repeat_interval: 1s
        receivers:
          - name: baton
            webhook_configs:
              - url: {server.url}/v1/webhooks/alertmanager
                send_resolved: true
                http_config:
                  authorization:
                    credentials: am-token
        """)
    )
    with (tmp_path / "alertmanager.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                BINARY,
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=log,
        )
    am = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{am}/-/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, timeout=30, what="alertmanager ready")
        yield server, am
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        server.stop()


def _fire(am: str, service: str) -> None:
    alert = {
        "labels": {"alertname": "HighErrorRate", "severity": "critical", "service": service},
        "annotations": {"summary": f"{service} 5xx above 5%"},
        "startsAt": datetime.now(UTC).isoformat(),
    }
    assert httpx.post(f"{am}/api/v2/alerts", json=[alert], timeout=5).status_code == 200


def test_one_incident_per_group_however_often_alertmanager_resends(
    alertmanager: tuple[Server, str],
) -> None:
    server, am = alertmanager
    with server.client(server.home.token("alice")) as viewer:
        _check(viewer, am)


def _check(viewer: httpx.Client, am: str) -> None:
    _fire(am, "checkout")
    _fire(am, "search")

    def incidents() -> list[dict[str, object]]:
        return list(viewer.get("/v1/incidents").json()["items"])

    wait_for(lambda: len(incidents()) >= 2, timeout=30, what="two incidents")

    def redelivered() -> bool:
        details = [viewer.get(f"/v1/incidents/{i['id']}").json() for i in incidents()]
        return all(a["deliveries"] >= 3 for d in details for a in d["alerts"])

    wait_for(redelivered, timeout=30, what="alertmanager to re-send each group twice more")
    found = incidents()
    assert len(found) == 2, found
    assert sorted(i["service"] for i in found) == ["checkout", "search"]
    assert all(i["source"] == "alertmanager" for i in found)
    runs = viewer.get("/v1/runs").json()["items"]
    assert len(runs) == 2
