"""Exception tree with stable codes.

Every error a user can see is a `BatonError`: the CLI prints `code: message` (no traceback
unless `--debug`) and the API will map `status` to an HTTP status.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import ValidationError


class BatonError(Exception):
    """Base of every error Baton reports to a person or a script."""

    code = "baton_error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(BatonError):
    """Settings or the environment are unusable (e.g. `$BATON_HOME` not writable)."""

    code = "config_error"
    status = 500


class StorageError(BatonError):
    """The database could not be opened or written."""

    code = "storage_error"
    status = 503


class InputError(BatonError):
    """A file or argument given by the user is unusable (missing, unreadable, malformed)."""

    code = "input_error"
    status = 400


class RunbookInvalid(BatonError):
    """A runbook failed to parse or validate; `problems` lists every finding."""

    code = "runbook_invalid"
    status = 422

    def __init__(self, problems: Sequence[object]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in problems))


class PayloadInvalid(InputError):
    """A webhook payload does not have the vendor's documented shape; `field` names where."""

    code = "payload_invalid"
    status = 422

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


class Unauthenticated(BatonError):
    """No credentials, or credentials that prove nothing (bad token, bad signature)."""

    code = "unauthenticated"
    status = 401


class Unavailable(BatonError):
    """The store is busy or down: try again later (the API adds `Retry-After`)."""

    code = "unavailable"
    status = 503


class NotFound(BatonError):
    """An id (run, item, runbook) names nothing we know."""

    code = "not_found"
    status = 404


class Conflict(BatonError):
    """The request is stale or already answered: nothing was changed."""

    code = "conflict"
    status = 409


class Forbidden(BatonError):
    """The actor may not do this (e.g. approving their own request)."""

    code = "forbidden"
    status = 403


class RunLocked(Conflict):
    """Another process is advancing this run right now."""

    code = "run_locked"


class Fenced(Conflict):
    """This process lost the run's lock while it was paused: another advances it now, and
    nothing this one was about to write may land (PostgreSQL mode)."""

    code = "fenced"


def one_line(
    exc: ValidationError,
    *,
    name: Callable[[str], str] = str,
    top: str = "(top level)",
    limit: int = 10,
) -> str:
    """A pydantic error as one line: `where: what; …`, at most `limit` of them.

    `name` turns a dotted location into what the reader knows it as (a field, a setting).
    """
    errors = exc.errors(include_url=False, include_input=False)
    parts = [
        f"{name('.'.join(str(p) for p in err['loc'])) if err['loc'] else top}: {err['msg']}"
        for err in errors[:limit]
    ]
    more = len(errors) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def flat(exc: BaseException) -> str:
    """An exception's text on one line (YAML parsers report over several)."""
    return " ".join(str(exc).split())
