"""Is this webhook from who it claims? Pure checks of a token or an HMAC over the raw body.

Each check returns None or raises `Unauthenticated` with a short reason that names the
header, never the secret or the expected value. Comparisons use `hmac.compare_digest`.
Signatures are over the raw request bytes: verify before decoding the JSON.

- Bearer: `Authorization: Bearer <token>`.
- Baton: `X-Baton-Timestamp: <unix seconds>` and
  `X-Baton-Signature: sha256=<hex HMAC-SHA256(secret, b"<timestamp>." + body)>`,
  refused outside +/- the window (a replay, or a skewed clock).
- PagerDuty v3: `X-PagerDuty-Signature: v1=<hex HMAC-SHA256(secret, body)>`, possibly several
  comma-separated (one per secret while PagerDuty rotates them): one match is enough.
- Grafana: `X-Grafana-Alerting-Signature: <hex HMAC-SHA256(secret, message)>` where message is
  `b"<timestamp>:" + body` when the contact point sets a timestamp header (unix seconds),
  else the body alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from baton.errors import Unauthenticated

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_SECONDS = re.compile(r"[0-9]{1,12}")


def _require_secret(secret: str) -> bytes:
    """An empty secret would make an empty signature "valid": refuse instead."""
    if not secret:
        raise Unauthenticated("no secret is configured for this source")
    return secret.encode()


def _hmac_hex(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _matches(expected_hex: str, given: str) -> bool:
    """Constant-time, on well-formed hex only (compare_digest needs ASCII)."""
    return bool(_HEX64.fullmatch(given)) and hmac.compare_digest(expected_hex, given.lower())


def _fresh(header: str, value: str | None, now: float, window_seconds: float) -> str:
    """The timestamp header's value, if it is unix seconds within the window."""
    if value is None or not value.strip():
        raise Unauthenticated(f"missing {header}")
    value = value.strip()
    if not _SECONDS.fullmatch(value):
        raise Unauthenticated(f"{header} is not unix seconds")
    if abs(now - int(value)) > window_seconds:
        raise Unauthenticated(f"{header} is outside the allowed window (replayed or clock skew)")
    return value


def check_bearer(authorization_header: str | None, expected: str) -> None:
    """`Authorization: Bearer <expected>`; the scheme is case-insensitive (RFC 7235)."""
    secret = _require_secret(expected)
    if not authorization_header or not authorization_header.strip():
        raise Unauthenticated("missing Authorization header")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization is not a Bearer token")
    if not hmac.compare_digest(token.strip().encode(), secret):
        raise Unauthenticated("the Bearer token is not valid")


def sign_baton(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The headers that make `body` pass `check_baton_hmac` (for clients and tests)."""
    if not secret:
        raise ValueError("cannot sign with an empty secret")
    stamp = str(int(timestamp))
    signature = _hmac_hex(secret.encode(), f"{stamp}.".encode() + body)
    return {"X-Baton-Timestamp": stamp, "X-Baton-Signature": f"sha256={signature}"}


def check_baton_hmac(
    body: bytes,
    signature_header: str | None,
    timestamp_header: str | None,
    secret: str,
    now: float,
    window_seconds: float,
) -> None:
    """Baton's scheme: the timestamp is signed with the body, so it cannot be swapped."""
    key = _require_secret(secret)
    if not signature_header or not signature_header.strip():
        raise Unauthenticated("missing X-Baton-Signature header")
    stamp = _fresh("X-Baton-Timestamp header", timestamp_header, now, window_seconds)
    scheme, _, given = signature_header.strip().partition("=")
    if scheme != "sha256":
        raise Unauthenticated("X-Baton-Signature is not of the form sha256=<hex>")
    if not _matches(_hmac_hex(key, f"{stamp}.".encode() + body), given):
        raise Unauthenticated("X-Baton-Signature does not match the body")


def check_pagerduty(body: bytes, signature_header: str | None, secret: str) -> None:
    """PagerDuty v3: any one `v1=` signature in the list matching is enough."""
    key = _require_secret(secret)
    if not signature_header or not signature_header.strip():
        raise Unauthenticated("missing X-PagerDuty-Signature header")
    given = [
        part.strip()[3:] for part in signature_header.split(",") if part.strip().startswith("v1=")
    ]
    if not given:
        raise Unauthenticated("X-PagerDuty-Signature has no v1 signature")
    expected = _hmac_hex(key, body)
    # Check every candidate so the time taken does not depend on which one matched.
    results = [_matches(expected, candidate) for candidate in given]
    if not any(results):
        raise Unauthenticated("X-PagerDuty-Signature does not match the body")


def check_grafana(
    body: bytes,
    signature_header: str | None,
    timestamp_header: str | None,
    secret: str,
    now: float,
    window_seconds: float,
    *,
    require_timestamp: bool = True,
) -> None:
    """Grafana's HMAC signing; a timestamp header (configured on the contact point) is signed.

    Without a timestamp a captured request could be replayed forever, so one is required
    unless the caller says the contact point is configured without one.
    """
    key = _require_secret(secret)
    if not signature_header or not signature_header.strip():
        raise Unauthenticated("missing X-Grafana-Alerting-Signature header")
    if timestamp_header is None and not require_timestamp:
        message = body
    else:
        stamp = _fresh("Grafana timestamp header", timestamp_header, now, window_seconds)
        message = f"{stamp}:".encode() + body
    if not _matches(_hmac_hex(key, message), signature_header.strip()):
        raise Unauthenticated("X-Grafana-Alerting-Signature does not match the body")
