"""Whether to try Kafka at all. After a produce failure the gate closes for a while and
requests get 503 at once instead of waiting for the producer's timeout; a probe loop opens
it again as soon as the broker answers. Pure state; the caller passes the clock reading."""

from dataclasses import dataclass


@dataclass
class KafkaGate:
    retry_after_s: int
    closed_until: float = 0.0

    def is_open(self, now: float) -> bool:
        return now >= self.closed_until

    def close(self, now: float) -> None:
        self.closed_until = now + self.retry_after_s

    def open(self) -> None:
        self.closed_until = 0.0
