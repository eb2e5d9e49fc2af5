"""What a source is: its kind, how its requests are signed, and its mapping (pure)."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kpi_ingest.sources.mapping import Rule

Kind = Literal[
    "generic", "hubspot", "stripe", "salesforce", "dynamics365", "sap_cloudevents", "debezium"
]
TOPIC_PATTERN = r"^[a-zA-Z0-9._-]{1,249}$"
Scheme = Literal["hubspot_v3", "stripe_v1", "static_header"]
SOURCE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,99}$"
DEFAULT_HEADERS: dict[str, str] = {"stripe_v1": "stripe-signature", "static_header": "x-api-key"}


class Signature(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: Scheme
    secret: str = Field(min_length=8, max_length=500)
    header: str | None = Field(default=None, max_length=100)
    public_url: str | None = Field(default=None, max_length=2000)

    @property
    def header_name(self) -> str:
        return (self.header or DEFAULT_HEADERS.get(self.scheme, "")).lower()


class SourceDefinition(BaseModel):
    """The body of PUT /v1/sources/{id}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    signature: Signature | None = None
    topic: str | None = Field(default=None, pattern=TOPIC_PATTERN)
    mapping: list[Rule] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> "SourceDefinition":
        if self.kind == "debezium" and not self.topic:
            raise ValueError("a debezium source needs `topic`, the Kafka topic of its changes")
        if self.kind != "debezium" and self.signature is None:
            raise ValueError("a webhook source needs `signature` (scheme and secret)")
        if "\\u0000" in self.model_dump_json():
            raise ValueError("must not contain NUL characters")
        return self

    def public(self) -> dict[str, Any]:
        """The definition as shown back: never the secret."""
        out = self.model_dump(mode="json", exclude_none=True)
        if "signature" in out:
            out["signature"]["secret"] = "***"
        return out
