"""The base of every 2xx response model, so each service's OpenAPI document describes its
answers. A route's handler may still return a dict: FastAPI validates it against the
model, which refuses a key the model does not name (a new key is a contract change)."""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, TypeAdapter
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

Number = int | float
"""A number as the handler gave it: an int stays an int (a `float` field would answer `200`
as `200.0`)."""

Json = dict[str, object]
"""A JSON object the service passes through without owning its shape (a JSON Schema).
One whose shape a model checked when it came in is `Annotated[Json, Described(model)]`."""


@dataclass(frozen=True)
class Described:
    """`Annotated` metadata: the value is answered as the handler gave it (a strategy
    document entry as written: `50` stays `50`, unset fields stay absent), and the OpenAPI
    document describes it by `shape`, the type that validated it when it came in."""

    shape: Any

    def __get_pydantic_json_schema__(
        self, _core: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(TypeAdapter(self.shape).core_schema)


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
