"""The light half of the composition root: each piece a command needs, built from settings
in this one place, without an engine (`runtime.build_runtime` builds the engine from the
same pieces). CLI commands that only read or sign start in about a second because they
import this, not LangGraph. An import-linter contract keeps the CLI from building these
pieces itself.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from baton.agents.version import agent_stamp
from baton.evidence.keys import Signer, init_keys, load_public, load_signer, public_path
from baton.policies.freeze import FreezeCalendar, load_calendar
from baton.policies.maintenance import MaintenanceCalendar, load_maintenance
from baton.policies.people import Directory, load_directory
from baton.runbooks.catalog import Catalog, open_catalog, with_agents
from baton.settings import Settings


def signer(settings: Settings) -> Signer | None:
    """The key that signs audit checkpoints and evidence packs, if one was created."""
    return load_signer(settings.signing_key_path)


def signer_or_new(settings: Settings) -> Signer:
    """The signing key, created on first use (demos and throwaway homes)."""
    return signer(settings) or init_keys(settings.signing_key_path)


def new_signer(settings: Settings, *, force: bool = False) -> Signer:
    """Create the signing key (`baton keys init`); refuses to replace one unless forced."""
    return init_keys(settings.signing_key_path, force=force)


def public_key(settings: Settings) -> Ed25519PublicKey | None:
    """The public half that verifies checkpoints, as shared with auditors."""
    path = public_path(settings.signing_key_path)
    return load_public(path.read_bytes(), source=str(path)) if path.exists() else None


def directory(settings: Settings) -> Directory:
    """The people directory: who holds which roles and teams."""
    return load_directory(settings.people_path, unverified_ok=settings.allow_unverified_approvers)


def catalog(settings: Settings) -> Catalog:
    """The pattern catalog in use, its eval-gated patterns versioned with the agents these
    settings configure (a model or agent change demotes them until a fresh eval passes)."""
    return with_agents(open_catalog(settings), agent_stamp(settings))


def freeze_calendar(settings: Settings) -> FreezeCalendar:
    return load_calendar(settings.freeze_path)


def maintenance_calendar(settings: Settings) -> MaintenanceCalendar:
    return load_maintenance(settings.maintenance_path)
