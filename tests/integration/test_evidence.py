"""Signed checkpoints catch truncation and rewrites; evidence packs verify offline."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from baton.domain.incident import Incident
from baton.errors import InputError
from baton.evidence import bundle, checkpoints
from baton.evidence.keys import Signer, init_keys, public_pem
from baton.runtime import Runtime
from baton.store import audit
from tests.conftest import runbook
from tests.integration.test_engine import REQ, pending, two_gates


def finish_a_run(rt: Runtime, incident: Incident, tmp_path: Path) -> str:
    run_id, _ = rt.runner.start(runbook(two_gates(tmp_path)), incident, requested_by=REQ)
    for item in pending(rt, run_id).values():
        rt.runner.answer(item, by="human:alice", verdict="approve")
    return run_id


def report(rt: Runtime, signer: Signer) -> checkpoints.Report:
    with rt.db.read() as s:
        return checkpoints.check(s, signer.public)


def unguard(rt: Runtime, *statements: str) -> None:
    with rt.db.write() as s:
        for table in ("audit_events", "audit_checkpoints"):
            for op in ("update", "delete"):
                s.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{op}"))
        for statement in statements:
            s.execute(text(statement))


def test_a_finished_run_leaves_a_signed_checkpoint(signed, incident, tmp_path):
    rt, signer = signed
    finish_a_run(rt, incident, tmp_path)
    result = report(rt, signer)
    assert result.ok and result.checkpoint is not None
    assert result.checkpoint.tree_size == result.chain.events
    assert "signed checkpoint at" in str(result)


def test_truncating_the_tail_is_detected(signed, incident, tmp_path):
    rt, signer = signed
    finish_a_run(rt, incident, tmp_path)
    with rt.db.read() as s:
        size = audit.latest_checkpoint(s).tree_size
    unguard(rt, f"DELETE FROM audit_events WHERE seq > {size - 3}")
    result = report(rt, signer)
    assert result.chain.ok  # the chain alone cannot tell
    assert not result.ok and result.problem.startswith(f"truncated: {size - 3} events")


def test_a_rewrite_with_recomputed_hashes_is_detected(signed, incident, tmp_path):
    rt, signer = signed
    finish_a_run(rt, incident, tmp_path)
    with rt.db.read() as s:
        events = list(audit.events(s))
    prev, rows = audit.GENESIS, []
    for e in events:  # an administrator who re-forges the whole chain
        actor = "human:mallory" if e.seq == 2 else e.actor
        canonical = audit.canonical_event(
            seq=e.seq,
            at=e.at,
            actor=actor,
            kind=e.kind,
            subjects=e.subjects,
            status=e.status,
            payload_text=audit.canonical_json(e.payload),
        )
        prev = audit.chain_hash(prev, canonical)
        rows.append((e.seq, actor, e.prev_hash if e.seq == 1 else None, prev))
    statements, last = [], audit.GENESIS
    for seq, actor, _, new_hash in rows:
        statements.append(
            f"UPDATE audit_events SET actor = '{actor}', prev_hash = '{last}', hash = '{new_hash}'"
            f" WHERE seq = {seq}"
        )
        last = new_hash
    unguard(rt, *statements)
    result = report(rt, signer)
    assert result.chain.ok  # a consistent forgery
    assert not result.ok and result.problem.startswith("rewritten:")


def test_a_forged_checkpoint_signature_is_detected(signed, incident, tmp_path):
    rt, signer = signed
    finish_a_run(rt, incident, tmp_path)
    # Flip the root's first hex digit to a different one (always a change, unlike 'f').
    unguard(
        rt,
        "UPDATE audit_checkpoints SET root = (CASE substr(root, 1, 1) WHEN 'f' THEN 'e'"
        " ELSE 'f' END) || substr(root, 2)",
    )
    assert "signature does not verify" in str(report(rt, signer))


def export(rt: Runtime, signer: Signer, tmp_path: Path, incident_id: str = "INC-1") -> Path:
    return bundle.export(rt.db, signer, tmp_path / "pack.zip", incident=incident_id).path


def repack(path: Path, change) -> Path:
    with zipfile.ZipFile(path) as pack:
        contents = {name: pack.read(name) for name in pack.namelist()}
    change(contents)
    out = path.with_name("changed.zip")
    with zipfile.ZipFile(out, "w") as pack:
        for name, data in contents.items():
            pack.writestr(name, data)
    return out


def test_an_evidence_pack_verifies_offline(signed, incident, tmp_path):
    rt, signer = signed
    run_id = finish_a_run(rt, incident, tmp_path)
    pack = export(rt, signer, tmp_path)
    result = bundle.verify_bundle(pack, public_pem(signer.public))
    assert result.ok, result.message
    assert result.message.startswith(f"ok: {result.events} events of incident INC-1")
    with zipfile.ZipFile(pack) as z:
        events = [json.loads(line) for line in z.read("events.jsonl").decode().splitlines()]
        html = z.read("timeline.html").decode()
    assert {e["subjects"]["run"] for e in events} == {run_id}
    assert "human:alice" in html and "<script" not in html


def test_hostile_text_is_escaped_in_the_timeline(signed, incident, tmp_path):
    rt, signer = signed
    rb = runbook("""
        id: hostile
        title: Hostile
        owner: sre
        tasks:
          - {id: gate, type: approval, title: Look, approvers: [ic],
             shows: ["<script>alert(1)</script>"]}
    """)
    rt.runner.start(rb, incident, requested_by=REQ)
    pack = export(rt, signer, tmp_path)
    with zipfile.ZipFile(pack) as z:
        html = z.read("timeline.html").decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_wrong_key_forged_proof_and_extra_files_fail(signed, incident, tmp_path, settings):
    rt, signer = signed
    finish_a_run(rt, incident, tmp_path)
    pack = export(rt, signer, tmp_path)
    other = init_keys(tmp_path / "other.pem")
    wrong = bundle.verify_bundle(pack, public_pem(other.public))
    assert not wrong.ok and "not the expected key" in wrong.message

    def forge_proof(contents: dict[str, bytes]) -> None:
        # An insider with the key re-signs the manifest, but cannot make a proof lead to
        # the signed root.
        lines = contents["events.jsonl"].decode().splitlines()
        first = json.loads(lines[0])
        first["proof"][0] = "00" * 32
        lines[0] = audit.canonical_json(first)
        contents["events.jsonl"] = ("\n".join(lines) + "\n").encode()
        manifest = json.loads(contents["manifest.json"])
        manifest["files"]["events.jsonl"] = bundle._sha(contents["events.jsonl"])
        contents["manifest.json"] = audit.canonical_json(manifest).encode()
        contents["manifest.sig"] = signer.sign(contents["manifest.json"]).encode()

    forged = bundle.verify_bundle(repack(pack, forge_proof), public_pem(signer.public))
    assert not forged.ok and "inclusion proof does not lead to the signed root" in forged.message

    extra = bundle.verify_bundle(
        repack(pack, lambda c: c.__setitem__("notes.txt", b"trust me")), public_pem(signer.public)
    )
    assert not extra.ok and "not in the manifest" in extra.message
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    broken = bundle.verify_bundle(junk)
    assert not broken.ok and "is not an evidence pack" in broken.message


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_flipped_byte_fails(signed_pack, data, tmp_path_factory):
    pack, key = signed_pack
    with zipfile.ZipFile(io.BytesIO(pack)) as z:
        contents = {name: z.read(name) for name in z.namelist()}
    name = data.draw(st.sampled_from(sorted(contents)))
    at = data.draw(st.integers(min_value=0, max_value=len(contents[name]) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    flipped = bytearray(contents[name])
    flipped[at] ^= 1 << bit
    contents[name] = bytes(flipped)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for n, d in contents.items():
            z.writestr(n, d)
    path = tmp_path_factory.mktemp("flipped") / f"{name.replace('/', '_')}-{at}-{bit}.zip"
    path.write_bytes(buffer.getvalue())
    assert not bundle.verify_bundle(path, key).ok


def test_a_flipped_byte_anywhere_in_the_zip_file_is_tampering(signed_pack, tmp_path):
    """Found 1 run in 15 by the property test: a flipped public key raised cryptography's
    UnsupportedAlgorithm, a flipped compressed byte a zlib error; both were internal errors."""
    pack, key = signed_pack
    with zipfile.ZipFile(io.BytesIO(pack)) as z:
        original = {n: z.read(n) for n in z.namelist()}
    for at in range(0, len(pack), max(1, len(pack) // 400)):
        flipped = bytearray(pack)
        flipped[at] ^= 0x10
        path = tmp_path / f"whole-{at}.zip"
        path.write_bytes(bytes(flipped))
        report = bundle.verify_bundle(path, key)  # never raises, whatever the byte
        if report.ok:  # only zip bookkeeping the reader ignores changed: the content did not
            with zipfile.ZipFile(path) as z:
                assert {n: z.read(n) for n in z.namelist()} == original, at
    with zipfile.ZipFile(io.BytesIO(pack)) as z:
        pem = z.read("public_key.pem")
    assert b"PUBLIC KEY" in pem
    broken = pem.replace(b"MCow", b"MCox")  # the key's algorithm identifier, one bit off
    contents = {}
    with zipfile.ZipFile(io.BytesIO(pack)) as z:
        contents = {n: z.read(n) for n in z.namelist()}
    contents["public_key.pem"] = broken
    path = tmp_path / "bad-key.zip"
    with zipfile.ZipFile(path, "w") as z:
        for n, d in contents.items():
            z.writestr(n, d)
    report = bundle.verify_bundle(path, key)
    assert not report.ok
    assert "public_key.pem is not a PEM public key" in report.message


@pytest.fixture
def signed_pack(signed, incident, tmp_path) -> tuple[bytes, bytes]:
    rt, signer = signed
    finish_a_run(rt, incident, tmp_path)
    return export(rt, signer, tmp_path).read_bytes(), public_pem(signer.public)


def test_export_without_a_key_or_scope_is_a_clear_error(runtime, incident, tmp_path):
    other = init_keys(tmp_path / "k.pem")
    with pytest.raises(InputError, match="export one scope"):
        bundle.export(runtime.db, other, tmp_path / "x.zip")
    with pytest.raises(InputError, match="no audit events for incident NOPE"):
        bundle.export(runtime.db, other, tmp_path / "x.zip", incident="NOPE")
    assert not (tmp_path / "x.zip").exists()
    with pytest.raises(InputError, match="already exists"):
        init_keys(tmp_path / "k.pem")


def test_a_signature_in_non_canonical_base64_is_refused(signed, incident, tmp_path):
    """Found by the flipped-byte property test: base64 ignores the spare bits of its last
    character, so such a flip must not leave a pack that still verifies."""
    rt, signer = signed
    finish_a_run(rt, incident, tmp_path)
    pack = export(rt, signer, tmp_path)

    def respell_signature(contents: dict[str, bytes]) -> None:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        sig = contents["manifest.sig"].decode()
        assert sig.endswith("==")  # 64 bytes: the last character carries 4 spare bits
        spare_flipped = alphabet[alphabet.index(sig[-3]) ^ 1]
        contents["manifest.sig"] = (sig[:-3] + spare_flipped + "==").encode()

    result = bundle.verify_bundle(repack(pack, respell_signature), public_pem(signer.public))
    assert not result.ok and "manifest signature does not verify" in result.message
