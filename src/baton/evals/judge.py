"""The optional LLM judge: the configured model grades each case's findings against a
versioned rubric (`evals/rubric/v1.yaml`).

It runs only when the agents run on a model (never offline: no network, no tokens), and it
is reported apart from the deterministic checks: its scores never change a case's pass or
fail unless `--judge-min` asks for that. The rubric's id, version and sha256 are stored in
the result, so judge scores compare only under the same rubric.

The judge answers one JSON object, parsed strictly (`Verdict`): every rubric criterion once,
each scored 0, 1 or 2. Anything else is an error for that case, with the reason, never a
crash of the suite. Transient model errors (429, 5xx, timeouts) are retried with jittered
exponential backoff (honouring `Retry-After`), as the agents' calls are.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from baton.agents.budget import RetryPolicy
from baton.agents.failures import describe, is_transient, retry_after_seconds
from baton.domain.finding import AgentName, Finding
from baton.errors import RunbookInvalid
from baton.evals.case import Case
from baton.evals.replay import AgentRun
from baton.runbooks.loader import parse_model, read_document
from baton.settings import shipped

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

DEFAULT_RUBRIC = Path("evals/rubric/v1.yaml")
ANSWER_PREVIEW = 200
"""Characters of a malformed answer quoted in its error."""


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    question: str = Field(min_length=1)


class Rubric(BaseModel):
    """A rubric file: what the judge is told and which criteria it scores."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    version: int = Field(ge=1)
    instructions: str = Field(min_length=1)
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Rubric:
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError(f"criterion ids repeat: {ids}")
        return self


class RubricInfo(BaseModel):
    """Which rubric graded a run: stored in the result, shown in the reports."""

    id: str
    version: int
    sha256: str = Field(description="Of the rubric file's bytes.")
    path: str


@dataclass(frozen=True)
class LoadedRubric:
    rubric: Rubric
    info: RubricInfo


def resolve_rubric(path: Path | None) -> Path:
    """`path`, or the shipped rubric; a relative path missing here is the checkout's."""
    chosen = path or DEFAULT_RUBRIC
    if chosen.is_absolute() or chosen.exists():
        return chosen
    checkout = shipped(str(chosen))
    return checkout if checkout.exists() else chosen


def load_rubric(path: Path) -> LoadedRubric:
    """Read a rubric file; problems are raised with file:line (`RunbookInvalid`)."""
    rubric, _, problems = parse_model(
        read_document(path, "rubric"), str(path), Rubric, what="rubric"
    )
    if problems:
        raise RunbookInvalid(problems)
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    info = RubricInfo(id=rubric.id, version=rubric.version, sha256=digest, path=str(path))
    return LoadedRubric(rubric, info)


class Score(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str
    score: int = Field(ge=0, le=2)
    reason: str = Field(max_length=2000)


class Verdict(BaseModel):
    """The judge's answer, exactly: `{"criteria": [{"id", "score", "reason"}, ...]}`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    criteria: list[Score]


class Judgement(BaseModel):
    """One case, graded (or the error that kept it from being graded)."""

    scores: dict[str, int] = Field(default_factory=dict, description="Criterion -> 0, 1 or 2.")
    reasons: dict[str, str] = Field(default_factory=dict)
    score: float | None = Field(
        default=None, description="Mean of the criteria, scaled to 0..1 (null: not graded)."
    )
    error: str | None = None
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class JudgeInfo(BaseModel):
    """The judge's part of a report: separate from the deterministic checks."""

    status: Literal["run", "not run (offline)", "not run (disabled)"]
    model: str | None = None
    rubric: RubricInfo | None = None
    cases_judged: int = 0
    errors: int = 0
    score: float | None = Field(default=None, description="Mean case score (0..1).")
    criteria: dict[str, float] = Field(
        default_factory=dict, description="Mean per criterion, scaled to 0..1."
    )
    min_score: float | None = Field(
        default=None, description="--judge-min: a case below it (or not graded) fails."
    )
    input_tokens: int = 0
    output_tokens: int = 0


class JudgeAnswerError(ValueError):
    """The judge answered, but not with the rubric's JSON."""


def parse_verdict(text: str, rubric: Rubric) -> Verdict:
    """The judge's answer as a `Verdict` listing every criterion of `rubric` once, or
    `JudgeAnswerError` saying what is wrong with it."""
    preview = json.dumps(text[:ANSWER_PREVIEW])
    try:
        verdict = Verdict.model_validate_json(text.strip())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()
        )
        raise JudgeAnswerError(
            f"judge answer is not the rubric's JSON ({problems}); it began {preview}"
        ) from None
    got = [s.id for s in verdict.criteria]
    wanted = [c.id for c in rubric.criteria]
    if sorted(got) != sorted(wanted):
        raise JudgeAnswerError(
            f"judge answer scores criteria {got}, the rubric has {wanted}; it began {preview}"
        )
    return verdict


def judge_prompt(rubric: Rubric) -> str:
    lines = [rubric.instructions.strip(), "", f"Rubric {rubric.id} v{rubric.version}:"]
    lines += [f"- {c.id}: {' '.join(c.question.split())}" for c in rubric.criteria]
    return "\n".join(lines)


def case_payload(case: Case, runs: Mapping[AgentName, AgentRun]) -> dict[str, Any]:
    """What the judge reads: the incident, the expectation and each agent's finding."""
    incident = case.incident
    return {
        "incident": {
            "title": incident.title,
            "service": incident.service,
            "cis": list(incident.cis),
            "detected_at": case.detected_at.isoformat(),
        },
        "expected": case.expected.model_dump(mode="json"),
        "agents": {agent.value: _finding(run.outcome.finding, run) for agent, run in runs.items()},
    }


def _finding(finding: Finding | None, run: AgentRun) -> dict[str, Any]:
    if finding is None:
        return {"failed": run.outcome.reason or "failed"}
    return {
        "abstained": finding.abstained,
        "summary": finding.summary,
        "confidence": finding.confidence,
        "suspects": [
            {
                "kind": s.kind.value,
                "ref": s.ref,
                "title": s.title,
                "score": s.score,
                "ci": s.ci,
                "reasons": s.reasons[:6],
                "quotes": [{"source": q.source, "text": q.text} for q in s.quotes[:6]],
            }
            for s in finding.suspects[:5]
        ],
        "notes": finding.notes[:6],
        "proposed": [{"pattern": r.pattern, "rationale": r.rationale} for r in run.recommendations],
    }


class Judge:
    """Grades cases with a chat model against a rubric, retrying transient errors."""

    def __init__(
        self,
        model: BaseChatModel,
        rubric: LoadedRubric,
        *,
        model_name: str,
        retry: RetryPolicy | None = None,
        timeout_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self.rubric = rubric
        self.model_name = model_name
        self.timeout_seconds = timeout_seconds
        policy = retry or RetryPolicy()
        backoff = wait_random_exponential(
            multiplier=policy.backoff_seconds, max=policy.max_wait_seconds
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            asked = retry_after_seconds(exc) if exc is not None else None
            if asked is not None:
                return min(asked, policy.max_wait_seconds)
            return float(backoff(state))

        self._retrying = Retrying(
            stop=stop_after_attempt(policy.attempts),
            wait=wait,
            retry=retry_if_exception(is_transient),
            reraise=True,
            sleep=sleep,
        )

    def grade(self, case: Case, runs: Mapping[AgentName, AgentRun]) -> Judgement:
        """One case's judgement; a model error or a malformed answer is the case's error."""
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = [
            SystemMessage(judge_prompt(self.rubric.rubric)),
            HumanMessage(json.dumps(case_payload(case, runs), ensure_ascii=False)),
        ]
        judgement = Judgement()
        try:
            for attempt in self._retrying.copy():
                with attempt:
                    judgement.attempts = attempt.retry_state.attempt_number
                    reply = self.model.invoke(messages, timeout=self.timeout_seconds)
        except Exception as exc:  # every model error ends this case's judgement, not the run
            judgement.error = f"judge call failed: {describe(exc)}"
            return judgement
        usage = getattr(reply, "usage_metadata", None)
        if usage:
            judgement.input_tokens = int(usage.get("input_tokens", 0))
            judgement.output_tokens = int(usage.get("output_tokens", 0))
        content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        try:
            verdict = parse_verdict(content, self.rubric.rubric)
        except JudgeAnswerError as exc:
            judgement.error = str(exc)
            return judgement
        judgement.scores = {s.id: s.score for s in verdict.criteria}
        judgement.reasons = {s.id: s.reason for s in verdict.criteria}
        judgement.score = round(sum(judgement.scores.values()) / (2 * len(verdict.criteria)), 4)
        return judgement


def summarise(judgements: list[Judgement], judge: Judge, min_score: float | None) -> JudgeInfo:
    """The report's judge section over the cases judged."""
    graded = [j for j in judgements if j.score is not None]
    criteria: dict[str, float] = {}
    for criterion in judge.rubric.rubric.criteria:
        values = [j.scores[criterion.id] / 2 for j in graded if criterion.id in j.scores]
        if values:
            criteria[criterion.id] = round(sum(values) / len(values), 4)
    scores = [j.score for j in graded if j.score is not None]
    return JudgeInfo(
        status="run",
        model=judge.model_name,
        rubric=judge.rubric.info,
        cases_judged=len(judgements),
        errors=sum(j.error is not None for j in judgements),
        score=round(sum(scores) / len(scores), 4) if scores else None,
        criteria=criteria,
        min_score=min_score,
        input_tokens=sum(j.input_tokens for j in judgements),
        output_tokens=sum(j.output_tokens for j in judgements),
    )


def below(judgement: Judgement | None, min_score: float | None) -> bool:
    """Whether `--judge-min` fails this case: not graded, or graded below the floor."""
    if min_score is None or judgement is None:
        return False
    return judgement.score is None or judgement.score < min_score
