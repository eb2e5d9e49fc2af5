"""The fault suite's short form (`python -m chaos --short`): on a PostgreSQL, Kafka and SMTP
sink of its own, under steady load, each service is SIGKILLed and started again, Kafka and
PostgreSQL crash and come back, and strategy changes make the evaluator recompute KPIs; then
every acknowledged event is counted exactly once under the final strategy, every
breach transition is on kpi.breaches, and every notification went out once (a repeat only
where the notifier was killed between sending and recording)."""

from pathlib import Path

import pytest

from chaos.report import render
from chaos.run import Plan, run

pytestmark = pytest.mark.e2e


async def test_faults_under_load_lose_nothing_and_count_nothing_twice(tmp_path: Path) -> None:
    report = await run(Plan.short(), tmp_path, say=print)
    table = render(report)
    print(table)
    assert [str(o.fault) for o in report.outcomes] == [
        "sigkill goals",
        "sigkill metrics-ingest",
        "sigkill evaluator",
        "sigkill notifier",
        "crash kafka",
        "crash postgres",
    ]
    events = report.events
    assert events.sent == events.acknowledged > 0, table
    assert (events.lost, events.double, events.mismatched) == (0, 0, []), table
    assert events.counted == events.acknowledged, table
    assert sum(n for code, n in report.answers.items() if code != "202") > 0, "no fault was felt"
    assert report.resend_accepted == 0, table
    # strategy changes applied while the faults ran, each recomputed; the events check above
    # counted every acknowledged event under the final one
    assert len(report.changes) >= 2, table
    assert report.recomputed, table
    assert report.breaches.expected >= 2, table
    assert (report.breaches.lost, report.breaches.unexpected) == ([], []), table
    notices = report.notices
    assert notices.expected >= 4, table
    assert (notices.missing, notices.not_sent) == ([], []), table
    assert notices.duplicates == notices.explained, table
