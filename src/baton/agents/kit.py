"""What agent tasks run with: the read-only tools, the reasoner per agent, and the budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from baton.agents.base import OfflineReasoner
from baton.agents.budget import AgentBudget
from baton.agents.offline.itsm_change import ItsmChangeReasoner
from baton.agents.offline.log_analysis import LogAnalysisReasoner
from baton.agents.provider import OFFLINE, chat_model
from baton.domain.finding import AgentName
from baton.settings import Settings
from baton.tools.readers.base import ReadTool
from baton.tools.readers.itsm.tools import itsm_tools
from baton.tools.readers.logs.tools import log_tools

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

OFFLINE_REASONERS: dict[AgentName, OfflineReasoner] = {
    AgentName.ITSM_CHANGE: ItsmChangeReasoner(),
    AgentName.LOG_ANALYSIS: LogAnalysisReasoner(),
}

ALLOW: dict[AgentName, tuple[str, ...]] = {
    agent: reasoner.tools for agent, reasoner in OFFLINE_REASONERS.items()
}
"""Each agent's allow-list: the ITSM agent reads ITSM records, the log agent reads logs.
Neither ever sees an action tool: there is none among the read-only tools."""


@dataclass
class AgentKit:
    settings: Settings
    tools: list[ReadTool]
    _model: BaseChatModel | Literal["offline"] | None = field(default=None, repr=False)

    def reasoner(self, agent: AgentName) -> OfflineReasoner | BaseChatModel:
        """The configured model, or the agent's offline reasoner. A model that is configured
        wrongly raises `ConfigError` here, which the agent node turns into a human task."""
        if self._model is None:
            self._model = chat_model(self.settings)
        return OFFLINE_REASONERS[agent] if self._model == OFFLINE else self._model

    def budget(
        self, *, max_tool_calls: int | None, max_tokens: int | None, timeout: float | None
    ) -> AgentBudget:
        base = AgentBudget.from_settings(self.settings)
        calls = max_tool_calls or base.max_tool_calls
        return base.model_copy(
            update={
                "max_tool_calls": calls,
                "max_iterations": calls + 4,
                "max_tokens": max_tokens or base.max_tokens,
                "timeout_seconds": timeout or base.timeout_seconds,
            }
        )


def build_kit(settings: Settings) -> AgentKit:
    """Tools over the embedded data sources under `$BATON_HOME/data` (ITSM records, logs)."""
    return AgentKit(settings, [*itsm_tools(settings), *log_tools(settings)])
