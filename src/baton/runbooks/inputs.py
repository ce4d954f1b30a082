"""Resolve a run's inputs against the runbook's declared `inputs`."""

from __future__ import annotations

from collections.abc import Mapping

from baton.errors import InputError
from baton.runbooks.model import InputSpec, OutputSpec

Value = str | float | bool


def coerce(name: str, spec: InputSpec | OutputSpec, raw: object) -> Value:
    """Convert a CLI/API string (or JSON value) to the declared type, or say why not."""
    if spec.type == "string":
        if isinstance(raw, str):
            return raw
        raise InputError(f"{name}: expected a string, got {raw!r}")
    if spec.type == "number":
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        try:
            return float(str(raw))
        except ValueError:
            raise InputError(f"{name}: expected a number, got {raw!r}") from None
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "yes", "1"}:
        return True
    if text in {"false", "no", "0"}:
        return False
    raise InputError(f"{name}: expected true or false, got {raw!r}")


def resolve_values(
    declared: Mapping[str, InputSpec | OutputSpec], given: Mapping[str, object], *, what: str
) -> dict[str, Value]:
    """Typed values for every declared name: unknown names and missing required ones fail."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise InputError(f"unknown {what} {', '.join(unknown)} (declared: {known})")
    values: dict[str, Value] = {}
    for name, spec in declared.items():
        if name in given:
            values[name] = coerce(name, spec, given[name])
        elif isinstance(spec, InputSpec) and spec.default is not None:
            values[name] = spec.default
        elif spec.required:
            raise InputError(f"missing required {what} {name!r}")
    return values
