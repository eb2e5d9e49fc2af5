"""Webhook signature schemes, as each vendor documents them (pure; the caller passes `now`).

- HubSpot v3: base64(HMAC-SHA256(secret, method + uri + body + timestamp)), headers
  `X-HubSpot-Signature-v3` and `X-HubSpot-Request-Timestamp` (epoch ms), refused when the
  timestamp is more than 5 minutes old.
- Stripe style: header `t=<epoch s>,v1=<hex>`; v1 = hex(HMAC-SHA256(secret, f"{t}.{body}")),
  refused outside the tolerance (300 s by default).
- Static header: the header carries the shared secret itself (Dynamics 365 "HttpHeader"
  authentication, SAP and relays that send an API key).

Each `verify_*` returns the signature string, which the caller records to refuse replays."""

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import unquote

HUBSPOT_SIGNATURE = "x-hubspot-signature-v3"
HUBSPOT_TIMESTAMP = "x-hubspot-request-timestamp"
HUBSPOT_TOLERANCE_MS = 300_000


class SignatureError(ValueError):
    """The request is not signed by the source's secret (never includes the secret)."""


def hubspot_v3_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + unquote(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_hubspot_v3(
    secret: str, method: str, uri: str, body: bytes, headers: Mapping[str, str], now_ms: int
) -> str:
    signature = headers.get(HUBSPOT_SIGNATURE)
    timestamp = headers.get(HUBSPOT_TIMESTAMP)
    if not signature or not timestamp or not timestamp.isdigit():
        raise SignatureError("missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp")
    if abs(now_ms - int(timestamp)) > HUBSPOT_TOLERANCE_MS:
        raise SignatureError("X-HubSpot-Request-Timestamp is outside the 5 minute tolerance")
    expected = hubspot_v3_signature(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("X-HubSpot-Signature-v3 does not match")
    return signature


def stripe_v1_signature(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_stripe_v1(
    secret: str, header: str | None, body: bytes, now_s: int, tolerance_s: int
) -> str:
    if not header:
        raise SignatureError("missing signature header (t=...,v1=...)")
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    timestamp = next((v for k, v in parts if k.strip() == "t"), "")
    candidates = [v.strip() for k, v in parts if k.strip() == "v1"]
    if not timestamp.isdigit() or not candidates:
        raise SignatureError("signature header lacks t= or v1=")
    if abs(now_s - int(timestamp)) > tolerance_s:
        raise SignatureError(f"signature timestamp is outside the {tolerance_s} s tolerance")
    expected = stripe_v1_signature(secret, timestamp, body)
    for candidate in candidates:
        if hmac.compare_digest(expected, candidate):
            return candidate
    raise SignatureError("no v1 signature matches")


def verify_static(secret: str, header_value: str | None, header_name: str) -> None:
    if not header_value or not hmac.compare_digest(header_value.encode(), secret.encode()):
        raise SignatureError(f"header {header_name} does not carry the source's key")
