"""Generic webhooks: the message's JSON payload, signed like Stripe's webhooks.

Header `X-KPI-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
channel's secret; receivers recompute it and reject old timestamps.
"""

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

import httpx
import orjson

from kpi_notifier.channels import DeliveryError, Destination, Message

SIGNATURE_HEADER = "X-KPI-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookSender:
    def __init__(self, http: httpx.AsyncClient, clock: Callable[[], datetime]) -> None:
        self._http = http
        self._clock = clock

    async def send(self, destination: Destination, message: Message) -> None:
        body = orjson.dumps(message.payload)
        headers = {"Content-Type": "application/json"}
        if destination.secret:
            headers[SIGNATURE_HEADER] = sign(
                destination.secret, body, int(self._clock().timestamp())
            )
        try:
            response = await self._http.post(
                destination.addresses[0], content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {exc!r}") from exc
        if not response.is_success:
            raise DeliveryError(f"webhook answered {response.status_code}: {response.text[:200]}")
