"""Simulated metric events as the raw payloads of the systems that would send them, and the
metrics-ingest source definitions that map those payloads back (docs/sources.md).

The layout of the feeds (which metric comes from which system):
- HubSpot webhooks (`hubspot_v3`): deals won (`crm.deal.won`) and leads qualified
  (`crm.lead.qualified`);
- Stripe-style billing webhooks (`stripe_v1`): invoices (`erp.invoice.posted`) and cancelled
  subscriptions (`crm.customer.churned`);
- Debezium CDC rows of the ERP: payments (`erp.invoice.paid`) and ledger entries
  (`finance.cash.operating`, `erp.expense.posted`);
- everything else (surveys, web sessions, HR, CRM snapshots, any other strategy's metrics):
  structured CloudEvents for `POST /v1/events`.

`render(event)` gives the raw item and `expected(event)` the metric event that the source's
mapping makes of it; the unit and integration tests hold the two together.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Event = dict[str, Any]
Transport = Literal["hubspot", "billing", "payments", "ledger", "cloudevents"]

HUBSPOT_METRICS = {
    "crm.deal.won": ("deal", "dealstage"),
    "crm.lead.qualified": ("contact", "lifecyclestage"),
}
BILLING_METRICS = {
    "erp.invoice.posted": "invoice.finalized",
    "crm.customer.churned": "customer.subscription.deleted",
}
LEDGER_METRICS = {"finance.cash.operating": "operating_cash", "erp.expense.posted": "opex"}
PAYMENTS_TABLE = "erp.public.payments"
LEDGER_TABLE = "erp.public.ledger_entries"


@dataclass(frozen=True)
class Raw:
    """One raw item: a HubSpot event (sent in arrays), a billing event (one per delivery), a
    Debezium change event (a Kafka record value) or a structured CloudEvent."""

    transport: Transport
    payload: dict[str, Any]


def transport_of(metric: str) -> Transport:
    if metric in HUBSPOT_METRICS:
        return "hubspot"
    if metric in BILLING_METRICS:
        return "billing"
    if metric == "erp.invoice.paid":
        return "payments"
    if metric in LEDGER_METRICS:
        return "ledger"
    return "cloudevents"


def number(text: str) -> int:
    """A stable positive integer for an id (HubSpot event and object ids are numbers)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def _ms(time: str) -> int:
    return int(datetime.fromisoformat(time.replace("Z", "+00:00")).timestamp() * 1000)


def render(event: Event) -> Raw:
    kind = transport_of(event["metric"])
    return Raw(kind, _RENDER[kind](event))


def _hubspot(e: Event) -> dict[str, Any]:
    obj, prop = HUBSPOT_METRICS[e["metric"]]
    if e["metric"] == "crm.deal.won":
        stage = "closedwon" if e["dimensions"].get("new_customer", True) else "renewalwon"
    else:
        stage = "salesqualifiedlead"
    return {
        "eventId": number(e["id"]),
        "subscriptionId": 2_100_001 if obj == "deal" else 2_100_002,
        "portalId": 4_711_000,
        "appId": 9_001,
        "occurredAt": _ms(e["time"]),
        "subscriptionType": f"{obj}.propertyChange",
        "attemptNumber": 0,
        "objectId": number(f"{obj}:{e['id']}") % 10**10,
        "changeSource": "CRM_UI",
        "propertyName": prop,
        "propertyValue": stage,
    }


def _billing(e: Event) -> dict[str, Any]:
    ref = hashlib.sha256(e["id"].encode()).hexdigest()[:24]
    churned = e["metric"] == "crm.customer.churned"
    obj = _subscription(ref) if churned else _invoice(ref, e)
    obj["customer"] = f"cus_{number('customer:' + e['id']) % 400:04d}"
    return {
        "id": f"evt_{ref}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": _ms(e["time"]) // 1000,
        "livemode": False,
        "type": BILLING_METRICS[e["metric"]],
        "data": {"object": obj},
    }


def _subscription(ref: str) -> dict[str, Any]:
    return {"id": f"sub_{ref}", "object": "subscription", "status": "canceled"}


def _invoice(ref: str, e: Event) -> dict[str, Any]:
    cents = round(e["value"] * 100)
    return {
        "id": f"in_{ref}",
        "object": "invoice",
        "currency": "usd",
        "total": cents,
        "amount_due": cents,
        "status": "open",
        # the ERP that raises invoices in billing tags them with region and USD amount
        "metadata": {"region": e["dimensions"].get("region", ""), "amount_usd": _usd(e)},
    }


def _usd(e: Event) -> str:
    return f"{e['value']:.2f}"


def _debezium(table: str, row: dict[str, Any], ms: int) -> dict[str, Any]:
    db, schema, name = table.split(".")
    return {
        "schema": {"type": "struct", "name": f"{table}.Envelope", "optional": False},
        "payload": {
            "before": None,
            "after": row,
            "source": {
                "version": "2.7.0.Final",
                "connector": "postgresql",
                "name": db,
                "ts_ms": ms,
                "db": db,
                "schema": schema,
                "table": name,
            },
            "op": "c",
            "ts_ms": ms,
        },
    }


def _payments(e: Event) -> dict[str, Any]:
    ms = _ms(e["time"])
    row = {
        "id": number(e["id"]) % 10**9,
        "invoice_id": number("invoice:" + e["id"]) % 10**9,
        "amount": _usd(e),  # decimal.handling.mode=string
        "days_to_pay": e["dimensions"].get("days_to_pay"),
        "paid_at": ms,
    }
    return _debezium(PAYMENTS_TABLE, row, ms)


def _ledger(e: Event) -> dict[str, Any]:
    ms = _ms(e["time"])
    row = {
        "id": number(e["id"]) % 10**9,
        "account": LEDGER_METRICS[e["metric"]],
        "amount": _usd(e),
        "booked_at": ms,
    }
    return _debezium(LEDGER_TABLE, row, ms)


def _cloudevent(e: Event) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": e["id"],
        "source": f"/acme/{e['metric'].split('.')[0]}",
        "type": e["metric"],
        "time": e["time"],
        "datacontenttype": "application/json",
        "data": {"value": e["value"], "dimensions": e["dimensions"]},
    }


_RENDER = {
    "hubspot": _hubspot,
    "billing": _billing,
    "payments": _payments,
    "ledger": _ledger,
    "cloudevents": _cloudevent,
}
