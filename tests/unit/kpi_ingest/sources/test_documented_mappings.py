"""Every mapping shown in docs/sources.md compiles and maps a sample payload of its vendor,
so the documentation cannot drift from what the service accepts."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from kpi_ingest.sources.mapping import Rule, apply
from kpi_ingest.sources.model import SourceDefinition

DOC = Path(__file__).parents[4] / "docs" / "sources.md"

HUBSPOT = [
    {
        "eventId": 11,
        "subscriptionType": "deal.propertyChange",
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
        "objectId": 5,
        "occurredAt": 1770112800000,
    },
]
STRIPE = {
    "id": "evt_9",
    "type": "invoice.paid",
    "created": 1770112800,
    "data": {"object": {"amount_paid": 4200, "currency": "eur", "customer": "cus_1"}},
}
SALESFORCE = {
    "event": {"replayId": 77},
    "payload": {
        "StageName": "Closed Won",
        "Amount": "1000.5",
        "CreatedDate": "2026-02-03T10:00:00Z",
        "Region__c": "emea",
    },
}
DYNAMICS = {
    "CorrelationId": "c-1",
    "OperationCreatedOn": "2026-02-03T10:00:00Z",
    "InputParameters": [
        {
            "key": "Target",
            "value": {
                "Attributes": [
                    {"key": "name", "value": "Big deal"},
                    {"key": "estimatedvalue", "value": {"Value": 900.0}},
                ]
            },
        }
    ],
}
SAP = {
    "specversion": "1.0",
    "id": "sap-1",
    "time": "2026-02-03T10:00:00Z",
    "type": "sap.s4.beh.billingdocument.v1.BillingDocument.Created.v1",
    "data": {"TotalNetAmount": "250.00", "CompanyCode": "1010"},
}
DEBEZIUM = {"op": "c", "after": {"id": 4, "amount": 12.5, "region": "amer"}, "ts_ms": 1770112800000}

EXPECTED: list[tuple[Any, str, str, float]] = [
    (HUBSPOT, "hubspot:11", "crm.deal.won", 1),
    (STRIPE, "evt_9", "billing.invoice.paid", 4200),
    (SALESFORCE, "77", "crm.deal.won", 1000.5),
    (DYNAMICS, "c-1", "crm.opportunity.won", 900.0),
    (SAP, "sap-1", "erp.invoice.posted", 250.0),
    (DEBEZIUM, "invoice:4", "erp.invoice.posted", 12.5),
]


def _documented_rules() -> list[list[Rule]]:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(), re.S)
    out: list[list[Rule]] = []
    for block in blocks:
        text = block.split("\n", 1)[1] if block.startswith("PUT ") else block
        doc = json.loads(text)
        if "kind" in doc:
            out.append(SourceDefinition.model_validate(doc).mapping)
        else:
            out.append([Rule.model_validate(doc)])
    return out


def test_the_document_shows_one_mapping_per_vendor() -> None:
    assert len(_documented_rules()) == len(EXPECTED)


@pytest.mark.parametrize(("n", "case"), list(enumerate(EXPECTED)))
def test_each_documented_mapping_maps_its_vendor_payload(
    n: int, case: tuple[Any, str, str, float]
) -> None:
    payload, event_id, metric, value = case
    [event] = apply(_documented_rules()[n], payload)
    assert (event["id"], event["metric"], event["value"]) == (event_id, metric, value)
    assert event.get("time", "").startswith("2026-02-03T10:00:00")
