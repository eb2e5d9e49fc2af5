"""JMESPath mappings from vendor payloads to metric events."""

import pytest
from kpi_ingest.sources.mapping import MappingError, Rule, apply
from pydantic import ValidationError

HUBSPOT_BATCH = [
    {
        "eventId": 101,
        "subscriptionType": "deal.propertyChange",
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
        "objectId": 7,
        "occurredAt": 1770112800000,
    },
    {"eventId": 102, "subscriptionType": "contact.creation", "objectId": 8, "occurredAt": 1},
]


def test_hubspot_deal_won_maps_only_matching_items() -> None:
    rule = Rule(
        for_each="[*]",
        when="subscriptionType == 'deal.propertyChange' && propertyValue == 'closedwon'",
        id="join(':', ['hubspot', to_string(eventId)])",
        metric="'crm.deal.won'",
        value="`1`",
        time="occurredAt",
        dimensions={"deal": "to_string(objectId)"},
    )
    assert apply([rule], HUBSPOT_BATCH) == [
        {
            "id": "hubspot:101",
            "metric": "crm.deal.won",
            "value": 1,
            "time": "2026-02-03T10:00:00+00:00",
            "dimensions": {"deal": "7"},
        }
    ]


def test_stripe_invoice_paid_amount_and_numeric_strings() -> None:
    payload = {
        "id": "evt_1",
        "type": "invoice.paid",
        "created": 1770112800,
        "data": {"object": {"amount_paid": "1250.50", "currency": "eur"}},
    }
    rule = Rule(
        id="id",
        metric="'billing.invoice.paid'",
        value="data.object.amount_paid",
        time="created",
        dimensions={"currency": "data.object.currency", "missing": "data.nope"},
    )
    [event] = apply([rule], payload)
    assert event["value"] == 1250.5
    assert event["time"] == "2026-02-03T10:00:00+00:00"
    assert event["dimensions"] == {"currency": "eur"}


def test_a_missing_required_value_names_the_rule_and_field() -> None:
    rule = Rule(id="id", metric="'a.b'", value="amount")
    with pytest.raises(MappingError, match=r"rules\[0\]\.value: 'amount' gave no value"):
        apply([rule], {"id": "x"})


def test_no_matching_item_is_a_mapping_error() -> None:
    rule = Rule(for_each="[*]", when="`false`", id="id", metric="'a.b'", value="`1`")
    with pytest.raises(MappingError, match="no events"):
        apply([rule], [{"id": 1}])


def test_an_invalid_expression_is_refused_when_configured() -> None:
    with pytest.raises(ValidationError, match="not a JMESPath expression"):
        Rule(id="id[", metric="'a.b'", value="`1`")
