"""Which request of a settled group owns an id (kpi_ingest.ingest.owners)."""

from datetime import UTC, datetime

from kpi_ingest.events import Event
from kpi_ingest.ingest import Claim, owners

T = datetime(2026, 2, 3, tzinfo=UTC)


def _claim(tenant: str, *ids: str) -> Claim:
    return Claim(tenant, "api", [Event(i, "a.b", 1.0, T, {}) for i in ids])


def test_the_first_request_of_a_group_owns_a_shared_id_per_tenant() -> None:
    group = [_claim("t1", "a", "b"), _claim("t1", "b", "c"), _claim("t2", "a")]
    assert owners(group) == {("t1", "a"): 0, ("t1", "b"): 0, ("t1", "c"): 1, ("t2", "a"): 2}
