"""The archive's retention is one setting and one computation: the evaluator keeps what
metrics-ingest accepts, so an event ingest acknowledged always counts (issue 12)."""

from datetime import UTC, datetime, timedelta

import pytest
from kpi_common.retention import oldest_counted
from kpi_evaluator.archive import horizon
from kpi_evaluator.config import Settings as EvaluatorSettings
from kpi_ingest.config import Settings as IngestSettings


@pytest.mark.parametrize(
    ("now", "months", "oldest"),
    [
        (datetime(2026, 2, 3, 10, tzinfo=UTC), 36, datetime(2023, 2, 1, tzinfo=UTC)),
        (datetime(2026, 1, 1, tzinfo=UTC), 1, datetime(2025, 12, 1, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), 12, datetime(2025, 12, 1, tzinfo=UTC)),
        # 23:30 UTC on 28 February (already 1 March in Berlin) is February
        (
            datetime(2026, 3, 1, 0, 30, tzinfo=UTC) - timedelta(hours=1),
            2,
            datetime(2025, 12, 1, tzinfo=UTC),
        ),
    ],
)
def test_the_oldest_instant_counted_starts_a_utc_month(
    now: datetime, months: int, oldest: datetime
) -> None:
    assert oldest_counted(now, months) == oldest
    assert horizon(now, months).start == oldest


def test_both_services_read_one_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_ARCHIVE_RETENTION_MONTHS", "48")
    assert EvaluatorSettings().archive_retention_months == 48
    assert IngestSettings().archive_retention_months == 48


def test_the_evaluators_older_name_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KPI_ARCHIVE_RETENTION_MONTHS", raising=False)
    monkeypatch.setenv("KPI_EVALUATOR_ARCHIVE_RETENTION_MONTHS", "24")
    assert EvaluatorSettings().archive_retention_months == 24


def test_a_retention_outside_its_limits_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_ARCHIVE_RETENTION_MONTHS", "0")
    with pytest.raises(ValueError, match="KPI_ARCHIVE_RETENTION_MONTHS"):
        IngestSettings()
