"""Terminal escapes in incident text never reach the approver's terminal (issue 12 item 7):
`\\x1b[2K` in a title erased the line before it in `baton pending`."""

from __future__ import annotations

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
  - id: ok
    type: approval
    title: "Approve {{ incident.title }}"
    approvers: [sre]
    shows: ["service {{ incident.service }}"]
"""


def baton(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baton.cli.main", *args],
        env=cli_env(home) | {"TERM": "xterm-256color"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_escapes_in_incident_text_are_stripped_from_everything_printed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runbook = tmp_path / "gate.yaml"
    runbook.write_text(textwrap.dedent(RUNBOOK))
    incident = tmp_path / "incident.json"
    incident.write_text(
        '{"title": "db down\\u001b[2K\\u001b]0;pwned\\u0007 [red]x[/red]", '
        '"service": "pay\\u001b[31mments\\u009b2J"}'
    )
    outputs = [
        baton(home, "run", str(runbook), "--incident", str(incident), "--as", "alice"),
        baton(home, "pending"),
        baton(home, "runs", "list"),
    ]
    for out in outputs:
        text = out.stdout + out.stderr
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text, text
    pending = outputs[1].stdout
    assert "service payments2J" in pending  # the text itself survives, escapes gone
    assert "pwned" not in pending  # a terminal title-set sequence is removed whole
