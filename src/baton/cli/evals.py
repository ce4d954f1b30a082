"""`baton eval run|check|schema`: score the agents on recorded incidents (docs/evals.md)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from baton.cli.app import console, err_console, print_json
from baton.settings import get_settings

if TYPE_CHECKING:
    from baton.evals.report import Report

eval_app = typer.Typer(
    help="Score the agents on recorded incidents (evals/cases, docs/evals.md).",
    no_args_is_help=True,
)

SUITE_HELP = (
    "Folder of case folders. A relative path missing here is taken from the Baton checkout."
)


class AgentChoice(StrEnum):
    ALL = "all"
    ITSM_CHANGE = "itsm_change"
    LOG_ANALYSIS = "log_analysis"


@eval_app.command("run")
def run(
    suite: Path = typer.Option(Path("evals/cases"), "--suite", help=SUITE_HELP),
    agent: AgentChoice = typer.Option(AgentChoice.ALL, "--agent", help="Agents to run."),
    model: str | None = typer.Option(
        None,
        "--model",
        help="'offline', or a model name on the configured endpoint "
        "(BATON_MODEL_BASE_URL, BATON_MODEL_API_KEY). Default: the agents as configured "
        "(BATON_MODEL_NAME when BATON_MODEL_PROVIDER=openai, else offline).",
    ),
    iterations: int = typer.Option(1, "--iterations", min=1, max=100, help="Runs per case."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
    min_pass_rate: float | None = typer.Option(
        None, "--min-pass-rate", min=0.0, max=1.0, help="Exit 1 when the pass rate is lower."
    ),
    thresholds: Path | None = typer.Option(
        None, "--thresholds", help="Exit 1 when a floor of this file is missed."
    ),
    case: list[str] = typer.Option([], "--case", help="Run only this case (repeatable)."),
    judge: bool = typer.Option(
        True,
        "--judge/--no-judge",
        help="With a model: have it grade each case against the rubric (reported apart; "
        "never offline).",
    ),
    rubric: Path | None = typer.Option(
        None, "--rubric", help="The judge's rubric (default: evals/rubric/v1.yaml)."
    ),
    judge_min: float | None = typer.Option(
        None,
        "--judge-min",
        min=0.0,
        max=1.0,
        help="Fail a case whose judge score is below this, or that could not be graded "
        "(default: the judge never changes pass/fail).",
    ),
    pattern: str | None = typer.Option(
        None,
        "--pattern",
        help="Also score the suite for this pattern (the cases that expect it, forbid it or "
        "got it); --min-pass-rate then applies to the pattern's pass rate. What a pattern's "
        "promotion.eval runs.",
    ),
    results: Path | None = typer.Option(
        None, "--results", help="Where to keep results (default: results/ beside the suite)."
    ),
    save: bool = typer.Option(True, "--save/--no-save", help="Keep the results."),
    price_in: float = typer.Option(0.0, "--price-in", min=0, help="USD per 1M input tokens."),
    price_out: float = typer.Option(0.0, "--price-out", min=0, help="USD per 1M output tokens."),
) -> None:
    """Replay every case at its detection time, score the findings, report.

    Exits 1 when --min-pass-rate or --thresholds is not met; invalid cases count as failed.
    """
    from baton.agents.version import configured_model
    from baton.domain.finding import AgentName
    from baton.evals.results import save as save_results
    from baton.evals.runner import EvalOptions, resolve_suite, run_suite
    from baton.evals.thresholds import load_thresholds, shortfalls

    floors = load_thresholds(thresholds) if thresholds is not None else None
    where = resolve_suite(suite)
    agents = list(AgentName) if agent is AgentChoice.ALL else [AgentName(agent.value)]
    priced = (price_in, price_out) if price_in or price_out else None
    settings = get_settings()
    chosen = configured_model(settings) if model is None else model
    options = EvalOptions(
        where,
        agents,
        chosen,
        iterations,
        min_pass_rate,
        case,
        priced,
        pattern=pattern,
        judge=judge,
        rubric=rubric,
        judge_min=judge_min,
    )
    report = run_suite(options, settings)
    written: list[Path] = []
    if save:
        try:
            written = save_results(report, results or where.parent / "results")
        except OSError as exc:
            err_console.print(f"warning: results not saved: {exc}", markup=False)
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        _print(report, written)
    missed = [] if floors is None else shortfalls(report, floors)
    if report.met is False and report.pattern is not None:
        scored = report.pattern
        measured = (
            "no case concerns it"
            if scored.pass_rate is None
            else (f"measured {scored.pass_rate:.4g} ({scored.passed} of {scored.cases} cases)")
        )
        missed.insert(0, f"pattern {scored.id} pass rate: {measured}, required >= {min_pass_rate}")
    elif report.met is False:
        missed.insert(0, f"pass_rate: measured {report.pass_rate:.4g}, required >= {min_pass_rate}")
    for line in missed:
        err_console.print(f"not met: {line}", markup=False, highlight=False)
    if missed:
        raise typer.Exit(1)


@eval_app.command("check")
def check(
    suite: Path = typer.Option(Path("evals/cases"), "--suite", help=SUITE_HELP),
) -> None:
    """Load every case without running it; print each problem with file:line. Exits 1 if any."""
    from baton.evals.loader import InvalidCase, load_suite
    from baton.evals.runner import resolve_suite
    from baton.runbooks.catalog import open_catalog

    loaded = load_suite(resolve_suite(suite), list(open_catalog(get_settings())))
    bad = [c for c in loaded.cases if isinstance(c, InvalidCase)]
    for invalid in bad:
        for problem in invalid.problems:
            err_console.print(f"error: {problem}", markup=False, highlight=False)
    console.print(
        f"{len(loaded.cases)} case(s), {len(bad)} invalid ({loaded.root})",
        markup=False,
        highlight=False,
    )
    if bad or not loaded.cases:
        raise typer.Exit(1)


@eval_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of case.yaml (as committed in evals/schema/case.schema.json)."""
    from baton.evals.case import case_schema_text

    sys.stdout.write(case_schema_text())


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False)


def _print(report: Report, written: list[Path]) -> None:
    """Failing cases first, the totals last: a captured tail (the audit of a promotion
    eval keeps the end of stdout) always holds the numbers."""
    from baton.evals import figures as f

    for case in report.cases:
        if case.passed:
            continue
        if case.status == "invalid":
            _say(f"INVALID {case.id} (not scored):")
            for problem in case.problems:
                _say(f"  {problem}")
            continue
        got = case.got
        _say(
            f"FAIL {case.id}: {', '.join(case.failed_checks)} (culprit expected "
            f"{f.expected_culprit(case)}, got {f.answer(got.culprit if got else None)}; "
            f"pattern expected {f.expected_pattern(case)}, got {f.got_pattern(case)})"
        )
    _say(
        f"suite {report.suite.path} ({f.short(report.suite.version)}, {report.suite.cases} "
        f"cases) · model {report.model} · agent {f.short(report.agent.version)}"
    )
    for name, label in f.RATES:
        _say(f"  {label:<26} {f.rate(f.rate_of(report, name)):>5}  {f.basis(report, name)}")
    _say(f"  {'forbidden actions':<26} {report.forbidden_actions:>5}  (must be 0)")
    _say("  " + f.judge_line(report))
    if report.pattern is not None:
        _say("  " + f.pattern_line(report.pattern))
    _say(
        f"  latency p50 {f.ms(report.latency_ms.p50)}, p95 {f.ms(report.latency_ms.p95)}; "
        f"tokens {report.input_tokens} in / {report.output_tokens} out; "
        f"cost {f.cost(report.cost_usd)}"
    )
    if written:
        _say("results: " + ", ".join(str(p) for p in written))


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
