import httpx
import pytest
from kpi_notifier.channels import Destination, Message, RateLimited
from kpi_notifier.channels.slack import SlackSender, retry_after

MSG = Message("subject", "text", "<p>html</p>", "*slack*")
DEST = Destination("slack", ("http://slack.test/hook",))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_messages_to_one_webhook_are_paced_about_one_per_second() -> None:
    seen: list[httpx.Request] = []

    def answer(r: httpx.Request) -> httpx.Response:
        seen.append(r)
        return httpx.Response(200, text="ok")

    transport = httpx.MockTransport(answer)
    clock = Clock()
    async with httpx.AsyncClient(transport=transport) as http:
        sender = SlackSender(http, 1.0, clock.monotonic, clock.sleep)
        await sender.send(DEST, MSG)
        clock.now += 0.25
        await sender.send(DEST, MSG)
    assert clock.slept == [0.75]
    assert b'"type":"header"' in seen[0].content


async def test_a_429_raises_rate_limited_with_the_retry_after() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(429, headers={"Retry-After": "3"}))
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(RateLimited) as caught:
            await SlackSender(http, 0).send(DEST, MSG)
    assert caught.value.retry_after_s == 3.0


def test_retry_after_defaults_when_missing_or_garbled() -> None:
    assert retry_after(httpx.Response(429)) == 1.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) == 1.0
