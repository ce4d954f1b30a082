"""The pattern catalog: the starter patterns load, and bad ones say file, line and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.errors import RunbookInvalid
from baton.runbooks.catalog import load_catalog
from baton.runbooks.pattern_params import check_params
from baton.runbooks.schema import pattern_schema_text

PATTERNS = Path(__file__).resolve().parents[2] / "runbooks" / "patterns"


def test_starter_catalog_loads_with_schema_headers() -> None:
    catalog = load_catalog(PATTERNS)
    assert len(catalog) >= 10
    risks = {loaded.pattern.risk.value for loaded in catalog.values()}
    assert risks == {"low", "medium", "high", "critical"}
    for loaded in catalog.values():
        header = Path(loaded.file).read_text().splitlines()[0]
        assert header == "# yaml-language-server: $schema=../pattern.schema.json"
        assert loaded.version.startswith("sha256:")


def test_committed_pattern_schema_matches_the_model() -> None:
    committed = (PATTERNS.parent / "pattern.schema.json").read_text()
    assert committed == pattern_schema_text(), "regenerate runbooks/pattern.schema.json"


GOOD = """\
id: svc.restart
title: Restart
risk: low
blast_radius: one service
idempotent: true
executor: command
invocation: {argv: [systemctl, restart, "{{ params.unit }}"]}
params:
  unit: {pattern: "[a-z-]+"}
verify: {kind: command, invocation: {argv: [systemctl, is-active, "{{ params.unit }}"]}}
approvers: [sre]
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "p.yaml").write_text(text)
    with pytest.raises(RunbookInvalid) as info:
        load_catalog(tmp_path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("risk: low", "risk: lowish"), ":3:1: risk: Input should be 'low'"),
        (
            ('{{ params.unit }}"]}\nparams', '{{ params.unti }}"]}\nparams'),
            "undeclared param 'unti'; did you mean 'unit'",
        ),
        (
            ('{{ params.unit }}"]}\nparams', '{{ incident.service }}"]}\nparams'),
            "may use params.<name> only",
        ),
        (
            ("approvers: [sre]", "approvers: [sre]\nconditions: [region]"),
            "unknown condition field 'region'",
        ),
        (
            ("kind: command, invocation", "kind: metric, invocation"),
            "verify of kind metric needs prometheus_url, query, expect",
        ),
        (("id: svc.restart", "id: restart"), ":1:1: id: String should match pattern"),
    ],
)
def test_bad_patterns_are_reported_with_file_line_and_reason(
    tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    found = problems(tmp_path, GOOD.replace(*edit))
    assert any(expected in p for p in found), found
    assert all(p.startswith(str(tmp_path / "p.yaml")) for p in found)


def test_params_are_checked_by_type_enum_regex_and_range(tmp_path: Path) -> None:
    catalog = load_catalog(PATTERNS)
    scale = catalog["k8s.scale_out"].pattern
    values, found = check_params(
        scale, {"namespace": "payments", "deployment": "checkout", "replicas": "6"}
    )
    assert (values["replicas"], found) == (6, [])
    values, found = check_params(  # a number input renders as "6.0"
        scale, {"namespace": "payments", "deployment": "checkout", "replicas": "6.0"}
    )
    assert (values["replicas"], found) == (6, [])
    _, found = check_params(
        scale, {"namespace": "payments", "deployment": "checkout", "replicas": "6.5"}
    )
    assert found == ["parameter 'replicas': expected an integer, got '6.5'"]
    _, found = check_params(
        scale, {"namespace": "Payments!", "deployment": "checkout", "replicas": 500, "x": 1}
    )
    assert found == [
        "unknown parameter 'x' for pattern k8s.scale_out",
        "parameter 'namespace': 'Payments!' does not match [a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
        "parameter 'replicas': 500 is above the maximum 200",
    ]
    _, found = check_params(scale, {"namespace": "payments"})
    assert "missing required parameter 'deployment' of pattern k8s.scale_out" in found
