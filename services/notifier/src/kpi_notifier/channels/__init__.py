"""Delivery channels: email over SMTP, Slack incoming webhooks, signed generic webhooks.

Each takes a resolved `Destination` and a rendered `Message`, and raises `DeliveryError`
(or `RateLimited`, which does not count as a failed attempt) when the send did not happen.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

from kpi_notifier.directory import ChannelKind


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    slack: str
    payload: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # email only: e.g. In-Reply-To


@dataclass(frozen=True)
class Destination:
    kind: ChannelKind
    addresses: tuple[str, ...]
    secret: str | None = None


class DeliveryError(Exception):
    """The send did not happen; the message says why, for the delivery log."""


class RateLimited(DeliveryError):
    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ChannelSender(Protocol):
    async def send(self, destination: Destination, message: Message) -> None: ...
