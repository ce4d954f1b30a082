"""`baton doctor` says what is missing, one check per line, and exits 1 until all pass."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import PY, REPO, cli_env


def doctor(home: Path, **env: str) -> tuple[int, dict[str, dict[str, object]]]:
    proc = subprocess.run(
        [PY, "-m", "baton.cli.main", "doctor", "--json"],
        env={**cli_env(home), **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    return proc.returncode, {r["check"]: r for r in json.loads(proc.stdout)}


def test_a_fresh_home_fails_with_reasons_then_passes_once_set_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, checks = doctor(home)
    assert code == 1
    assert "baton keys init" in str(checks["signing key"]["detail"])
    assert "approver roles are NOT checked" in str(checks["people directory"]["detail"])
    assert checks["pattern catalog"]["ok"] and checks["model"]["ok"]
    data = REPO / "runbooks" / "data"
    base = [PY, "-m", "baton.cli.main"]
    env = {**cli_env(home)}
    for args in (
        ["keys", "init"],
        ["itsm", "load", *map(str, sorted((data / "itsm").glob("*.json")))],
        ["logs", "load", str(data / "logs" / "checkout-api.log")],
    ):
        subprocess.run([*base, *args], env=env, check=True, capture_output=True, timeout=120)
    (home / "people.yaml").write_text("people:\n  alice: [sre]\n")
    code, checks = doctor(home)
    assert code == 0, checks
    assert checks["agent data"]["detail"] == "ITSM: 18 CIs, 26 changes; logs: 1 file(s)"


def test_a_half_configured_model_is_named(tmp_path: Path) -> None:
    code, checks = doctor(tmp_path / "home", BATON_MODEL_PROVIDER="openai")
    assert code == 1
    assert "BATON_MODEL_BASE_URL" in str(checks["model"]["detail"])
