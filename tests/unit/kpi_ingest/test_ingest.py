"""Which request of a settled group owns an id (kpi_ingest.ingest.owners), and what a claim
answers while the database is unusable."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import pytest
from kpi_common.errors import Unavailable
from kpi_common.runtime import ProducerHandle
from kpi_ingest.claims import ClaimPool
from kpi_ingest.events import Event
from kpi_ingest.gate import KafkaGate
from kpi_ingest.ingest import Claim, Intake, owners

T = datetime(2026, 2, 3, tzinfo=UTC)


def _claim(tenant: str, *ids: str) -> Claim:
    return Claim(tenant, "api", [Event(i, "a.b", 1.0, T, {}) for i in ids])


def test_the_first_request_of_a_group_owns_a_shared_id_per_tenant() -> None:
    group = [_claim("t1", "a", "b"), _claim("t1", "b", "c"), _claim("t2", "a")]
    assert owners(group) == {("t1", "a"): 0, ("t1", "b"): 0, ("t1", "c"): 1, ("t2", "a"): 2}


class _BrokenPool:
    """A claim pool whose connection fails as asyncpg's does while PostgreSQL restarts."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        raise self._error
        yield


class _Connected:
    producer = object()


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError("cannot switch to state 15; another operation is running"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        ConnectionRefusedError(111, "Connect call failed"),
    ],
    ids=["state-15", "closed", "shutdown", "refused"],
)
async def test_a_database_outage_during_the_claim_is_unavailable_not_a_crash(
    error: BaseException,
) -> None:
    intake = Intake(
        claims=cast(ClaimPool, _BrokenPool(error)),
        kafka=cast(ProducerHandle, _Connected()),
        gate=KafkaGate(retry_after_s=5),
        topic="t.metrics.events",
    )
    worker = asyncio.create_task(intake.run_worker())
    try:
        with pytest.raises(Unavailable):
            await intake.accept("t1", "api", _claim("t1", "a").events, [])
    finally:
        worker.cancel()
