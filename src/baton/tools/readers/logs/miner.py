"""A Drain-style template miner (He et al., ICWS 2017) with one configuration for all logs.

Messages are masked and tokenised (`masking.tokens`), routed through a fixed-depth parse tree
(token count, then the first tokens) to a leaf of clusters, and joined to the most similar
cluster if enough tokens agree; otherwise they start a new cluster. A template is the tokens
its members share, with `<*>` where they differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from baton.tools.readers.logs.masking import WILDCARD, tokens

_SEEN_LIMIT = 100_000
"""Token sequences (and masked tokens) remembered for the fast paths; bounds memory."""


@dataclass(frozen=True)
class MinerConfig:
    """The one configuration for every log source (Drain's depth and fan-out)."""

    similarity: float = 0.7
    """Share of a template's constant tokens a message must match to join it.

    Drain divides by the message length; dividing by the template's constant tokens instead
    lets a template that has learnt its parameters keep matching while still separating
    messages that differ in a word. One value for every source; bench/loghub.py shows mean
    grouping accuracy on LogHub-2k is flat from 0.65 to 0.75 (0.883-0.891) and drops at 0.8.
    """
    depth: int = 4
    """Tree depth: root, token count, then `depth - 2` leading tokens."""
    max_children: int = 100
    """Children per tree node before new tokens route to the wildcard branch."""


@dataclass
class Cluster:
    """One template: its tokens and how many messages joined it."""

    id: int
    tokens: list[str]
    size: int = 0

    @property
    def template(self) -> str:
        return " ".join(self.tokens)


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    clusters: list[Cluster] = field(default_factory=list)


class TemplateMiner:
    """Online miner: `add(message)` returns the id of the cluster the message joined."""

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self.clusters: list[Cluster] = []
        self._root = _Node()
        self._seen: dict[tuple[str, ...], Cluster] = {}
        self._masked: dict[str, str] = {}

    def add(self, message: str) -> int:
        if len(self._masked) >= _SEEN_LIMIT:
            self._masked.clear()
        toks = tokens(message, self._masked)
        key = tuple(toks)
        known = self._seen.get(key)
        if known is not None:  # templates only generalise, so it still fits
            known.size += 1
            return known.id
        leaf = self._leaf(toks)
        cluster = self._best(leaf.clusters, toks)
        if cluster is None:
            cluster = Cluster(id=len(self.clusters), tokens=list(toks))
            self.clusters.append(cluster)
            leaf.clusters.append(cluster)
        else:
            _generalise(cluster.tokens, toks)
        cluster.size += 1
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.clear()
        self._seen[key] = cluster
        return cluster.id

    def template(self, cluster_id: int) -> str:
        """The cluster's template now (it only generalises as messages join)."""
        return self.clusters[cluster_id].template

    def assign(self, messages: Iterable[str]) -> list[str]:
        """Mine `messages`, then name each one's final template (clusters whose templates
        converged to the same text share one)."""
        ids = [self.add(m) for m in messages]
        return [self.clusters[i].template for i in ids]

    def _leaf(self, toks: list[str]) -> _Node:
        node = self._root.children.setdefault(str(len(toks)), _Node())
        for tok in toks[: self.config.depth - 2]:
            # `port=<*>` is a value, so not a branch of its own
            branch = WILDCARD if WILDCARD in tok else tok
            child = node.children.get(branch)
            if child is None:
                if len(node.children) >= self.config.max_children:
                    branch = WILDCARD
                child = node.children.setdefault(branch, _Node())
            node = child
        return node

    def _best(self, clusters: list[Cluster], toks: list[str]) -> Cluster | None:
        best: Cluster | None = None
        best_key = (-1.0, -1)
        n = len(toks)
        for cluster in clusters:
            same = 0
            params = 0
            for a, b in zip(cluster.tokens, toks, strict=True):
                if a == WILDCARD:
                    params += 1
                elif a == b:
                    same += 1
            constant = n - params
            score = same / constant if constant else 1.0
            if score > best_key[0] or (score == best_key[0] and params > best_key[1]):
                best, best_key = cluster, (score, params)
        if best is None or best_key[0] < self.config.similarity:
            return None
        return best


def template_id(template: str) -> str:
    """A stable id for a template's text: the same template gets the same id in any file."""
    return "t" + hashlib.blake2b(template.encode(), digest_size=5).hexdigest()


def _generalise(template: list[str], toks: list[str]) -> None:
    for i, (a, b) in enumerate(zip(template, toks, strict=True)):
        if a != b:
            template[i] = WILDCARD
