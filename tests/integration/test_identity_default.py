"""Identity is never the honour system: a CLI without a people directory does not approve,
and `Alice` is `alice` (one person cannot approve her own request by changing case)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import cli_env

pytestmark = pytest.mark.integration

RUNBOOK = """\
id: gate-only
title: One gate
owner: sre
tasks:
  - {id: ok, type: approval, title: Go ahead?, approvers: [sre]}
"""


def baton(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baton.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _waiting_item(home: Path, tmp: Path, env: dict[str, str], requester: str) -> str:
    runbook = tmp / "gate.yaml"
    runbook.write_text(textwrap.dedent(RUNBOOK))
    incident = tmp / "incident.yaml"
    incident.write_text("title: checkout down\n")
    started = baton(
        home, "run", str(runbook), "--incident", str(incident), "--as", requester, env=env
    )
    assert started.returncode in (0, 3), started.stderr
    pending = json.loads(baton(home, "pending", "--json", env=env).stdout)
    return str(pending[0]["id"])


def test_without_a_people_directory_nobody_approves(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = cli_env(home)
    env.pop("BATON_ALLOW_UNVERIFIED_APPROVERS")
    item = _waiting_item(home, tmp_path, env, "alice")
    refused = baton(home, "approve", item, "--as", "bob", env=env)
    assert refused.returncode == 1
    assert "no people directory" in refused.stderr
    still = json.loads(baton(home, "pending", "--json", env=env).stdout)
    assert [i["id"] for i in still] == [item]
    # Explicitly allowed: the answer counts, and the audit says nobody checked who it was.
    allowed = baton(
        home, "approve", item, "--as", "bob", env=env | {"BATON_ALLOW_UNVERIFIED_APPROVERS": "1"}
    )
    assert allowed.returncode == 0, allowed.stderr
    shown = json.loads(baton(home, "runs", "list", "--json", env=env).stdout)
    run = json.loads(baton(home, "runs", "show", shown[0]["id"], "--json", env=env).stdout)
    decision = next(e for e in run["timeline"] if e["kind"] == "item_decision")
    assert decision["detail"]["unverified"] is True
    assert decision["detail"]["roles_checked"] is False


def test_a_name_in_another_case_is_the_same_person(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "people.yaml").write_text("people:\n  alice: [sre]\n  bob: [sre]\n")
    env = cli_env(home)
    item = _waiting_item(home, tmp_path, env, "alice")
    refused = baton(home, "approve", item, "--as", "Alice", env=env)
    assert refused.returncode == 1
    assert "human:alice requested this and cannot approve it" in refused.stderr
    assert baton(home, "approve", item, "--as", "BOB", env=env).returncode == 0
