from types import SimpleNamespace
from typing import Any

from kpi_notifier.deliveries import Claimed, digest_groups


def claimed(id: int, recipient: str, kind: str = "breach", channel: str = "email") -> Claimed:
    row: Any = SimpleNamespace(
        id=id, tenant_id="t", recipient=recipient, kind=kind, channel=channel
    )
    return Claimed(row, 1, False)


def test_one_persons_breach_emails_form_one_digest_and_the_rest_go_alone() -> None:
    items = [
        claimed(1, "dana"),
        claimed(2, "sales-slack", channel="sales-slack"),
        claimed(3, "priya"),
        claimed(4, "dana"),
        claimed(5, "dana", kind="reminder"),
    ]
    groups = [[c.row.id for c in g] for g in digest_groups(items, digests=True)]
    assert groups == [[1, 4], [2], [3], [5]]


def test_with_digests_off_every_row_goes_alone() -> None:
    items = [claimed(1, "dana"), claimed(2, "dana"), claimed(3, "priya")]
    groups = [[c.row.id for c in g] for g in digest_groups(items, digests=False)]
    assert groups == [[1], [2], [3]]
