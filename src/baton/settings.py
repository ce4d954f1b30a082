"""Settings, read lazily from the environment (`BATON_*`).

Nothing reads the environment at import: call `get_settings()` (cached) or build a
`Settings` explicitly, as tests do.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where Baton keeps its state and how it talks to the outside world."""

    model_config = SettingsConfigDict(env_prefix="BATON_", extra="ignore")

    home: Path = Field(default=Path(".baton"), description="State directory ($BATON_HOME).")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL for app tables; default SQLite under home."
    )
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = Field(
        default="NORMAL",
        description="SQLite synchronous pragma. WAL+NORMAL survives process crashes (kill -9); "
        "FULL also survives power loss at the cost of one fsync per commit.",
    )
    sqlite_wal_autocheckpoint: int = Field(
        default=10000,
        ge=0,
        description="Pages the WAL may grow to before a commit checkpoints it (SQLite's default "
        "is 1000). Each checkpoint fsyncs; fewer, larger ones cut the per-commit cost on the "
        "action hot path by about a third (bench/engine.py) for up to ~40 MB of WAL.",
    )
    http_allow_private: bool = Field(
        default=False,
        description="Let the http executor reach loopback, link-local and private addresses.",
    )
    lock_timeout_seconds: float = Field(
        default=30.0, description="How long to wait for another process advancing the same run."
    )
    retry_backoff_seconds: float = Field(
        default=1.0, ge=0, description="First delay between action retries; doubles each time."
    )
    output_limit_bytes: int = Field(
        default=65536, description="Captured stdout/stderr/body kept per action, per stream."
    )

    signing_key: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs audit checkpoints and evidence "
        "packs; default $BATON_HOME/keys/audit-ed25519.pem (create it with `baton keys init`).",
    )

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key or self.home / "keys" / "audit-ed25519.pem"

    @property
    def sqlite_path(self) -> Path:
        return self.home / "baton.sqlite"

    @property
    def checkpoint_path(self) -> Path:
        return self.home / "checkpoints.sqlite"

    @property
    def lock_dir(self) -> Path:
        return self.home / "locks"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
