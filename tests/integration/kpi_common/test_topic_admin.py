"""Dropping the topics of one prefix, and only those."""

import uuid

import pytest
from kpi_common.kafka import ensure_topics
from kpi_common.topic_admin import drop_topics
from kpi_common.topics import GOALS_CHANGES, KPI_BREACHES

from tests.conftest import Infra

pytestmark = pytest.mark.integration


async def test_only_the_prefix_topics_are_dropped(infra: Infra) -> None:
    mine = f"{infra.topic_prefix}drop-{uuid.uuid4().hex[:6]}."
    other = f"{infra.topic_prefix}keep-{uuid.uuid4().hex[:6]}."
    for prefix in (mine, other):
        await ensure_topics(infra.kafka_bootstrap, prefix, 1, [GOALS_CHANGES, KPI_BREACHES])
    dropped = await drop_topics(infra.kafka_bootstrap, mine)
    assert dropped == sorted(t.qualified(mine) for t in (GOALS_CHANGES, KPI_BREACHES))
    assert await drop_topics(infra.kafka_bootstrap, other) == sorted(
        t.qualified(other) for t in (GOALS_CHANGES, KPI_BREACHES)
    )


async def test_an_empty_prefix_is_refused(infra: Infra) -> None:
    with pytest.raises(ValueError, match="prefix"):
        await drop_topics(infra.kafka_bootstrap, "")
