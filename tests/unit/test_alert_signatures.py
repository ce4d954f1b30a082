"""Webhook authentication: bearer tokens and the HMAC schemes of Baton, PagerDuty and Grafana."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import pytest

from baton.alerts.signatures import (
    check_baton_hmac,
    check_bearer,
    check_grafana,
    check_pagerduty,
    sign_baton,
)
from baton.errors import Unauthenticated

SECRET = "s3cr3t-Very-Long-Shared-Value"
BODY = b'{"title":"disk full","labels":{"host":"db-1"}}'
NOW = 1_718_180_047.0
WINDOW = 300.0


def hexmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def refused(check: Callable[[], None], reason: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        check()
    assert reason in caught.value.message
    assert SECRET not in caught.value.message
    assert hexmac(SECRET, BODY) not in caught.value.message


# --- bearer ------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [f"Bearer {SECRET}", f"bearer {SECRET}", f"  Bearer {SECRET} "])
def test_bearer_accepts_the_token(header: str):
    check_bearer(header, SECRET)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing Authorization header"),
        ("", "missing Authorization header"),
        (f"Basic {SECRET}", "not a Bearer token"),
        ("Bearer", "not a Bearer token"),
        (SECRET, "not a Bearer token"),
        ("Bearer s3cr3t-Very-Long-Shared-Valuf", "not valid"),
        (f"Bearer {SECRET}x", "not valid"),
        ("Bearer ünïcödé", "not valid"),
    ],
)
def test_bearer_refusals(header: str | None, reason: str):
    refused(lambda: check_bearer(header, SECRET), reason)


def test_an_empty_expected_token_never_authenticates():
    refused(lambda: check_bearer("Bearer ", ""), "no secret is configured")
    refused(lambda: check_bearer("Bearer x", ""), "no secret is configured")


# --- Baton -------------------------------------------------------------------------------


def test_baton_round_trip_and_the_documented_construction():
    headers = sign_baton(BODY, SECRET, int(NOW))
    assert headers == {
        "X-Baton-Timestamp": "1718180047",
        "X-Baton-Signature": "sha256=" + hexmac(SECRET, b"1718180047." + BODY),
    }
    check_baton_hmac(
        BODY, headers["X-Baton-Signature"], headers["X-Baton-Timestamp"], SECRET, NOW, WINDOW
    )


def _baton(
    body: bytes = BODY,
    signature: str | None = "",
    timestamp: str | None = "",
    secret: str = SECRET,
    now: float = NOW,
) -> Callable[[], None]:
    signed = sign_baton(BODY, SECRET, int(NOW))
    sig = signed["X-Baton-Signature"] if signature == "" else signature
    stamp = signed["X-Baton-Timestamp"] if timestamp == "" else timestamp
    return lambda: check_baton_hmac(body, sig, stamp, secret, now, WINDOW)


@pytest.mark.parametrize(
    ("check", "reason"),
    [
        (_baton(body=BODY + b" "), "does not match"),
        (_baton(body=b""), "does not match"),
        (_baton(secret="another-secret"), "does not match"),
        (_baton(signature=None), "missing X-Baton-Signature"),
        (_baton(signature="  "), "missing X-Baton-Signature"),
        (_baton(timestamp=None), "missing X-Baton-Timestamp"),
        (_baton(timestamp="1718180047.5"), "not unix seconds"),
        (_baton(timestamp="-1718180047"), "not unix seconds"),
        (_baton(timestamp="9" * 40), "not unix seconds"),
        (_baton(now=NOW + WINDOW + 1), "outside the allowed window"),  # replayed later
        (_baton(now=NOW - WINDOW - 1), "outside the allowed window"),  # from the future
        (_baton(signature=hexmac(SECRET, b"1718180047." + BODY)), "sha256=<hex>"),
        (_baton(signature="sha1=" + "0" * 40), "sha256=<hex>"),
        (_baton(signature="sha256=zz"), "does not match"),
        (_baton(signature="sha256=" + "é" * 64), "does not match"),
        (_baton(signature="sha256=" + hexmac(SECRET, BODY)), "does not match"),  # no timestamp
    ],
)
def test_baton_refusals(check: Callable[[], None], reason: str):
    refused(check, reason)


def test_baton_within_the_window_on_either_side_is_accepted():
    for now in (NOW + WINDOW, NOW - WINDOW):
        _baton(now=now)()


def test_baton_timestamp_is_signed_so_it_cannot_be_refreshed():
    """A replayer who rewrites the timestamp into the window breaks the signature."""
    old = sign_baton(BODY, SECRET, int(NOW) - 3600)
    refused(
        lambda: check_baton_hmac(
            BODY, old["X-Baton-Signature"], str(int(NOW)), SECRET, NOW, WINDOW
        ),
        "does not match",
    )


def test_baton_uppercase_hex_is_the_same_signature():
    sig = sign_baton(BODY, SECRET, int(NOW))["X-Baton-Signature"]
    check_baton_hmac(BODY, "sha256=" + sig[7:].upper(), str(int(NOW)), SECRET, NOW, WINDOW)


# --- PagerDuty ---------------------------------------------------------------------------

GOOD_PD = "v1=" + hexmac(SECRET, BODY)
OLD_PD = "v1=" + hexmac("the-previous-secret", BODY)


@pytest.mark.parametrize(
    "header",
    [
        GOOD_PD,
        f"{OLD_PD},{GOOD_PD}",  # rotation: the old secret's signature first
        f"{GOOD_PD},{OLD_PD}",
        f"{OLD_PD}, {GOOD_PD}",
        f"v2=abc,{GOOD_PD}",  # unknown versions are skipped
    ],
)
def test_pagerduty_accepts_any_matching_v1_signature(header: str):
    check_pagerduty(BODY, header, SECRET)


@pytest.mark.parametrize(
    ("body", "header", "reason"),
    [
        (BODY, None, "missing X-PagerDuty-Signature"),
        (BODY, "", "missing X-PagerDuty-Signature"),
        (BODY, OLD_PD, "does not match"),
        (BODY, f"{OLD_PD},v1=nothex", "does not match"),
        (BODY + b"\n", GOOD_PD, "does not match"),
        (BODY, "v2=" + hexmac(SECRET, BODY), "no v1 signature"),
        (BODY, hexmac(SECRET, BODY), "no v1 signature"),
        (BODY, "sha256=" + hexmac(SECRET, BODY), "no v1 signature"),
    ],
)
def test_pagerduty_refusals(body: bytes, header: str | None, reason: str):
    refused(lambda: check_pagerduty(body, header, SECRET), reason)


def test_pagerduty_signs_the_raw_utf8_bytes():
    body = '{"title":"Störung im Zahlungsverkehr"}'.encode()
    check_pagerduty(body, "v1=" + hexmac(SECRET, body), SECRET)


# --- Grafana -----------------------------------------------------------------------------

STAMP = "1718180047"
GOOD_GRAFANA = hexmac(SECRET, f"{STAMP}:".encode() + BODY)


def test_grafana_with_a_timestamp_header():
    check_grafana(BODY, GOOD_GRAFANA, STAMP, SECRET, NOW, WINDOW)
    check_grafana(BODY, GOOD_GRAFANA.upper(), STAMP, SECRET, NOW + WINDOW, WINDOW)


def test_grafana_without_a_timestamp_when_the_contact_point_has_none():
    check_grafana(BODY, hexmac(SECRET, BODY), None, SECRET, NOW, WINDOW, require_timestamp=False)


@pytest.mark.parametrize(
    ("signature", "stamp", "now", "reason"),
    [
        (None, STAMP, NOW, "missing X-Grafana-Alerting-Signature"),
        (GOOD_GRAFANA, None, NOW, "missing Grafana timestamp header"),
        (GOOD_GRAFANA, STAMP, NOW + WINDOW + 1, "outside the allowed window"),
        (GOOD_GRAFANA, "1718180048", NOW, "does not match"),
        (GOOD_GRAFANA, "soon", NOW, "not unix seconds"),
        (hexmac(SECRET, BODY), STAMP, NOW, "does not match"),  # body-only signature
        (hexmac(SECRET, f"{STAMP}.".encode() + BODY), STAMP, NOW, "does not match"),
        ("sha256=" + GOOD_GRAFANA, STAMP, NOW, "does not match"),  # Grafana sends bare hex
        (hexmac("other", f"{STAMP}:".encode() + BODY), STAMP, NOW, "does not match"),
    ],
)
def test_grafana_refusals(signature: str | None, stamp: str | None, now: float, reason: str):
    refused(lambda: check_grafana(BODY, signature, stamp, SECRET, now, WINDOW), reason)


def test_grafana_body_only_signature_is_refused_when_a_timestamp_is_expected():
    refused(
        lambda: check_grafana(BODY, hexmac(SECRET, BODY), None, SECRET, NOW, WINDOW),
        "missing Grafana timestamp header",
    )


@pytest.mark.parametrize(
    "check",
    [
        lambda: check_baton_hmac(BODY, "sha256=00", STAMP, "", NOW, WINDOW),
        lambda: check_pagerduty(BODY, "v1=" + hexmac("", BODY), ""),
        lambda: check_grafana(BODY, hexmac("", BODY), None, "", NOW, WINDOW),
    ],
    ids=["baton", "pagerduty", "grafana"],
)
def test_an_empty_secret_never_authenticates(check: Callable[[], None]):
    refused(check, "no secret is configured")


def test_signing_with_an_empty_secret_is_a_programming_error():
    with pytest.raises(ValueError, match="empty secret"):
        sign_baton(BODY, "", int(NOW))


def test_only_ascii_digits_are_unix_seconds():
    arabic = "".join(chr(0x0660 + int(d)) for d in "1718180047")
    sig = "sha256=" + hexmac(SECRET, f"{arabic}.".encode() + BODY)
    refused(lambda: check_baton_hmac(BODY, sig, arabic, SECRET, NOW, WINDOW), "not unix seconds")
