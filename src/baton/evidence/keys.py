"""The Ed25519 key pair that signs checkpoints and evidence packs.

The private key lives in one PEM file (mode 0600); the public key beside it with `.pub`.
A key's id is the first 16 hex digits of SHA-256 over its raw 32-byte public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from baton.errors import ConfigError, InputError


def public_path(private: Path) -> Path:
    return private.with_name(private.name + ".pub")


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode()


def verify_signature(key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    """Valid only in canonical base64: base64 ignores the last character's spare bits, so a
    flipped bit there would otherwise leave an altered file that still verifies."""
    try:
        raw = base64.b64decode(signature, validate=True)
        if base64.b64encode(raw).decode() != signature.strip():
            return False
        key.verify(raw, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def init_keys(private: Path, *, force: bool = False) -> Signer:
    """Create a key pair; refuses to overwrite one (a lost key orphans its signatures)."""
    if private.exists() and not force:
        raise InputError(f"{private} already exists; keep it (or pass --force to replace it)")
    try:
        private.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        public_path(private).write_bytes(public_pem(key.public_key()))
    except OSError as exc:
        raise ConfigError(f"cannot write signing key {private}: {exc.strerror}") from exc
    return Signer(key)


def load_signer(private: Path) -> Signer | None:
    """The signer, or None when no key was created; a corrupt key is an error."""
    if not private.exists():
        return None
    try:
        key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise ConfigError(f"signing key {private} is unreadable: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"signing key {private} is not an Ed25519 key")
    return Signer(key)


def load_public(pem: bytes, *, source: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{source} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{source} is not an Ed25519 public key")
    return key
