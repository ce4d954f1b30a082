"""compose.yaml and the Dockerfile document the scale-out topology (issue 13). CI has no
container engine, so what can drift without one is checked here: every command is one the
CLI accepts, every BATON_ variable is a setting, the home volume is the directory the image
prepares for its user, and the topology is one server and two workers on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from typer.core import TyperGroup
from typer.main import get_command

from baton.cli.main import app
from baton.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def services() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "compose.yaml").read_text())
    return loaded["services"]  # type: ignore[no-any-return]


def test_every_baton_command_parses_with_the_cli() -> None:
    baton = get_command(app)
    assert isinstance(baton, TyperGroup)
    parsed = {}
    for name, service in services().items():
        argv = service.get("command")
        if not argv or argv[0] != "baton":
            continue
        command = baton.commands[argv[1]]
        parsed[name] = command.make_context(argv[1], list(argv[2:])).params  # raises if not
    assert parsed["serve"]["demo"] and parsed["serve"]["home"] == Path("/srv/baton")
    assert parsed["serve"]["host"] == "0.0.0.0"  # reachable through the mapped port
    assert parsed["worker"]["concurrency"] >= 1


def test_the_topology_is_one_server_and_two_workers_on_one_database_and_home() -> None:
    found = services()
    assert found["worker"]["deploy"]["replicas"] == 2
    serve, worker = found["serve"], found["worker"]
    assert serve["environment"] == worker["environment"]
    url = serve["environment"]["BATON_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@postgres:" in url
    assert serve["volumes"] == worker["volumes"]
    # The workers start once the server answers: it seeds the home they read.
    assert worker["depends_on"] == {"serve": {"condition": "service_healthy"}}
    assert "/readyz" in " ".join(serve["healthcheck"]["test"])
    for service in found.values():
        assert set(service.get("depends_on", {})) <= set(found)


def test_every_variable_is_a_setting() -> None:
    known = {f"BATON_{name.upper()}" for name in Settings.model_fields}
    for service in services().values():
        names = {n for n in service.get("environment", {}) if n.startswith("BATON_")}
        assert names <= known, names - known


def test_the_home_volume_is_the_directory_the_image_gives_its_user() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    user = re.search(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert user is not None and user.group(1) != "root"
    for name in ("serve", "worker"):
        service = services()[name]
        (target,) = [m.split(":")[1] for m in service["volumes"] if m.startswith("home:")]
        assert f"mkdir -p {target} && chown {user.group(1)} {target}" in dockerfile
        assert service["environment"]["BATON_HOME"] == target
