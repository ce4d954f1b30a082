"""What a result is a result of: the suite's content and the agent's, each as one hash.

A stored result names both, so two results compare only when both hashes agree; a changed
case, reasoner, recommendation rule, prompt or model yields a new version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import baton.agents.offline as offline_package
from baton.agents import recommend
from baton.agents.prompts import answer_schema, system_prompt
from baton.agents.provider import OFFLINE
from baton.domain.finding import AgentName


def suite_version(root: Path) -> str:
    """Hash of every file of the suite (relative path and content), hidden files aside."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return "sha256:" + digest.hexdigest()


def agent_version(model: str, agents: Iterable[AgentName], max_tool_calls: int) -> str:
    """Offline: the reasoners' source and the recommendation rules. A model: its name, the
    system prompts it is given (answer schema and budget included) and the same rules."""
    digest = hashlib.sha256()
    if model == OFFLINE:
        package = Path(offline_package.__file__).parent
        sources = sorted(package.glob("*.py"))
    else:
        digest.update(f"model:{model}\0".encode())
        for agent in sorted(agents):
            digest.update(system_prompt(agent, max_tool_calls).encode() + b"\0")
        digest.update(answer_schema().encode() + b"\0")
        sources = []
    for path in [*sources, Path(recommend.__file__)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return "sha256:" + digest.hexdigest()
