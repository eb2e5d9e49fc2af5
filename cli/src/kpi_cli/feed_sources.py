"""The metrics-ingest source definitions for the feeds of `kpi_cli.feeds`, and the metric
event each source's mapping makes of a rendered raw item (what the tests compare)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kpi_cli.feeds import (
    LEDGER_METRICS,
    LEDGER_TABLE,
    PAYMENTS_TABLE,
    Event,
    Raw,
    Transport,
)

_DEAL_WON = (
    "subscriptionType == 'deal.propertyChange' && propertyName == 'dealstage' && "
    "(propertyValue == 'closedwon' || propertyValue == 'renewalwon')"
)
_LEAD_QUALIFIED = (
    "subscriptionType == 'contact.propertyChange' && propertyName == 'lifecyclestage' && "
    "propertyValue == 'salesqualifiedlead'"
)
_CREATED = "op == 'c' || op == 'r'"


@dataclass(frozen=True)
class FeedSources:
    """Source ids (globally unique, so prefixed by the tenant's slug), secrets and the raw
    Kafka topic prefix of the Debezium connector."""

    prefix: str
    hubspot_secret: str
    billing_secret: str
    topic_prefix: str = ""

    def source_id(self, transport: Transport) -> str:
        names = {"hubspot": "hubspot", "billing": "billing"}
        names |= {"payments": "erp-payments", "ledger": "erp-ledger"}
        return f"{self.prefix}-{names[transport]}"

    def topic(self, transport: Transport) -> str:
        table = PAYMENTS_TABLE if transport == "payments" else LEDGER_TABLE
        return f"{self.topic_prefix}{table}"

    def definitions(self) -> dict[str, dict[str, Any]]:
        """`PUT /v1/sources/{id}` bodies, by source id."""
        return {
            self.source_id("hubspot"): _hubspot(self.hubspot_secret),
            self.source_id("billing"): _billing(self.billing_secret),
            self.source_id("payments"): _payments(self.topic("payments")),
            self.source_id("ledger"): _ledger(self.topic("ledger")),
        }


def _rule(when: str, id_: str, metric: str, value: str, time: str, **dims: str) -> dict[str, Any]:
    rule = {"when": when, "id": id_, "metric": f"'{metric}'", "value": value, "time": time}
    return rule | {"dimensions": dims}


def _hubspot(secret: str) -> dict[str, Any]:
    hub_id = "join(':', ['hubspot', to_string(eventId)])"
    deals = _rule(
        _DEAL_WON,
        hub_id,
        "crm.deal.won",
        "`1`",
        "occurredAt",
        new_customer="propertyValue == 'closedwon'",
        deal_id="to_string(objectId)",
    )
    leads = _rule(
        _LEAD_QUALIFIED,
        hub_id,
        "crm.lead.qualified",
        "`1`",
        "occurredAt",
        contact_id="to_string(objectId)",
    )
    rules = [r | {"for_each": "[*]"} for r in (deals, leads)]
    signature = {"scheme": "hubspot_v3", "secret": secret}
    return {"kind": "hubspot", "signature": signature, "mapping": rules}


def _billing(secret: str) -> dict[str, Any]:
    invoice = _rule(
        "type == 'invoice.finalized'",
        "id",
        "erp.invoice.posted",
        "data.object.metadata.amount_usd",
        "created",
        region="data.object.metadata.region",
        customer="data.object.customer",
    )
    churn = _rule(
        "type == 'customer.subscription.deleted'",
        "id",
        "crm.customer.churned",
        "`1`",
        "created",
        customer="data.object.customer",
    )
    signature = {"scheme": "stripe_v1", "secret": secret}
    return {"kind": "stripe", "signature": signature, "mapping": [invoice, churn]}


def _payments(topic: str) -> dict[str, Any]:
    rule = _rule(
        _CREATED,
        "join(':', ['payment', to_string(after.id)])",
        "erp.invoice.paid",
        "after.amount",
        "after.paid_at",
        days_to_pay="after.days_to_pay",
    )
    return {"kind": "debezium", "topic": topic, "mapping": [rule]}


def _ledger(topic: str) -> dict[str, Any]:
    rules = [
        _rule(
            f"({_CREATED}) && after.account == '{account}'",
            "join(':', ['ledger', to_string(after.id)])",
            metric,
            "after.amount",
            "after.booked_at",
        )
        for metric, account in LEDGER_METRICS.items()
    ]
    return {"kind": "debezium", "topic": topic, "mapping": rules}


def expected(raw: Raw, event: Event) -> Event:
    """The metric event the source's mapping makes of `raw` (rendered from `event`)."""
    p = raw.payload
    if raw.transport == "hubspot":
        return _hubspot_expected(p, event)
    if raw.transport == "billing":
        obj = p["data"]["object"]
        dims = {"customer": obj["customer"]}
        if event["metric"] != "crm.customer.churned":
            dims["region"] = obj["metadata"]["region"]
        value = 1 if event["metric"] == "crm.customer.churned" else event["value"]
        return _event(p["id"], event, value, _iso(p["created"]), dims)
    if raw.transport in ("payments", "ledger"):
        row = p["payload"]["after"]
        name = "payment" if raw.transport == "payments" else "ledger"
        ms = row.get("paid_at", row.get("booked_at"))
        dims = {"days_to_pay": row["days_to_pay"]} if raw.transport == "payments" else {}
        return _event(f"{name}:{row['id']}", event, float(row["amount"]), _iso(ms / 1000), dims)
    return event


def _hubspot_expected(p: dict[str, Any], event: Event) -> Event:
    if event["metric"] == "crm.deal.won":
        dims = {"new_customer": p["propertyValue"] == "closedwon", "deal_id": str(p["objectId"])}
    else:
        dims = {"contact_id": str(p["objectId"])}
    return _event(f"hubspot:{p['eventId']}", event, 1, _iso(p["occurredAt"] / 1000), dims)


def _event(id_: str, event: Event, value: float, time: str, dims: dict[str, Any]) -> Event:
    return {"id": id_, "metric": event["metric"], "value": value, "time": time, "dimensions": dims}


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
