"""YAML nodes → plain data plus the source position of every key and item.

We build the data ourselves from the composed node tree instead of using a constructor, so
that we see every mapping key (duplicates included), know where each one was written, and
never hand ruamel's scalar subclasses to pydantic or to the canonical JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]
Position = tuple[int, int]
"""1-based (line, column)."""

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


def _pos(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


@dataclass(frozen=True)
class Marks:
    """Where each path of the document was written: its key (or item) and its value."""

    keys: Mapping[Path, Position] = field(default_factory=dict)
    values: Mapping[Path, Position] = field(default_factory=dict)

    def at(self, path: Path) -> Position | None:
        """Position of the key naming `path`, else of the nearest enclosing one."""
        for end in range(len(path), -1, -1):
            if (pos := self.keys.get(path[:end])) is not None:
                return pos
        return None

    def value(self, path: Path) -> Position | None:
        """Position of the value at `path` (e.g. a mapping's first key), else `at(path)`."""
        return self.values.get(path) or self.at(path)


@dataclass
class NodeReport:
    """What `plain_data` found: the data, its marks, and problems as (position, message)."""

    data: Any
    marks: Marks
    problems: list[tuple[Path, Position, str]]


def plain_data(root: Node, construct_scalar: Any) -> NodeReport:
    """Turn a composed document into dicts, lists and scalars; record marks and problems.

    `construct_scalar(node)` resolves a plain scalar (int, float, bool, null, str).
    Aliases are refused: a runbook has no use for them and they can multiply a small file
    into a huge document.
    """
    keys: dict[Path, Position] = {(): _pos(root)}
    values: dict[Path, Position] = {}
    problems: list[tuple[Path, Position, str]] = []
    seen: set[int] = set()

    def walk(node: Node, path: Path) -> Any:
        values[path] = _pos(node)
        if id(node) in seen:
            problems.append((path, _pos(node), "YAML aliases (*name) are not supported"))
            return None
        seen.add(id(node))
        if isinstance(node, MappingNode):
            out: dict[str, Any] = {}
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                if (
                    not isinstance(key_node, ScalarNode)
                    or key_node.tag == "tag:yaml.org,2002:merge"
                ):
                    problems.append((path, _pos(key_node), "mapping keys must be plain strings"))
                    continue
                key = str(key_node.value)
                kpos = _pos(key_node)
                if key in first_line:
                    problems.append(
                        (
                            (*path, key),
                            kpos,
                            f"duplicate key '{key}' (first on line {first_line[key]})",
                        )
                    )
                    continue
                first_line[key] = kpos[0]
                keys[(*path, key)] = kpos
                out[key] = walk(value_node, (*path, key))
            return out
        if isinstance(node, SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                keys[(*path, i)] = _pos(item)
                items.append(walk(item, (*path, i)))
            return items
        if node.tag not in _PLAIN_TAGS:
            problems.append((path, _pos(node), f"unsupported YAML tag {node.tag}"))
            return str(node.value)
        if node.tag == "tag:yaml.org,2002:timestamp":
            return str(node.value)  # keep dates as written; no field of ours is a date
        value = construct_scalar(node)
        return str(value) if isinstance(value, date) else value

    data = walk(root, ())
    return NodeReport(data, Marks(keys, values), problems)
