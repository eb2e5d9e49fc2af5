"""The evaluator's copy of the strategy: built from `goals.changes`, rebuilt by replaying it.

`GoalsChangesHandler` applies a batch (nodes, tenants, API keys) and its consumer offsets in
one transaction; `StrategyCache` keeps each tenant's parsed `Strategy` in memory and reloads
it when the tenant's `strategy_version` moved (one cheap query per use).
"""

from collections.abc import Callable, Sequence

from aiokafka import TopicPartition
from kpi_common.apikeys import key_record
from kpi_common.db import unit_of_work
from kpi_common.events import (
    ApiKeyUpserted,
    NodeDeleted,
    NodeUpserted,
    NodeUpsertedV2,
    TenantCreated,
    parse_data,
)
from kpi_common.kafka import Message
from kpi_common.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kpi_evaluator import strategy_repo as repo
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.metrics import SUPERSEDED

log = get_logger(__name__)


def node_row(message: Message) -> repo.NodeRow | None:
    """The node change a message carries, typed: its data was parsed (and a definition
    that does not parse dead-lettered) when the record was decoded. A v1 `node.upserted`
    is superseded by the v2 goals republishes (docs/events.md): None, counted."""
    data, tenant = message.data, message.envelope.tenant_id
    if isinstance(data, NodeUpsertedV2):
        return repo.NodeRow(tenant, data.node_type, data.node_id, data.revision, data.definition)
    if isinstance(data, NodeDeleted):
        return repo.NodeRow(tenant, data.node_type, data.node_id, data.revision, None)
    if isinstance(data, NodeUpserted):
        SUPERSEDED.inc()
    return None


def node_rows(messages: Sequence[Message]) -> list[repo.NodeRow]:
    """The newest (revision, contract) per node in this batch (one upsert may touch a row
    once)."""
    newest: dict[tuple[str, str, str], repo.NodeRow] = {}
    for m in messages:
        if m.envelope.type not in ("node.upserted", "node.deleted"):
            continue
        row = node_row(m)
        if row is None:
            continue
        key = (row.tenant_id, row.node_type, row.node_id)
        if key not in newest or newest[key].version < row.version:
            newest[key] = row
    return list(newest.values())


class GoalsChangesHandler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        group_id: str,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._group_id = group_id
        self.on_change = on_change

    async def __call__(self, messages: list[Message], offsets: dict[TopicPartition, int]) -> None:
        async with unit_of_work(self._sessions) as session:
            changed = await repo.upsert_nodes(session, node_rows(messages))
            for m in messages:
                await self._apply_other(session, m)
            await repo.save_offsets(session, self._group_id, offsets)
        if changed:
            log.info("strategy updated", tenants=sorted(changed))
            self.on_change()

    async def _apply_other(self, session: AsyncSession, message: Message) -> None:
        env = message.envelope
        if env.type == "tenant.created":
            data = parse_data(env)
            assert isinstance(data, TenantCreated)
            await repo.upsert_tenant(session, env.tenant_id, data.slug)
        elif env.type == "apikey.upserted":
            key = message.data
            assert isinstance(key, ApiKeyUpserted)  # v1 or v2
            await repo.upsert_key(session, key_record(env.tenant_id, key))


class StrategyCache:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._cached: dict[str, tuple[int, Strategy]] = {}

    async def get_many(self, tenants: Sequence[str]) -> dict[str, Strategy]:
        """The current strategy of each tenant that has one."""
        async with self._engine.connect() as conn:
            versions = await repo.strategy_versions(conn, sorted(set(tenants)))
            for tenant, version in versions.items():
                cached = self._cached.get(tenant)
                if cached is None or cached[0] != version:
                    nodes = await repo.load_nodes(conn, tenant)
                    self._cached[tenant] = (version, Strategy.build(tenant, nodes))
        return {t: self._cached[t][1] for t in versions}

    async def get(self, tenant: str) -> Strategy | None:
        return (await self.get_many([tenant])).get(tenant)

    async def all(self) -> dict[str, Strategy]:
        async with self._engine.connect() as conn:
            tenants = await repo.all_tenants(conn)
        return await self.get_many(tenants)
