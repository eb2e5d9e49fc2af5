"""A notifier that starts on a backlog of both `goals.changes` and `kpi.breaches` still sends
a breach to the recipients its strategy names: the strategy is read to the end first. (With
one consumer for both topics, the breach was handled before the strategy and reached no one.)
"""

import uuid
from datetime import UTC, datetime

import pytest
from kpi_common.kafka import Outgoing, publish
from kpi_common.topics import GOALS_CHANGES
from kpi_notifier.main import spawn_loops

from tests.conftest import Infra
from tests.integration.kpi_notifier.conftest import Harness, harness, settings_for, until
from tests.integration.kpi_notifier.servers import SlackServer, SmtpServer
from tests.support.strategy_events import events

pytestmark = pytest.mark.integration

# Another tenant's goals, ahead of ours on goals.changes: more bytes per partition than one
# fetch returns (1 MiB), so the first poll holds the breach but not yet our strategy.
OTHER_GOALS = 40
GOAL_NOTES = "x" * 100_000


def now() -> datetime:
    return datetime.now(UTC)


async def other_goals(h: Harness) -> None:
    org = {"name": "Other Ltd", "timezone": "UTC"}
    goals = [
        {"id": f"g{i}", "title": "Other", "description": GOAL_NOTES} for i in range(OTHER_GOALS)
    ]
    envs = events(str(uuid.uuid4()), {"organization": org, "goals": goals})
    keys = [f"{e.tenant_id}:{e.data['node_type']}:{e.data['node_id']}" for e in envs]
    topic = h.prefix + GOALS_CHANGES.name
    await publish(h.producer, [Outgoing(topic, k, e) for k, e in zip(keys, envs, strict=True)])


async def test_a_backlogged_breach_reaches_the_recipients_of_the_strategy_before_it(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer, slack: SlackServer
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    environ = {"ACME_SALES_SLACK_WEBHOOK": slack.url("/sales"), "ACME_FINANCE_SLACK_WEBHOOK": "x"}
    # the order is what is tested, not the speed: wait for the strategy as long as it takes
    catch_up = {"KPI_NOTIFIER_STRATEGY_CATCH_UP_S": 200}
    settings = settings_for(infra, database_url, prefix, smtp, **catch_up)
    async with harness(infra, unique, settings, now, environ, ("sender", "relay")) as h:
        await other_goals(h)
        await h.strategy()
        await h.breach("new-clients", "sales", "dana")
        spawn_loops(h.notifier, settings, ["consumer"])  # consuming starts on the backlog

        async def delivered() -> bool:
            return len(smtp.messages) == 1 and "/sales" in [r.path for r in slack.requests]

        await until(delivered, 240)

    assert smtp.messages[0]["To"] == "dana@acme.example"
