"""The cluster fault suite's short form (`python -m chaos --cluster --short`): three Kafka
brokers in KRaft (topics with replication factor 3, `min.insync.replicas=2`), two replicas of
each service (the load spread over goals' and ingest's), and under steady load a replica of
each service SIGKILLed, the evaluator scaled 2 -> 1 -> 3 and 3 -> 1 -> 2 (rebalances), the
broker leading the busy partition and the active controller each brought down, PostgreSQL
restarted; then the same oracle as the single-node form."""

from pathlib import Path

import pytest

from chaos.report import render
from chaos.run import Plan, run

pytestmark = pytest.mark.e2e


# a guard against a hang, not a speed check: ~3 minutes on an idle 2-core machine, over 5
# on a loaded one (three brokers and eight service processes start, and each comes back)
@pytest.mark.timeout(900)
async def test_cluster_faults_under_load_lose_nothing_and_count_nothing_twice(
    tmp_path: Path,
) -> None:
    report = await run(Plan.short(cluster=True), tmp_path, say=print)
    table = render(report)
    print(table)
    assert [str(o.fault) for o in report.outcomes] == [
        "sigkill goals",
        "sigkill metrics-ingest-2",
        "sigkill evaluator",
        "sigkill notifier-2",
        "scale evaluator 1->3",
        "scale evaluator 1->2",
        "crash broker:leader",
        "stop broker:controller",
        "restart postgres",
    ]
    assert all(o.detail.startswith("node ") for o in report.outcomes[6:8]), table
    events = report.events
    assert events.sent == events.acknowledged > 0, table
    assert (events.lost, events.double, events.mismatched) == (0, 0, []), table
    assert events.counted == events.acknowledged, table
    assert report.resend_accepted == 0, table
    assert len(report.changes) >= 2, table
    assert report.recomputed, table
    assert report.breaches.expected >= 2, table
    assert (report.breaches.lost, report.breaches.unexpected) == ([], []), table
    notices = report.notices
    assert notices.expected >= 4, table
    assert (notices.missing, notices.not_sent) == ([], []), table
    assert notices.duplicates == notices.explained, table
