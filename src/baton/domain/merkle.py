"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, inclusion proofs and checks.

Leaves are hashed as SHA-256(0x00 || entry), interior nodes as SHA-256(0x01 || left ||
right). The tree over n entries splits at the largest power of two below n, which is what
pairing nodes level by level (promoting a lone last node unchanged) computes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _levels(entries: Sequence[bytes]) -> list[list[bytes]]:
    level = [leaf_hash(e) for e in entries]
    levels = [level]
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
        levels.append(level)
    return levels


def root(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]); the empty tree's root is SHA-256 of the empty string."""
    if not entries:
        return hashlib.sha256(b"").digest()
    return _levels(entries)[-1][0]


def inclusion_proofs(entries: Sequence[bytes], indexes: Sequence[int]) -> dict[int, list[bytes]]:
    """PATH(m, D[n]) for each index m, computing the tree once."""
    levels = _levels(entries)
    proofs: dict[int, list[bytes]] = {}
    for index in indexes:
        if not 0 <= index < len(entries):
            raise IndexError(f"leaf {index} is outside a tree of {len(entries)}")
        path, position = [], index
        for level in levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            position //= 2
        proofs[index] = path
    return proofs


def verify_inclusion(
    entry: bytes, index: int, tree_size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` put `entry` at `index` of the tree with this root?"""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf_hash(entry)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root
