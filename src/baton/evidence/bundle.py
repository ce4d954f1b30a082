"""Evidence packs: one zip a regulator can check offline, with no database.

Contents: `events.jsonl` (the incident's or run's audit events, each with its Merkle
inclusion proof), `blobs/` (large payloads by digest), `timeline.html`, `public_key.pem`,
and `manifest.json` (the signed checkpoint, scope, and the SHA-256 of every other file),
signed in `manifest.sig`. Verification fails on any flipped byte, a forged or stale proof,
an event whose hash does not follow from its fields, or a key other than the expected one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from baton.domain import merkle
from baton.errors import InputError
from baton.evidence import checkpoints, timeline
from baton.evidence.keys import (
    Signer,
    key_id,
    load_public,
    public_pem,
    raw_public,
    verify_signature,
)
from baton.store import audit, sql
from baton.store.db import Database

FORMAT = "baton-evidence/1"
# The casts tell PostgreSQL the type of a parameter that is only compared with NULL.
_SELECT = (
    "SELECT seq FROM audit_events WHERE run_id = :run"
    " OR (CAST(:incident AS TEXT) IS NOT NULL AND (incident_id = :incident"
    " OR run_id IN (SELECT id FROM runs WHERE incident_id = :incident)))"
    " OR (CAST(:pattern AS TEXT) IS NOT NULL AND ((pattern_id = :pattern"
    " AND (CAST(:context AS TEXT) IS NULL"
    " OR run_id IS NULL OR run_id IN (SELECT run_id FROM pattern_runs WHERE pattern_id = :pattern"
    " AND context_key = :context)))"
    " OR run_id IN (SELECT run_id FROM pattern_runs WHERE pattern_id = :pattern"
    " AND (CAST(:context AS TEXT) IS NULL OR context_key = :context))))"
    " ORDER BY seq"
)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _event_record(event: audit.AuditEvent, proof: list[bytes]) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": audit.rfc3339(event.at),
        "actor": event.actor,
        "kind": event.kind,
        "subjects": {name: event.subjects.get(name) for name in audit.SUBJECTS},
        "status": event.status,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "proof": [p.hex() for p in proof],
    }


@dataclass(frozen=True)
class Exported:
    path: Path
    events: int
    tree_size: int


def export(
    db: Database,
    signer: Signer,
    out: Path,
    *,
    incident: str | None = None,
    run: str | None = None,
    pattern: str | None = None,
    context: str | None = None,
) -> Exported:
    """Sign a checkpoint covering the log now, then write the pack for the scope.

    A pattern scope holds the pattern's ledger events (promotions, demotions) and every
    event of the runs that count as its evidence, optionally in one condition `context`.
    """
    if sum(x is not None for x in (incident, run, pattern)) != 1:
        raise InputError("export one scope: --incident ID, --run ID or a pattern")
    scope = (
        f"incident {incident}"
        if incident
        else f"run {run}"
        if run
        else f"pattern {pattern}" + (f" in {context}" if context else "")
    )
    checkpoint = checkpoints.sign_now(db, signer)
    with db.read() as session:
        conn = sql.connection(session)
        seqs = [
            row[0]
            for row in sql.execute(
                conn,
                _SELECT,
                {"run": run, "incident": incident, "pattern": pattern, "context": context},
            )
        ]
        if not seqs or checkpoint is None:
            raise InputError(f"no audit events for {scope}")
        wanted = set(seqs)
        events = [e for e in audit.events(session, after=seqs[0] - 1) if e.seq in wanted]
        entries = audit.hashes(session, upto=checkpoint.tree_size)
        blobs = {
            ref: audit.blob(session, ref)
            for e in events
            if isinstance(ref := e.payload.get("$blob"), str)
        }
    proofs = merkle.inclusion_proofs(entries, [e.seq - 1 for e in events])
    records = [_event_record(e, proofs[e.seq - 1]) for e in events]
    files: dict[str, bytes] = {
        "events.jsonl": "".join(audit.canonical_json(r) + "\n" for r in records).encode(),
        "public_key.pem": public_pem(signer.public),
        "timeline.html": timeline.render(scope, records, checkpoint.__dict__).encode(),
    }
    for ref, body in blobs.items():
        files[f"blobs/{ref.removeprefix('sha256:')}.json"] = (body or "").encode()
    manifest = audit.canonical_json(
        {
            "format": FORMAT,
            "scope": {"incident": incident, "run": run}
            | ({"pattern": pattern, "context": context} if pattern else {}),
            "checkpoint": checkpoint.__dict__,
            "key_id": signer.key_id,
            "files": {name: _sha(data) for name, data in sorted(files.items())},
        }
    ).encode()
    files["manifest.json"] = manifest
    files["manifest.sig"] = signer.sign(manifest).encode()
    _write_zip(out, files)
    return Exported(out, len(records), checkpoint.tree_size)


def _write_zip(out: Path, files: dict[str, bytes]) -> None:
    """All or nothing: a half-written pack never appears under the requested name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as pack:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16  # readable files when unpacked
            info.compress_type = zipfile.ZIP_DEFLATED
            pack.writestr(info, files[name])
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {out}: {exc.strerror}") from exc


@dataclass(frozen=True)
class BundleReport:
    ok: bool
    message: str
    events: int = 0


def verify_bundle(path: Path, expected_key: bytes | None = None) -> BundleReport:
    """Check a pack with nothing but its bytes (and, ideally, the key you expect)."""
    expected = load_public(expected_key, source="--key") if expected_key is not None else None
    try:
        with zipfile.ZipFile(path) as pack:
            contents = {name: pack.read(name) for name in pack.namelist()}
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, ValueError) as exc:
        # A flipped byte in compressed data fails inside zlib: the pack was tampered with.
        return BundleReport(False, f"tampered: {path} is not an evidence pack: {exc}")
    try:
        return _verify(contents, expected)
    except InputError as exc:
        return BundleReport(False, exc.message)
    except Exception as exc:  # hostile bytes may break any parser: never an internal error
        return BundleReport(False, f"tampered: malformed evidence pack: {type(exc).__name__}")


def _verify(contents: dict[str, bytes], expected: Ed25519PublicKey | None) -> BundleReport:
    for required in ("manifest.json", "manifest.sig", "public_key.pem", "events.jsonl"):
        if required not in contents:
            return BundleReport(False, f"missing {required}")
    key = load_public(contents["public_key.pem"], source="public_key.pem")
    if expected is not None and raw_public(expected) != raw_public(key):
        return BundleReport(
            False, f"signed by key {key_id(key)}, not the expected key {key_id(expected)}"
        )
    manifest_bytes = contents["manifest.json"]
    if not verify_signature(key, manifest_bytes, contents["manifest.sig"].decode()):
        return BundleReport(False, "manifest signature does not verify")
    manifest = json.loads(manifest_bytes)
    if manifest.get("format") != FORMAT:
        return BundleReport(False, f"unknown format {manifest.get('format')!r}")
    listed = manifest["files"]
    extra = set(contents) - set(listed) - {"manifest.json", "manifest.sig"}
    if extra:
        return BundleReport(False, f"files not in the manifest: {', '.join(sorted(extra))}")
    for name, digest in listed.items():
        if name not in contents:
            return BundleReport(False, f"missing {name}")
        if _sha(contents[name]) != digest:
            return BundleReport(False, f"{name} was altered (digest mismatch)")
    checkpoint = audit.Checkpoint(**manifest["checkpoint"])
    if not checkpoints.valid(checkpoint, key):
        return BundleReport(False, "checkpoint signature does not verify")
    root = bytes.fromhex(checkpoint.root)
    count = 0
    for line in contents["events.jsonl"].decode().splitlines():
        record = json.loads(line)
        count += 1
        problem = _check_event(record, checkpoint.tree_size, root, contents)
        if problem:
            return BundleReport(False, f"event {record.get('seq')}: {problem}")
    scope = manifest["scope"]
    what = (
        f"incident {scope['incident']}"
        if scope.get("incident")
        else f"run {scope['run']}"
        if scope.get("run")
        else f"pattern {scope.get('pattern')}"
    )
    return BundleReport(
        True,
        f"ok: {count} events of {what}, each included in the checkpoint of"
        f" {checkpoint.tree_size} events signed {checkpoint.at} by key {key_id(key)}",
        count,
    )


def _check_event(
    record: dict[str, Any], tree_size: int, root: bytes, contents: dict[str, bytes]
) -> str | None:
    canonical = audit.canonical_event(
        seq=record["seq"],
        at=datetime.fromisoformat(record["at"].replace("Z", "+00:00")),
        actor=record["actor"],
        kind=record["kind"],
        subjects=record["subjects"],
        status=record["status"],
        payload_text=audit.canonical_json(record["payload"]),
    )
    if audit.chain_hash(record["prev_hash"], canonical) != record["hash"]:
        return "its hash does not follow from its fields"
    proof = [bytes.fromhex(p) for p in record["proof"]]
    if not merkle.verify_inclusion(
        bytes.fromhex(record["hash"]), record["seq"] - 1, tree_size, proof, root
    ):
        return "its inclusion proof does not lead to the signed root"
    ref = record["payload"].get("$blob")
    if isinstance(ref, str):
        body = contents.get(f"blobs/{ref.removeprefix('sha256:')}.json")
        if body is None or _sha(body) != ref:
            return f"blob {ref} is missing or altered"
    return None
