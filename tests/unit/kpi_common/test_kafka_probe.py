"""The Kafka probe keeps a cancellation that arrives together with the broker's answer."""

import asyncio
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from kpi_common.kafka import kafka_reachable


class _Client:
    def __init__(self, answer: asyncio.Future[object]) -> None:
        self.answer = answer

    def get_random_node(self) -> int:
        return 1

    async def send(self, node: int, request: Any) -> object:
        return await self.answer


class _Producer:
    def __init__(self, client: _Client) -> None:
        self.client = client


async def test_a_probe_cancelled_as_its_answer_arrives_stays_cancelled() -> None:
    answer: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    producer = cast(AIOKafkaProducer, _Producer(_Client(answer)))
    probe = asyncio.create_task(kafka_reachable(producer))
    for _ in range(3):
        await asyncio.sleep(0)  # the probe now waits for the answer
    answer.set_result(object())
    probe.cancel()  # in the same instant (asyncio.wait_for of 3.11 returned the answer)
    with pytest.raises(asyncio.CancelledError):
        await probe
