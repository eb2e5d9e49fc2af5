"""The base of every 2xx response model, so each service's OpenAPI document describes its
answers. A route's handler may still return a dict: FastAPI validates it against the
model, which refuses a key the model does not name (a new key is a contract change)."""

from pydantic import BaseModel, ConfigDict

Number = int | float
"""A number as the handler gave it: an int stays an int (a `float` field would answer `200`
as `200.0`)."""

Json = dict[str, object]
"""A JSON object the service passes through without owning its shape (a node definition
as the strategy document wrote it, a JSON Schema)."""


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
