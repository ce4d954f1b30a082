"""Signed Merkle checkpoints over the audit chain, and the full audit check.

A checkpoint signs `(tree_size, root, time)`: the RFC 9162 Merkle root over the chain
hashes of events 1..tree_size. The chain alone catches edits inside the log; a checkpoint
also catches what the chain cannot: a truncated tail (fewer events than were signed) and a
wholesale rewrite with recomputed hashes (a different root).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from baton.domain import merkle
from baton.errors import InputError
from baton.evidence.keys import Signer, verify_signature
from baton.store import audit, sql
from baton.store.db import Database
from baton.store.models import utcnow

MESSAGE_PREFIX = "baton audit checkpoint v1"


def message(tree_size: int, root: str, at: str) -> bytes:
    """The exact bytes that are signed."""
    return f"{MESSAGE_PREFIX}\n{tree_size}\n{root}\n{at}\n".encode()


def sign(session: sql.Tx, signer: Signer) -> audit.Checkpoint | None:
    """Sign the log as it stands (in the caller's write transaction); None if it is empty."""
    entries = audit.hashes(session)
    if not entries:
        return None
    latest = audit.latest_checkpoint(session)
    if latest is not None and latest.tree_size == len(entries):
        return latest
    root = merkle.root(entries).hex()
    at = audit.rfc3339(utcnow())
    checkpoint = audit.Checkpoint(
        tree_size=len(entries),
        root=root,
        at=at,
        key_id=signer.key_id,
        signature=signer.sign(message(len(entries), root, at)),
    )
    audit.add_checkpoint(session, checkpoint)
    return checkpoint


def sign_now(db: Database, signer: Signer) -> audit.Checkpoint | None:
    """`sign` in a write transaction of its own."""
    with db.begin() as conn:
        return sign(conn, signer)


def valid(checkpoint: audit.Checkpoint, key: Ed25519PublicKey) -> bool:
    return verify_signature(
        key, message(checkpoint.tree_size, checkpoint.root, checkpoint.at), checkpoint.signature
    )


@dataclass(frozen=True)
class Report:
    chain: audit.Verdict
    checkpoint: audit.Checkpoint | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.problem is None

    def __str__(self) -> str:
        if not self.chain.ok:
            return str(self.chain)
        if self.problem:
            return self.problem
        signed = (
            f"; signed checkpoint at {self.checkpoint.tree_size} by key {self.checkpoint.key_id}"
            if self.checkpoint
            else "; no signed checkpoint yet (truncation and rewrites are not detectable)"
        )
        return f"{self.chain}{signed}"


def check(
    session: sql.Tx, key: Ed25519PublicKey | None, anchor: audit.Checkpoint | None = None
) -> Report:
    """Walk the chain, then hold it against the latest signed checkpoint, and against an
    `anchor` kept outside the database (`baton audit checkpoint --out`), if given.

    With a signing key, a log with events but no checkpoint is a finding: deleting the last
    events *and* the checkpoints would otherwise pass as "nothing signed yet".
    """
    chain = audit.verify(session)
    checkpoint = audit.latest_checkpoint(session)
    if not chain.ok:
        return Report(chain, checkpoint, None)
    if checkpoint is None and anchor is None:
        if key is not None and chain.events > 0:
            return Report(
                chain,
                None,
                f"no signed checkpoint, though a signing key exists and {chain.events} events"
                " are logged: checkpoints may have been deleted (sign one with `baton audit "
                "checkpoint`; anchor it outside the database with --out)",
            )
        return Report(chain, None, None)
    if key is None:
        return Report(
            chain, checkpoint, "cannot check checkpoints: no public key (baton keys init)"
        )
    if anchor is not None:
        if checkpoint is None or checkpoint.tree_size < anchor.tree_size:
            problem = _against(session, chain, anchor, key, "anchored checkpoint")
            held = checkpoint.tree_size if checkpoint else 0
            return Report(
                chain,
                checkpoint,
                problem
                or f"checkpoints deleted: the anchored checkpoint at {anchor.tree_size} "
                f"({anchor.at}) is newer than any in the database ({held})",
            )
        problem = _against(session, chain, anchor, key, "anchored checkpoint")
        if problem:
            return Report(chain, checkpoint, problem)
    assert checkpoint is not None
    return Report(chain, checkpoint, _against(session, chain, checkpoint, key, "checkpoint"))


def _against(
    session: sql.Tx,
    chain: audit.Verdict,
    checkpoint: audit.Checkpoint,
    key: Ed25519PublicKey,
    what: str,
) -> str | None:
    """What is wrong with the log as `checkpoint` saw it, or None."""
    if not valid(checkpoint, key):
        return f"{what} at {checkpoint.tree_size}: signature does not verify"
    if chain.events < checkpoint.tree_size:
        return (
            f"truncated: {chain.events} events, but {checkpoint.tree_size} were signed"
            f" at {checkpoint.at}"
        )
    root = merkle.root(audit.hashes(session, upto=checkpoint.tree_size)).hex()
    if root != checkpoint.root:
        return (
            f"rewritten: the first {checkpoint.tree_size} events hash to root {root},"
            f" signed root is {checkpoint.root}"
        )
    return None


def anchor_line(checkpoint: audit.Checkpoint) -> str:
    """One JSON line that anchors a checkpoint outside the database (a file, syslog)."""
    return json.dumps({"baton_checkpoint": checkpoint.__dict__}, sort_keys=True)


def read_anchor(path: Path) -> audit.Checkpoint | None:
    """The newest checkpoint anchored in `path` (lines written by `anchor_line`)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"anchor file {path} does not exist") from None
    found: audit.Checkpoint | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = audit.Checkpoint(**json.loads(line)["baton_checkpoint"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{number}: not an anchored checkpoint ({exc})") from None
        if found is None or item.tree_size > found.tree_size:
            found = item
    return found
