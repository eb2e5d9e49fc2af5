"""`running()` stops a Kafka consumer on every way out: an unstopped AIOKafkaConsumer warns
from its finaliser later, in whatever test the garbage collector happens to run in."""

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError
from kpi_common.kafka import running


@pytest.fixture
async def silent_broker() -> AsyncIterator[str]:
    """A port that accepts connections and never answers: a consumer's start() hangs there."""
    accepted: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


def unclosed_after_collection() -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    return [str(w.message) for w in caught if "Unclosed AIOKafkaConsumer" in str(w.message)]


async def test_a_consumer_whose_start_fails_is_stopped() -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", request_timeout_ms=1000)
    with pytest.raises(KafkaConnectionError):
        async with running(consumer):
            pytest.fail("started without a broker")
    del consumer
    assert unclosed_after_collection() == []


async def test_a_consumer_cancelled_while_starting_is_stopped(silent_broker: str) -> None:
    async def consume() -> None:
        async with running(AIOKafkaConsumer(bootstrap_servers=silent_broker)):
            pytest.fail("started against a broker that never answers")

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    del task
    assert unclosed_after_collection() == []
