"""The demo's feeds: every simulated event rendered as its system's raw payload, mapped back
by the real mapping code of metrics-ingest into the metric event expected."""

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from kpi_cli.feed_delivery import hubspot_headers, stripe_headers
from kpi_cli.feed_sources import FeedSources, expected
from kpi_cli.feeds import render
from kpi_cli.simulation import Simulation
from kpi_ingest.sources import signatures
from kpi_ingest.sources.mapping import Rule, apply

from tests.support.goals_targets import contract_targets
from tests.support.strategy_events import load

NOW = datetime(2026, 3, 27, 12, tzinfo=UTC)
FEEDS = FeedSources("acme", "hub-secret", "bill-secret", "p.")
TRANSPORT_SOURCE = {
    "hubspot": FEEDS.source_id("hubspot"),
    "billing": FEEDS.source_id("billing"),
    "payments": FEEDS.source_id("payments"),
    "ledger": FEEDS.source_id("ledger"),
}


def _rules(source_id: str) -> list[Rule]:
    return [Rule(**r) for r in FEEDS.definitions()[source_id]["mapping"]]


def _unwrap(payload: dict[str, Any]) -> Any:
    return payload["payload"] if "schema" in payload else payload


def _same_time(a: str, b: str) -> bool:
    return datetime.fromisoformat(a.replace("Z", "+00:00")) == datetime.fromisoformat(
        b.replace("Z", "+00:00")
    )


def test_every_feed_maps_back_to_the_expected_metric_event() -> None:
    doc = load()
    events = Simulation(doc, NOW, contract_targets(doc), seed=5).events()
    seen = set()
    for event in events:
        raw = render(event)
        seen.add(raw.transport)
        if raw.transport == "cloudevents":
            assert raw.payload["type"] == event["metric"]
            continue
        body: Any = _unwrap(raw.payload)
        payload = [body] if raw.transport == "hubspot" else body
        [got] = apply(_rules(TRANSPORT_SOURCE[raw.transport]), payload)
        want = expected(raw, event)
        assert _same_time(got.pop("time"), want.pop("time"))
        assert got == want
        assert event["dimensions"].items() <= want["dimensions"].items()
        assert want["value"] == pytest.approx(event["value"])
    assert seen == {"hubspot", "billing", "payments", "ledger", "cloudevents"}


def test_signatures_pass_the_services_checks() -> None:
    body = orjson.dumps([{"eventId": 1}])
    url = "http://127.0.0.1:8002/v1/sources/acme-hubspot/webhook"
    headers = {k.lower(): v for k, v in hubspot_headers("s3cret", url, body, NOW).items()}
    now_ms = int(NOW.timestamp() * 1000)
    signatures.verify_hubspot_v3("s3cret", "POST", url, body, headers, now_ms)
    header = stripe_headers("s3cret", body, NOW)["Stripe-Signature"]
    signatures.verify_stripe_v1("s3cret", header, body, int(NOW.timestamp()), 300)
    with pytest.raises(signatures.SignatureError):
        signatures.verify_stripe_v1("other", header, body, int(NOW.timestamp()), 300)
