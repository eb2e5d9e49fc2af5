"""The intake renders its answers itself (the lean path never reaches FastAPI), so what it
sends is checked here against the models its OpenAPI document shows."""

import pytest
from kpi_ingest.events import Rejection
from kpi_ingest.ingest import Outcome
from kpi_ingest.responses import EventsAccepted, SourceAnswer
from kpi_ingest.sources.model import SourceDefinition
from pydantic import ValidationError


def test_the_events_answer_is_the_documented_one() -> None:
    outcome = Outcome(3, 1, [Rejection(4, "value: not a number"), Rejection(None, "empty")])
    body = outcome.body()
    assert EventsAccepted.model_validate(body).model_dump() == body


@pytest.mark.parametrize(
    "definition",
    [
        {
            "kind": "stripe",
            "signature": {"scheme": "stripe_v1", "secret": "whsec_12345678"},
            "mapping": [{"id": "id", "metric": "'billing.paid'", "value": "amount", "when": "a"}],
        },
        {
            "kind": "debezium",
            "topic": "erp.orders",
            "mapping": [{"id": "a", "metric": "b", "value": "c"}],
        },
    ],
)
def test_a_source_as_shown_back_is_the_documented_one(definition: dict[str, object]) -> None:
    body = {
        "id": "s1",
        **SourceDefinition.model_validate(definition).public(),
        "webhook_url": "/v1/sources/s1/webhook",
    }
    shown = SourceAnswer.model_validate(body)
    assert shown.model_dump(exclude_unset=True) == body
    assert shown.signature is None or shown.signature.secret == "***"


def test_a_key_the_model_does_not_name_is_refused() -> None:
    with pytest.raises(ValidationError):
        EventsAccepted.model_validate({"accepted": 1, "duplicates": 0, "rejected": [], "x": 1})
