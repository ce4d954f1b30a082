"""RFC 9162 Merkle trees: the level-by-level computation matches the recursive definition."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from baton.domain.merkle import inclusion_proofs, leaf_hash, node_hash, root, verify_inclusion


def mth(entries: list[bytes]) -> bytes:
    """The recursive definition from RFC 9162 §2.1.1, written as plainly as possible."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return leaf_hash(entries[0])
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return node_hash(mth(entries[:k]), mth(entries[k:]))


def path(m: int, entries: list[bytes]) -> list[bytes]:
    if len(entries) == 1:
        return []
    k = 1
    while k * 2 < len(entries):
        k *= 2
    if m < k:
        return [*path(m, entries[:k]), mth(entries[k:])]
    return [*path(m - k, entries[k:]), mth(entries[:k])]


entry_lists = st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(entries=entry_lists, data=st.data())
def test_root_and_proofs_match_the_rfc_and_verify(entries, data):
    index = data.draw(st.integers(min_value=0, max_value=len(entries) - 1))
    assert root(entries) == mth(entries)
    proof = inclusion_proofs(entries, [index])[index]
    assert proof == path(index, entries)
    assert verify_inclusion(entries[index], index, len(entries), proof, root(entries))


@settings(max_examples=200, deadline=None)
@given(entries=entry_lists, data=st.data())
def test_forged_proofs_fail(entries, data):
    index = data.draw(st.integers(min_value=0, max_value=len(entries) - 1))
    proof = inclusion_proofs(entries, [index])[index]
    good = root(entries)
    assert not verify_inclusion(entries[index] + b"x", index, len(entries), proof, good)
    if proof:
        at = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        forged = [*proof]
        forged[at] = bytes([forged[at][0] ^ 1]) + forged[at][1:]
        assert not verify_inclusion(entries[index], index, len(entries), forged, good)
        assert not verify_inclusion(entries[index], index, len(entries), proof[:-1], good)
    if len(entries) > 1:
        other = (index + 1) % len(entries)
        assert not verify_inclusion(entries[index], other, len(entries), proof, good) or (
            entries[other] == entries[index]
        )
