"""Slack incoming webhooks with Block Kit, about one message per second per webhook, and
a 429's `Retry-After` honoured (the delivery is rescheduled, not failed)."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from kpi_notifier.channels import DeliveryError, Destination, Message, RateLimited


def blocks(message: Message) -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": message.slack[:3000]}},
    ]


def retry_after(response: httpx.Response, default_s: float = 1.0) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default_s)))
    except ValueError:
        return default_s


class SlackSender:
    def __init__(
        self,
        http: httpx.AsyncClient,
        min_interval_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._min_interval_s = min_interval_s
        self._monotonic = monotonic
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def send(self, destination: Destination, message: Message) -> None:
        url = destination.addresses[0]
        async with self._locks.setdefault(url, asyncio.Lock()):
            await self._pace(url)
            try:
                body = {"text": message.subject, "blocks": blocks(message)}
                response = await self._http.post(url, json=body)
            except httpx.HTTPError as exc:
                raise DeliveryError(f"Slack webhook unreachable: {exc!r}") from exc
            finally:
                self._last[url] = self._monotonic()
        if response.status_code == 429:
            wait = retry_after(response)
            raise RateLimited(f"Slack rate limit, retry after {wait:g}s", wait)
        if not response.is_success:
            raise DeliveryError(f"Slack answered {response.status_code}: {response.text[:200]}")

    async def _pace(self, url: str) -> None:
        last = self._last.get(url)
        if last is not None:
            wait = self._min_interval_s - (self._monotonic() - last)
            if wait > 0:
                await self._sleep(wait)
