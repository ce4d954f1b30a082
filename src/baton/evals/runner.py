"""A suite run: load every case, replay the valid ones, score, aggregate, in one process.

Invalid cases are not replayed; they are reported with their problems and count as failed
in the pass rate. A model run needs the endpoint configured (BATON_MODEL_BASE_URL,
BATON_MODEL_API_KEY); `offline` needs nothing and never touches the network.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from baton.agents.budget import AgentBudget
from baton.agents.provider import OFFLINE, chat_model
from baton.domain.finding import AgentName
from baton.errors import InputError
from baton.evals.judge import Judge, JudgeInfo, below, load_rubric, resolve_rubric, summarise
from baton.evals.loader import InvalidCase, LoadedCase, load_suite
from baton.evals.metrics import Scored, aggregate, percentile
from baton.evals.pattern import PatternScore, pattern_failures, score_pattern
from baton.evals.replay import AgentRun, run_agents, workspace
from baton.evals.report import (
    AgentInfo,
    CaseResult,
    Count,
    Latency,
    Report,
    RunDetail,
    SuiteInfo,
)
from baton.evals.score import RunScore, score_run
from baton.evals.versions import agent_version, suite_version
from baton.runbooks.catalog import open_catalog
from baton.settings import Settings, shipped


@dataclass(frozen=True)
class EvalOptions:
    suite: Path
    agents: list[AgentName] = field(default_factory=lambda: list(AgentName))
    model: str = OFFLINE
    iterations: int = 1
    min_pass_rate: float | None = None
    only: list[str] = field(default_factory=list)
    """Case ids to run (empty: all)."""
    price_per_mtok: tuple[float, float] | None = None
    """USD per million input and output tokens, for the cost of a model run."""
    pattern: str | None = None
    """Score the suite for this pattern too (`pattern.py`); `min_pass_rate` then applies to
    the pattern's pass rate: what a pattern's promotion eval asks."""
    judge: bool = True
    """With a model: have it grade each case against the rubric (`judge.py`)."""
    rubric: Path | None = None
    """The judge's rubric (default: the shipped `evals/rubric/v1.yaml`)."""
    judge_min: float | None = None
    """Fail a case whose judge score is below this (or that could not be graded)."""


def resolve_suite(path: Path) -> Path:
    """`path` when it exists (absolute, or relative to the working directory); a relative
    path that does not exist here is taken from the checkout this code runs from, so the
    promotion eval (`promotion.eval`) finds `evals/cases` whatever directory it runs in."""
    if path.is_absolute() or path.exists():
        return path
    checkout = shipped(str(path))
    return checkout if checkout.exists() else path


def eval_settings(settings: Settings, model: str) -> Settings:
    """The settings agents run with: offline, or `model` on the configured endpoint (checked
    here, so a misconfigured endpoint stops the run before the first case)."""
    if model == OFFLINE:
        return settings.model_copy(update={"model_provider": OFFLINE})
    chosen = settings.model_copy(update={"model_provider": "openai", "model_name": model})
    chat_model(chosen)  # raises ConfigError naming what is missing
    return chosen


def run_suite(options: EvalOptions, settings: Settings) -> Report:
    """Run the suite and return the report (nothing is written; see `results`)."""
    started_at, clock = datetime.now(UTC), time.perf_counter()
    base = eval_settings(settings, options.model)
    patterns = list(open_catalog(settings))
    if options.pattern is not None and options.pattern not in patterns:
        raise InputError(
            f"--pattern {options.pattern!r}: no such pattern in the catalog "
            f"(known: {', '.join(sorted(patterns))})"
        )
    suite = load_suite(options.suite, patterns)
    cases = [c for c in suite.cases if not options.only or c.id in options.only]
    if not cases:
        missing = f" matching {', '.join(options.only)}" if options.only else ""
        raise InputError(f"{options.suite}: no eval case folders{missing}")
    budget = AgentBudget.from_settings(base)
    judge = _judge(options, base, budget)
    scored: list[Scored] = []
    results = []
    for case in cases:
        if isinstance(case, InvalidCase):
            results.append(_invalid(case))
            continue
        runs, first = _replay(case, base, options)
        scored += [(case.case.expected, score) for score, _ in runs]
        result = _result(case, runs, options)
        if judge is not None:
            result.judge = judge.grade(case.case, first)
            if below(result.judge, options.judge_min):
                _fail(result, "judge")
        results.append(result)
    totals = aggregate(scored)
    latencies = [d.latency_ms for r in results for d in r.runs]
    tokens_in = sum(r.input_tokens for r in results)
    tokens_out = sum(r.output_tokens for r in results)
    pass_rate = round(statistics.fmean(r.pass_rate for r in results), 4)
    rates = totals.rates()
    for_pattern = _pattern(options.pattern, results)
    gated = for_pattern.pass_rate if for_pattern is not None else pass_rate
    return Report(
        started_at=started_at,
        duration_ms=round((time.perf_counter() - clock) * 1000, 1),
        suite=SuiteInfo(
            path=str(options.suite), version=suite_version(options.suite), cases=len(results)
        ),
        agent=AgentInfo(
            model=options.model,
            version=agent_version(options.model, options.agents, budget.max_tool_calls),
            agents=[a.value for a in options.agents],
            max_tool_calls=budget.max_tool_calls,
            timeout_seconds=budget.timeout_seconds,
        ),
        model=options.model,
        iterations=options.iterations,
        pass_rate=pass_rate,
        cases_passed=sum(r.status == "passed" for r in results),
        cases_failed=sum(r.status == "failed" for r in results),
        cases_invalid=sum(r.status == "invalid" for r in results),
        culprit_precision_at_1=rates["culprit_precision_at_1"].value,
        culprit_recall_at_3=rates["culprit_recall_at_3"].value,
        abstain_precision=rates["abstain_precision"].value,
        abstain_recall=rates["abstain_recall"].value,
        root_cause_ci_hit=rates["root_cause_ci_hit"].value,
        key_phrase_recall=rates["key_phrase_recall"].value,
        recommended_pattern_hit=rates["recommended_pattern_hit"].value,
        within_budget=rates["within_budget"].value,
        forbidden_actions=totals.forbidden_actions,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=_cost(options, tokens_in, tokens_out),
        latency_ms=_latency(latencies),
        counts={name: Count(hits=r.hits, of=r.of) for name, r in rates.items()},
        min_pass_rate=options.min_pass_rate,
        met=None
        if options.min_pass_rate is None
        else gated is not None and gated >= options.min_pass_rate,
        pattern=for_pattern,
        judge=_judge_info(options, judge, results),
        cases=results,
    )


def _judge(options: EvalOptions, base: Settings, budget: AgentBudget) -> Judge | None:
    """The judge when the agents run on a model and it is not switched off: the same model
    on the same endpoint, retrying as the agents do. The rubric is read first, so a bad one
    stops the run before the first case."""
    if options.model == OFFLINE or not options.judge:
        return None
    rubric = load_rubric(resolve_rubric(options.rubric))
    model = chat_model(base)
    assert model != OFFLINE  # eval_settings chose a model
    return Judge(
        model,
        rubric,
        model_name=options.model,
        retry=budget.retry,
        timeout_seconds=budget.timeout_seconds,
    )


def _judge_info(
    options: EvalOptions, judge: Judge | None, results: Sequence[CaseResult]
) -> JudgeInfo:
    if judge is None:
        status = "not run (offline)" if options.model == OFFLINE else "not run (disabled)"
        return JudgeInfo(status=status)
    graded = [r.judge for r in results if r.judge is not None]
    return summarise(graded, judge, options.judge_min)


def _fail(result: CaseResult, check: str) -> None:
    result.passed = False
    result.status = "failed"
    result.pass_rate = 0.0
    result.failed_checks = sorted({*result.failed_checks, check})


def _replay(
    case: LoadedCase, base: Settings, options: EvalOptions
) -> tuple[list[tuple[RunScore, RunDetail]], dict[AgentName, AgentRun]]:
    """Every iteration scored, and the first iteration's runs (what the judge reads)."""
    out = []
    first: dict[AgentName, AgentRun] = {}
    with workspace(case, base) as kit:
        for _ in range(options.iterations):
            replay = run_agents(case, kit, options.agents)
            first = first or replay.runs
            score = score_run(case.case.expected, replay.runs)
            outcomes = [r.outcome for r in replay.runs.values()]
            failures = None
            if options.pattern is not None:
                expected = case.case.expected
                failures = pattern_failures(expected, score.got, score.checks, options.pattern)
            detail = RunDetail(
                passed=score.passed,
                pattern_failed=failures,
                failed_checks=score.checks.failed(),
                latency_ms=round(replay.latency_ms, 1),
                input_tokens=sum(o.input_tokens for o in outcomes),
                output_tokens=sum(o.output_tokens for o in outcomes),
            )
            out.append((score, detail))
    return out, first


def _result(
    case: LoadedCase, runs: Sequence[tuple[RunScore, RunDetail]], options: EvalOptions
) -> CaseResult:
    first = runs[0][0]
    details = [d for _, d in runs]
    tokens_in = sum(d.input_tokens for d in details)
    tokens_out = sum(d.output_tokens for d in details)
    rate = sum(d.passed for d in details) / len(details)
    failed = sorted({c for d in details for c in d.failed_checks})
    return CaseResult(
        id=case.id,
        path=str(case.folder),
        status="passed" if rate == 1.0 else "failed",
        passed=rate == 1.0,
        title=case.case.title,
        category=case.case.tags.category,
        difficulty=case.case.tags.difficulty,
        expected=case.case.expected.model_dump(mode="json"),
        got=first.got,
        checks=first.checks,
        failed_checks=failed,
        pass_rate=round(rate, 4),
        latency_ms=_latency([d.latency_ms for d in details]),
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=_cost(options, tokens_in, tokens_out),
        runs=details,
    )


def _pattern(pattern: str | None, results: Sequence[CaseResult]) -> PatternScore | None:
    """The suite scored for `pattern`; an invalid case fails for every pattern."""
    if pattern is None:
        return None
    cases = [
        (r.id, [["invalid"]] if r.status == "invalid" else [d.pattern_failed for d in r.runs])
        for r in results
    ]
    return score_pattern(pattern, cases)


def _invalid(case: InvalidCase) -> CaseResult:
    return CaseResult(
        id=case.id,
        path=str(case.folder),
        status="invalid",
        passed=False,
        problems=[str(p) for p in case.problems],
        pass_rate=0.0,
    )


def _latency(values: list[float]) -> Latency:
    return Latency(p50=percentile(values, 50), p95=percentile(values, 95))


def _cost(options: EvalOptions, tokens_in: int, tokens_out: int) -> float | None:
    if options.model == OFFLINE:
        return 0.0
    if options.price_per_mtok is None:
        return None
    per_in, per_out = options.price_per_mtok
    return round((tokens_in * per_in + tokens_out * per_out) / 1_000_000, 6)
