"""Settings, read lazily from the environment (`BATON_*`).

Nothing reads the environment at import: call `get_settings()` (cached) or build a
`Settings` explicitly, as tests do.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from baton.errors import ConfigError, one_line

SHIPPED = Path(__file__).resolve().parents[2]
"""The checkout this code runs from: runbooks, patterns and demo data ship beside it."""


def shipped(relative: str) -> Path:
    """A shipped file: from the working directory if it is there, else from the checkout."""
    here = Path(relative)
    return here if here.exists() else SHIPPED / relative


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
    sqlite_busy_timeout_ms: int = Field(
        default=30000,
        ge=0,
        description="How long a write waits for another writer before the database counts "
        "as busy (the API then answers 503 with Retry-After).",
    )
    dry_run: bool = Field(
        default=False,
        description="Record command and http actions (the exact invocation) instead of "
        "performing them; dry runs are never promotion evidence.",
    )
    http_allow_private: bool = Field(
        default=False,
        description="Let the http executor reach loopback, link-local and private addresses.",
    )
    postgres_pool_size: int = Field(
        default=8, ge=1, description="Connections each process keeps for checkpoints on PostgreSQL."
    )
    postgres_connect_seconds: float = Field(
        default=10.0, gt=0, description="How long a process waits for PostgreSQL at start."
    )
    lock_timeout_seconds: float = Field(
        default=30.0, description="How long to wait for another process advancing the same run."
    )
    retry_backoff_seconds: float = Field(
        default=1.0, ge=0, description="First delay between action retries; doubles each time."
    )
    timer_park_seconds: float = Field(
        default=1.0,
        ge=0,
        description="`baton serve` and `baton worker` park a run on a wait or a retry backoff "
        "longer than this and advance it again when due (shorter ones are slept in place).",
    )
    output_limit_bytes: int = Field(
        default=65536, description="Captured stdout/stderr/body kept per action, per stream."
    )

    signing_key: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs audit checkpoints and evidence "
        "packs; default $BATON_HOME/keys/audit-ed25519.pem (create it with `baton keys init`).",
    )

    patterns_dir: Path | None = Field(
        default=None, description="Pattern catalog directory; default ./runbooks/patterns."
    )
    people_file: Path | None = Field(
        default=None,
        description="People directory (user → roles); default $BATON_HOME/people.yaml.",
    )
    allow_unverified_approvers: bool = Field(
        default=False,
        description="Without a people directory, accept answers from anyone named by --as "
        "(each recorded as unverified). Off: such answers are refused.",
    )
    freeze_file: Path | None = Field(
        default=None, description="Change freeze calendar; default $BATON_HOME/freeze.yaml."
    )

    model_provider: Literal["offline", "openai"] = Field(
        default="offline",
        description="Who reasons for agents: 'offline' (deterministic, no network) or 'openai' "
        "(any OpenAI-compatible chat-completions endpoint).",
    )
    model_base_url: str | None = Field(
        default=None, description="Base URL of the OpenAI-compatible endpoint, e.g. .../v1."
    )
    model_api_key: SecretStr | None = Field(default=None, description="API key for the endpoint.")
    model_name: str | None = Field(default=None, description="Model name sent to the endpoint.")
    agent_max_tool_calls: int = Field(default=12, ge=1, description="Tool calls per agent task.")
    agent_max_tokens: int = Field(default=20000, ge=1, description="Tokens per agent task.")
    agent_timeout_seconds: float = Field(default=120.0, gt=0, description="Wall clock per task.")

    runbooks_dir: Path | None = Field(
        default=None,
        description="Runbooks that alerts are routed to by their `triggers`; default "
        "./runbooks (or the shipped ones).",
    )
    maintenance_file: Path | None = Field(
        default=None, description="Maintenance windows; default $BATON_HOME/maintenance.yaml."
    )
    serve_workers: int = Field(
        default=2, ge=1, le=32, description="Threads of `baton serve` that advance runs."
    )
    serve_recover_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often `baton serve` expires overdue items, resumes orphaned runs "
        "and signs an audit checkpoint.",
    )
    public_url: str | None = Field(
        default=None, description="The server's URL as people reach it (login links, redirects)."
    )
    worker_stall_seconds: float = Field(
        default=30.0,
        ge=2,
        description="A worker silent this long is presumed dead: its jobs go to another worker "
        "(PostgreSQL mode; workers beat every third of it).",
    )
    serve_grace_seconds: float = Field(
        default=10.0,
        ge=0,
        description="On shutdown, how long `baton serve` waits for steps in flight (a step "
        "cut short resumes on the next start without repeating a side effect).",
    )
    session_hours: float = Field(default=12.0, gt=0, description="Browser session lifetime.")
    cookie_secure: bool = Field(
        default=False, description="Mark the session cookie Secure (set it behind HTTPS)."
    )
    access_log: bool = Field(
        default=False,
        description="Log every request as a JSON line (errors are always logged, with their "
        "request id).",
    )
    incident_max_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest incident file `baton run` reads."
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body the API reads."
    )
    webhook_token_alertmanager: SecretStr | None = None
    webhook_token_pagerduty: SecretStr | None = None
    webhook_token_datadog: SecretStr | None = None
    webhook_token_grafana: SecretStr | None = None
    webhook_token_generic: SecretStr | None = None
    webhook_secret_pagerduty: SecretStr | None = Field(
        default=None, description="PagerDuty v3 webhook signing secret (X-PagerDuty-Signature)."
    )
    webhook_secret_grafana: SecretStr | None = Field(
        default=None, description="Grafana contact point HMAC secret."
    )
    webhook_secret_generic: SecretStr | None = Field(
        default=None, description="HMAC secret of Baton's own signature scheme (docs/api.md)."
    )
    webhook_secret_alertmanager: SecretStr | None = None
    webhook_secret_datadog: SecretStr | None = None
    webhook_replay_seconds: float = Field(
        default=300.0, gt=0, description="How old a signed webhook timestamp may be."
    )
    alert_min_severity: Literal["critical", "high", "medium", "low", "info"] = Field(
        default="low", description="Alerts below this severity open no incident."
    )
    alert_dedup_seconds: float = Field(
        default=86400.0,
        gt=0,
        description="A firing alert whose fingerprint fed an incident still open within this "
        "window joins that incident instead of opening another.",
    )
    alert_flap_count: int = Field(
        default=4,
        ge=2,
        description="Firing episodes of one alert within the flap window that "
        "make it flapping (it then opens no new incident).",
    )
    alert_flap_seconds: float = Field(default=3600.0, gt=0, description="The flap window.")
    oidc_issuer: str | None = Field(default=None, description="OIDC issuer (bearer JWTs).")
    oidc_audience: str | None = Field(default=None, description="Expected `aud` of JWTs.")
    oidc_jwks_url: str | None = Field(default=None, description="Where the issuer's keys are.")
    oidc_client_id: str | None = Field(
        default=None, description="OIDC client id for browser login (authorization code + PKCE)."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="OIDC client secret, for a confidential client."
    )
    oidc_user_claim: str = Field(
        default="preferred_username", description="The claim that names the user."
    )

    def webhook_token(self, source: str) -> str | None:
        value: SecretStr | None = getattr(self, f"webhook_token_{source}", None)
        return value.get_secret_value() if value else None

    def webhook_secret(self, source: str) -> str | None:
        value: SecretStr | None = getattr(self, f"webhook_secret_{source}", None)
        return value.get_secret_value() if value else None

    @property
    def maintenance_path(self) -> Path:
        return self.maintenance_file or self.home / "maintenance.yaml"

    @property
    def routing_dir(self) -> Path:
        return self.runbooks_dir or shipped("runbooks")

    @property
    def pattern_dirs(self) -> list[Path]:
        """Where to look for the catalog, first match wins."""
        if self.patterns_dir is not None:
            return [self.patterns_dir]
        return [Path("runbooks/patterns"), SHIPPED / "runbooks" / "patterns"]

    @property
    def people_path(self) -> Path:
        return self.people_file or self.home / "people.yaml"

    @property
    def freeze_path(self) -> Path:
        return self.freeze_file or self.home / "freeze.yaml"

    @property
    def data_dir(self) -> Path:
        """Embedded data sources (ITSM records, logs) that read-only tools query."""
        return self.home / "data"

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

    @property
    def on_postgres(self) -> bool:
        """App tables, checkpoints and the job queue on PostgreSQL (scale-out mode)."""
        return self.resolved_database_url.startswith("postgresql")

    @property
    def postgres_conninfo(self) -> str:
        """`BATON_DATABASE_URL` as libpq takes it (without SQLAlchemy's `+driver`)."""
        scheme, sep, rest = self.resolved_database_url.partition("://")
        return f"{scheme.split('+')[0]}{sep}{rest}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read from the environment; a bad value names its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = one_line(exc, name=lambda field: f"BATON_{field.upper()}")
        raise ConfigError(f"invalid setting: {problems}") from None
