"""The service's named errors, each carrying its HTTP status (rendered by kpi_common.http)."""

import math

from kpi_common.errors import ApiError


class PayloadTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413, "payload_too_large", f"request body is over the limit of {limit} bytes"
        )


class Malformed(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, "malformed", message)


class UnsupportedMediaType(ApiError):
    def __init__(self, media_type: str) -> None:
        super().__init__(
            415,
            "unsupported_media_type",
            f"content type {media_type!r} is not accepted; send application/json, "
            "application/cloudevents+json or application/cloudevents-batch+json",
        )


class TooManyEvents(ApiError):
    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            422,
            "too_many_events",
            f"{count} events in one request is over the limit of {limit} events per request",
        )


class RateLimited(ApiError):
    def __init__(self, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(
            429,
            "rate_limited",
            "this API key is over its rate limit; retry later",
            headers={"Retry-After": str(seconds)},
        )


class BadSignature(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(401, "bad_signature", message)
