"""Deliver rendered raw items the way each system does: HubSpot posts signed arrays of up to
100 events, billing posts one signed event per request, Debezium writes change events to
its Kafka topic, CloudEvents go in batches to `POST /v1/events`.

Signatures follow the vendors' documented formulas (docs/sources.md), computed here
independently of the service's checker."""

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from kpi_cli.feed_sources import FeedSources
from kpi_cli.feeds import Raw, Transport

HUBSPOT_BATCH = 100
CLOUDEVENTS_BATCH = 500


@dataclass
class Tally:
    accepted: int = 0
    duplicates: int = 0
    replayed: int = 0  # refused as a replayed signature: delivered by an earlier run
    rejected: list[str] = field(default_factory=list)
    produced: int = 0  # Debezium rows written to the raw topics

    def add(self, response: httpx.Response) -> None:
        if response.status_code == 401 and "replayed" in response.text:
            self.replayed += 1
            return
        response.raise_for_status()
        body = response.json()
        self.accepted += body["accepted"]
        self.duplicates += body["duplicates"]
        self.rejected += [r["reason"] for r in body.get("rejected", [])]


def hubspot_headers(secret: str, url: str, body: bytes, now: datetime) -> dict[str, str]:
    ts = str(int(now.timestamp() * 1000))
    message = b"POST" + url.encode() + body + ts.encode()
    digest = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": digest.decode(),
        "X-HubSpot-Request-Timestamp": ts,
    }


def stripe_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    t = str(int(now.timestamp()))
    v1 = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={v1}"}


def chunks(raws: list[Raw], transport: Transport, size: int) -> Iterator[list[Raw]]:
    mine = [r for r in raws if r.transport == transport]
    for i in range(0, len(mine), size):
        yield mine[i : i + size]


@dataclass
class Sender:
    """Sends one group of raw items (say, one replayed day) through every transport."""

    http: httpx.AsyncClient
    producer: AIOKafkaProducer
    feeds: FeedSources
    ingest_key: str
    clock: Callable[[], datetime]
    tally: Tally = field(default_factory=Tally)

    def webhook_url(self, transport: Transport) -> str:
        base = str(self.http.base_url).rstrip("/")
        return f"{base}/v1/sources/{self.feeds.source_id(transport)}/webhook"

    async def send(self, raws: list[Raw]) -> None:
        await self._hubspot(raws)
        await self._billing(raws)
        await self._debezium(raws)
        await self._cloudevents(raws)

    async def _hubspot(self, raws: list[Raw]) -> None:
        url = self.webhook_url("hubspot")
        for batch in chunks(raws, "hubspot", HUBSPOT_BATCH):
            body = orjson.dumps([r.payload for r in batch])
            headers = hubspot_headers(self.feeds.hubspot_secret, url, body, self.clock())
            self.tally.add(await self.http.post(url, content=body, headers=headers))

    async def _billing(self, raws: list[Raw]) -> None:
        url = self.webhook_url("billing")
        for [raw] in chunks(raws, "billing", 1):
            body = orjson.dumps(raw.payload)
            headers = stripe_headers(self.feeds.billing_secret, body, self.clock())
            self.tally.add(await self.http.post(url, content=body, headers=headers))

    async def _debezium(self, raws: list[Raw]) -> None:
        sent = []
        for raw in raws:
            if raw.transport in ("payments", "ledger"):
                key = orjson.dumps({"id": raw.payload["payload"]["after"]["id"]})
                topic = self.feeds.topic(raw.transport)
                sent.append(await self.producer.send(topic, orjson.dumps(raw.payload), key=key))
        for future in sent:
            await future
        self.tally.produced += len(sent)

    async def _cloudevents(self, raws: list[Raw]) -> None:
        headers = {
            "Authorization": f"Bearer {self.ingest_key}",
            "Content-Type": "application/cloudevents-batch+json",
        }
        for batch in chunks(raws, "cloudevents", CLOUDEVENTS_BATCH):
            body = orjson.dumps([r.payload for r in batch])
            self.tally.add(await self.http.post("/v1/events", content=body, headers=headers))
