"""Signature checks against vectors computed with each vendor's documented algorithm.

The expected digests were computed independently with OpenSSL:
  printf '%s' 'POSThttps://example.com/webhook?a=1{"x":1}1700000000000' \\
    | openssl dgst -sha256 -hmac hs-secret -binary | base64
  printf '%s' '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test
"""

import pytest
from kpi_ingest.sources.signatures import (
    SignatureError,
    hubspot_v3_signature,
    stripe_v1_signature,
    verify_hubspot_v3,
    verify_static,
    verify_stripe_v1,
)

HUBSPOT_VECTOR = "r97i0rgd+snNvvb1dmV7+sI6enXg5K++l+ffellA6W8="
STRIPE_VECTOR = "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
HS_URI = "https://example.com/webhook?a=1"
HS_BODY = b'{"x":1}'
HS_TS = "1700000000000"


def _hs_headers(signature: str = HUBSPOT_VECTOR, ts: str = HS_TS) -> dict[str, str]:
    return {"x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": ts}


def test_hubspot_v3_matches_the_documented_algorithm() -> None:
    assert hubspot_v3_signature("hs-secret", "POST", HS_URI, HS_BODY, HS_TS) == HUBSPOT_VECTOR
    now = int(HS_TS) + 299_000
    assert verify_hubspot_v3("hs-secret", "POST", HS_URI, HS_BODY, _hs_headers(), now)


@pytest.mark.parametrize(
    ("secret", "headers", "now_ms", "reason"),
    [
        ("other-secret", _hs_headers(), int(HS_TS), "does not match"),
        ("hs-secret", _hs_headers(), int(HS_TS) + 300_001, "outside the 5 minute"),
        ("hs-secret", {}, int(HS_TS), "missing"),
    ],
)
def test_hubspot_v3_refusals(
    secret: str, headers: dict[str, str], now_ms: int, reason: str
) -> None:
    with pytest.raises(SignatureError, match=reason) as exc:
        verify_hubspot_v3(secret, "POST", HS_URI, HS_BODY, headers, now_ms)
    assert secret not in str(exc.value)


def test_hubspot_v3_body_tampering_is_refused() -> None:
    with pytest.raises(SignatureError):
        verify_hubspot_v3("hs-secret", "POST", HS_URI, b'{"x":2}', _hs_headers(), int(HS_TS))


def test_stripe_v1_matches_the_documented_algorithm() -> None:
    body = b'{"id":"evt_1"}'
    assert stripe_v1_signature("whsec_test", "1700000000", body) == STRIPE_VECTOR
    header = f"t=1700000000,v0=ignored,v1=deadbeef,v1={STRIPE_VECTOR}"
    assert verify_stripe_v1("whsec_test", header, body, 1700000300, 300) == STRIPE_VECTOR


@pytest.mark.parametrize(
    ("header", "now_s", "reason"),
    [
        (f"t=1700000000,v1={STRIPE_VECTOR}", 1700000301, "outside the 300 s tolerance"),
        ("t=1700000000,v1=00", 1700000000, "no v1 signature matches"),
        (f"v1={STRIPE_VECTOR}", 1700000000, "lacks t="),
        (None, 1700000000, "missing"),
    ],
)
def test_stripe_v1_refusals(header: str | None, now_s: int, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify_stripe_v1("whsec_test", header, b'{"id":"evt_1"}', now_s, 300)


def test_static_header_key() -> None:
    verify_static("s3cret-key", "s3cret-key", "x-api-key")
    with pytest.raises(SignatureError, match="x-api-key"):
        verify_static("s3cret-key", "wrong", "x-api-key")
    with pytest.raises(SignatureError):
        verify_static("s3cret-key", None, "x-api-key")
