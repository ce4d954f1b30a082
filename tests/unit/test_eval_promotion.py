"""Every pattern the agents can recommend waits for the eval suite before it can be promoted."""

from __future__ import annotations

import re
from pathlib import Path

from typer.core import TyperGroup
from typer.main import get_command

from baton.agents import recommend
from baton.cli.main import app
from baton.runbooks.catalog import load_catalog

REPO = Path(__file__).resolve().parents[2]


def recommended_patterns() -> set[str]:
    """The pattern ids `recommend.py` can propose (written there as `pattern="..."`)."""
    return set(re.findall(r'pattern="([a-z0-9_.]+)"', Path(recommend.__file__).read_text()))


def test_agent_recommended_patterns_gate_their_promotion_on_the_suite() -> None:
    catalog = load_catalog(REPO / "runbooks" / "patterns")
    found = recommended_patterns()
    assert {"change.rollback", "k8s.rollout_restart"} <= found
    for pattern_id in sorted(found):
        argv = catalog[pattern_id].pattern.promotion.eval
        assert argv is not None, f"{pattern_id} is recommended by agents but has no promotion.eval"
        assert argv[:3] == ["baton", "eval", "run"], pattern_id
        assert argv[argv.index("--suite") + 1] == "evals/cases", pattern_id
        # scored for the pattern itself: the cases that expect, forbid or got it
        assert argv[argv.index("--pattern") + 1] == pattern_id, pattern_id
        assert float(argv[argv.index("--min-pass-rate") + 1]) >= 0.9, pattern_id
        assert "--model" not in argv, f"{pattern_id}: the eval must score the configured agents"


def test_the_eval_argv_parses_as_a_baton_command() -> None:
    """The argv must stay valid as options change: parse it with the real CLI."""
    argv = load_catalog(REPO / "runbooks" / "patterns")["change.rollback"].pattern.promotion.eval
    assert argv is not None
    baton = get_command(app)
    assert isinstance(baton, TyperGroup) and argv[:3] == ["baton", "eval", "run"]
    evals = baton.commands["eval"]
    assert isinstance(evals, TyperGroup)
    context = evals.commands["run"].make_context("run", list(argv[3:]))  # raises if not valid
    assert context.params["suite"] == Path("evals/cases")
    assert context.params["min_pass_rate"] == 0.9
    assert context.params["pattern"] == "change.rollback"
