"""What graph nodes need from the layers below, wired once by the runtime."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from baton.agents.kit import AgentKit
from baton.policies.freeze import FreezeCalendar
from baton.policies.people import Directory
from baton.runbooks.catalog import Catalog
from baton.store.db import Database
from baton.tools.executors.base import Executor


@dataclass(frozen=True)
class EngineDeps:
    db: Database
    executors: Mapping[str, Executor]
    retry_backoff_seconds: float = 1.0
    after_run: Callable[[str], None] | None = None
    """Called once a run has finished (the runtime signs an audit checkpoint there)."""
    catalog: Catalog = field(default_factory=lambda: Catalog({}))
    freeze: FreezeCalendar = field(default_factory=FreezeCalendar)
    directory: Directory = field(default_factory=Directory)
    agents: AgentKit | None = None
    """Tools and reasoners for agent tasks (None: runbooks with agent tasks cannot run)."""
    dry_run: bool = False
    """Actions are recorded, not performed (`tools.executors.dry_run`); no promotion evidence."""
