import pytest
from kpi_notifier.channels import DeliveryError, Destination
from kpi_notifier.destinations import destination, message_context

from tests.unit.kpi_notifier.acme import acme

ENV = {"ACME_SALES_SLACK_WEBHOOK": "http://slack.test/sales"}


def test_a_person_is_reached_by_email_and_a_channel_by_its_resolved_webhook() -> None:
    d = acme()
    assert destination(d, "email", "dana", ENV) == Destination("email", ("dana@acme.example",))
    assert destination(d, "sales-slack", "sales-slack", ENV) == Destination(
        "slack", ("http://slack.test/sales",)
    )


@pytest.mark.parametrize(
    ("channel", "recipient", "error"),
    [
        ("email", "ghost", "no person or channel named 'ghost'"),
        ("nope", "nope", "alert channel 'nope' is not defined"),
        ("finance-slack", "finance-slack", "ACME_FINANCE_SLACK_WEBHOOK is not set"),
    ],
)
def test_what_cannot_be_reached_is_a_clear_error(channel: str, recipient: str, error: str) -> None:
    with pytest.raises(DeliveryError, match=error):
        destination(acme(), channel, recipient, ENV)


def test_messages_name_the_recipient_and_the_owner() -> None:
    ctx = message_context(
        acme(), {"kind": "breach", "breach": {"owner": "dana"}}, "email", "morgan"
    )
    assert (ctx["recipient_name"], ctx["owner_name"]) == ("Morgan Lee", "Dana Ortiz")
