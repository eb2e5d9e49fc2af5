"""A consumed record, decoded: the contract's envelope, and for the hot event type the
fields already typed."""

from aiokafka import ConsumerRecord

from kpi_common.events import Envelope, MetricObserved, _Data, decode, decode_with_data, parse_data
from kpi_common.observed import Observed, decode_observed, observed_of


class Message:
    """A decoded record and where it came from.

    `envelope` is the record as the contract's model, `data` its payload as the model of its
    (type, version), parsed once when the record was decoded. A `metric.observed` v1 record
    also carries `observed`, its fields checked and typed (`kpi_common.observed`); when
    msgspec decoded it, as it usually does, its envelope is only built when first read."""

    __slots__ = ("_data", "_envelope", "_raw", "observed", "offset", "partition", "topic")

    def __init__(
        self,
        envelope: Envelope | None,
        topic: str,
        partition: int,
        offset: int,
        observed: Observed | None = None,
        raw: bytes = b"",
        data: _Data | None = None,
    ) -> None:
        if envelope is None and observed is None:
            raise ValueError("a message needs its envelope or its observed event")
        self._envelope, self._raw, self.observed = envelope, raw, observed
        self._data = data
        self.topic, self.partition, self.offset = topic, partition, offset

    @classmethod
    def from_record(cls, record: ConsumerRecord) -> "Message":
        """Decode a record; raises ValueError with the contract's reason when it cannot."""
        raw = record.value
        observed = decode_observed(raw)
        if observed is not None:
            return cls(None, record.topic, record.partition, record.offset, observed, raw)
        envelope, data = decode_with_data(raw)
        if isinstance(data, MetricObserved):
            observed = observed_of(envelope, data)
        return cls(envelope, record.topic, record.partition, record.offset, observed, data=data)

    @property
    def envelope(self) -> Envelope:
        if self._envelope is None:
            self._envelope = decode(self._raw)  # the structs accept only what decode accepts
        return self._envelope

    @property
    def data(self) -> _Data:
        """The payload as its registered model (parsed at decoding, or now if built without)."""
        if self._data is None:
            self._data = parse_data(self.envelope)
        return self._data

    def __repr__(self) -> str:
        return f"Message({self.topic}:{self.partition}:{self.offset})"
