"""Replay one case: its data in a throwaway home, the agents briefed at its detection time.

The clock is the case's: every window of the brief is computed from `detected_at` (the
incident window ends there), and log lines are parsed with `now = detected_at`, so a case
scores the same whatever day it runs. Data goes in through the loaders users run
(`baton itsm load`, `baton logs load`), and the agents run through the one tool-calling
loop with the production allow-lists and budget; only the audit trail is a list in memory.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from baton.agents.base import AgentBrief
from baton.agents.events import AgentEvent, AgentOutcome
from baton.agents.kit import ALLOW, AgentKit, build_kit
from baton.agents.loop import run_agent
from baton.agents.recommend import Recommendation, recommend
from baton.domain.finding import AgentName
from baton.domain.incident import Incident
from baton.evals.loader import LoadedCase
from baton.settings import Settings
from baton.tools.readers.itsm.store import ItsmStore, itsm_dir
from baton.tools.readers.logs.store import load_file, log_dir

WINDOWS: dict[AgentName, timedelta] = {
    AgentName.ITSM_CHANGE: timedelta(days=7),
    AgentName.LOG_ANALYSIS: timedelta(hours=1),
}
"""Incident window per agent, as the shipped `runbooks/agent-triage.yaml` sets them (a test
keeps the two equal); the baseline is as long as the window and ends where it starts."""


@dataclass(frozen=True)
class AgentRun:
    """One agent's answer to one case, and what the code would propose from it."""

    outcome: AgentOutcome
    recommendations: list[Recommendation]
    max_tool_calls: int


@dataclass(frozen=True)
class Replay:
    runs: dict[AgentName, AgentRun]
    latency_ms: float
    """Wall time of the agents' runs (data loading excluded)."""


def brief_for(incident: Incident, agent: AgentName) -> AgentBrief:
    """The brief an agent task of the triage runbook gives, with the clock at detection."""
    detected = incident.detected_at
    window = WINDOWS[agent]
    start = detected - window
    return AgentBrief(
        agent=agent,
        incident=incident,
        window_start=start,
        window_end=detected,
        baseline_start=start - window,
        baseline_end=start,
    )


@contextmanager
def workspace(loaded: LoadedCase, base: Settings) -> Iterator[AgentKit]:
    """A throwaway home holding the case's data, and the agent kit over it."""
    with tempfile.TemporaryDirectory(prefix=f"baton-eval-{loaded.id[:40]}-") as tmp:
        settings = base.model_copy(update={"home": Path(tmp) / "home"})
        load_data(loaded, settings)
        yield build_kit(settings)


def load_data(loaded: LoadedCase, settings: Settings) -> None:
    """What `baton itsm load itsm/*.json` and `baton logs load logs/*` would store, except
    that relative log dates are read against the case's clock instead of today."""
    if loaded.itsm:
        ItsmStore(itsm_dir(settings)).put(loaded.itsm)
    directory = log_dir(settings.data_dir)
    for path in loaded.logs:
        load_file(directory, path, now=loaded.case.detected_at)


def run_agents(loaded: LoadedCase, kit: AgentKit, agents: list[AgentName]) -> Replay:
    """Each agent on the case, in order, as an agent task would run it."""
    incident = loaded.case.incident
    budget = kit.budget(max_tool_calls=None, max_tokens=None, timeout=None)
    runs: dict[AgentName, AgentRun] = {}
    started = time.perf_counter()
    for agent in agents:
        events: list[AgentEvent] = []
        outcome = run_agent(
            brief_for(incident, agent),
            reasoner_or_model=kit.reasoner(agent),
            tools=kit.tools,
            allow=ALLOW[agent],
            budget=budget,
            record=events.append,
        )
        proposals = recommend(outcome.finding) if outcome.finding is not None else []
        runs[agent] = AgentRun(outcome, proposals, budget.max_tool_calls)
    return Replay(runs, (time.perf_counter() - started) * 1000)
