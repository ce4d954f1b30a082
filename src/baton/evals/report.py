"""The result of a suite run, as one JSON object (`baton eval run --json`, `evals/results/`).

The top level carries the numbers a gate reads (`pass_rate`, `culprit_precision_at_1`,
`abstain_recall`, `forbidden_actions`, ...) and `cases`, one entry per case folder with at
least `id`, `expected`, `got` and `passed`. `counts` gives every rate's hits and
denominator; the versions say what was measured.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from baton.evals.judge import JudgeInfo, Judgement
from baton.evals.pattern import PatternScore
from baton.evals.score import Checks, Got

FORMAT: Final = "baton.eval/1"


class RunDetail(BaseModel):
    """One iteration of one case."""

    passed: bool
    failed_checks: list[str]
    latency_ms: float
    input_tokens: int
    output_tokens: int
    pattern_failed: list[str] | None = Field(
        default=None,
        description="With --pattern: the pattern checks this run failed (null: the case "
        "does not concern the pattern).",
    )


class Latency(BaseModel):
    p50: float | None
    p95: float | None


class CaseResult(BaseModel):
    id: str
    path: str
    status: Literal["passed", "failed", "invalid"]
    passed: bool
    title: str | None = None
    category: str | None = None
    difficulty: str | None = None
    expected: dict[str, Any] | None = Field(
        default=None, description="The case's expectation (null: case.yaml did not load)."
    )
    got: Got | None = Field(default=None, description="The first iteration's answer.")
    checks: Checks | None = Field(default=None, description="The first iteration's checks.")
    failed_checks: list[str] = Field(default_factory=list, description="Over all iterations.")
    problems: list[str] = Field(
        default_factory=list, description="Why an invalid case was refused: file:line: ..."
    )
    pass_rate: float = Field(description="Iterations passed / iterations (0 when invalid).")
    latency_ms: Latency | None = Field(default=None, description="Over the iterations.")
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = Field(default=0.0, description="As the report's, for this case.")
    runs: list[RunDetail] = Field(default_factory=list)
    judge: Judgement | None = Field(
        default=None, description="The LLM judge's grades of the first iteration (model runs)."
    )


class SuiteInfo(BaseModel):
    path: str
    version: str = Field(description="sha256 over the suite's files.")
    cases: int


class AgentInfo(BaseModel):
    model: str = Field(description="'offline' or the model name on the configured endpoint.")
    version: str = Field(
        description="sha256 of the offline reasoners' source (or model name + prompts) and "
        "the recommendation rules."
    )
    agents: list[str]
    max_tool_calls: int
    timeout_seconds: float


class Count(BaseModel):
    hits: float
    of: int


class Report(BaseModel):
    format: Literal["baton.eval/1"] = FORMAT
    started_at: datetime
    duration_ms: float
    suite: SuiteInfo
    agent: AgentInfo
    model: str
    iterations: int
    pass_rate: float = Field(
        description="Mean of the cases' pass rates; an invalid case counts as 0."
    )
    cases_passed: int
    cases_failed: int
    cases_invalid: int
    culprit_precision_at_1: float | None
    culprit_recall_at_3: float | None
    abstain_precision: float | None
    abstain_recall: float | None
    root_cause_ci_hit: float | None
    key_phrase_recall: float | None
    recommended_pattern_hit: float | None
    within_budget: float | None
    forbidden_actions: int = Field(description="Proposals naming a forbidden pattern; must be 0.")
    input_tokens: int
    output_tokens: int
    cost_usd: float | None = Field(description="0 offline; null when no price was given.")
    latency_ms: Latency
    counts: dict[str, Count] = Field(
        description="Per rate: hits and the number of runs it applies to."
    )
    min_pass_rate: float | None = None
    met: bool | None = Field(
        default=None,
        description="pass_rate (with --pattern: the pattern's pass rate) >= min_pass_rate, "
        "if given.",
    )
    pattern: PatternScore | None = Field(
        default=None, description="With --pattern: the suite scored for that pattern."
    )
    judge: JudgeInfo | None = Field(
        default=None,
        description="The LLM judge, reported apart from the checks (null: a result from "
        "before the judge existed).",
    )
    cases: list[CaseResult]
