"""What a result is a result of: the suite's content and the agent's, each as one hash.

A stored result names both, so two results compare only when both hashes agree; a changed
case, reasoner, recommendation rule, prompt or model yields a new version. The agent's
version lives in `baton.agents.version`, where pattern versions can reach it too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from baton.agents.version import agent_version

__all__ = ["agent_version", "suite_version"]


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
