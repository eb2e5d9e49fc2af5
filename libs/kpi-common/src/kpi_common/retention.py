"""How far back in event time an event counts: the evaluator's archive retention.

One setting, `KPI_ARCHIVE_RETENTION_MONTHS`, read by the evaluator (its archive keeps the
current calendar month, UTC, and that many before it, then drops whole partitions) and by
metrics-ingest (it refuses an event the archive would not keep, so that an event it
acknowledges always counts). One computation of the oldest instant kept serves both.
"""

from datetime import UTC, datetime
from typing import Any

from pydantic import AliasChoices, Field

RETENTION_MONTHS_ENV = "KPI_ARCHIVE_RETENTION_MONTHS"
DEFAULT_RETENTION_MONTHS = 36  # three fiscal years: the longest period in use plus restatements


def retention_months_field(*older_names: str) -> Any:
    """The settings field for the retention; `older_names` are still accepted."""
    return Field(
        default=DEFAULT_RETENTION_MONTHS,
        ge=1,
        le=1200,
        validation_alias=AliasChoices(RETENTION_MONTHS_ENV, *older_names),
    )


def oldest_counted(now: datetime, retention_months: int) -> datetime:
    """The first instant (UTC) of the month `retention_months` before now's month."""
    utc = now.astimezone(UTC)
    index = utc.year * 12 + utc.month - 1 - retention_months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
