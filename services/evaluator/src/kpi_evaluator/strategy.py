"""The evaluator's copy of the strategy: built from `goals.changes`, rebuilt by replaying it.

`GoalsChangesHandler` applies a batch (nodes, tenants, API keys) and its consumer offsets in
one transaction, with a recompute job for the KPIs whose actuals the change affects
(`recompute.affected`); `StrategyCache` keeps each tenant's parsed `Strategy` in memory and reloads
it when the tenant's `strategy_version` moved (one cheap query per use).
"""

from collections.abc import Callable, Sequence

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
from kpi_common.offsets import Offsets
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kpi_evaluator import buckets_repo, recompute_repo
from kpi_evaluator import strategy_repo as repo
from kpi_evaluator.definitions import Strategy
from kpi_evaluator.metrics import SUPERSEDED
from kpi_evaluator.recompute import affected, reason

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
        on_change: Callable[[Sequence[str]], None] = lambda tenants: None,
        on_recompute: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._group_id = group_id
        self.on_change = on_change
        self.on_recompute = on_recompute

    async def __call__(self, messages: list[Message], offsets: Offsets) -> None:
        rows = node_rows(messages)
        async with unit_of_work(self._sessions) as session:
            await repo.save_offsets(session, self._group_id, offsets)  # fenced: first
            tenants = sorted({r.tenant_id for r in rows})
            before = {t: Strategy.build(t, await repo.load_nodes(session, t)) for t in tenants}
            changed = await repo.upsert_nodes(session, rows)
            jobs = [await self._recompute(session, before[t]) for t in sorted(changed)]
            for m in messages:
                await self._apply_other(session, m)
        if changed:
            log.info("strategy updated", tenants=sorted(changed))
            self.on_change(sorted(changed))
        if any(jobs):
            self.on_recompute()

    async def _recompute(self, session: AsyncSession, before: Strategy) -> bool:
        """Record a recompute job for the KPIs whose actuals the change affects, in the
        transaction of the change itself (so none is ever missed)."""
        tenant = before.tenant_id
        after = Strategy.build(tenant, await repo.load_nodes(session, tenant))
        gone = sorted(set(before.kpis) - set(after.kpis))
        await buckets_repo.delete_kpis(session, tenant, gone)  # re-added, it is recomputed
        found = affected(before, after)
        if found:
            job = await recompute_repo.add(session, tenant, sorted(found), reason(found))
            log.info("recompute queued", tenant=tenant, job=job.id, kpis=job.kpi_ids)
        return bool(found)

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
        self.builds = 0  # strategies built so far: moves whenever one was (re)loaded

    async def get_many(
        self, tenants: Sequence[str], conn: repo.Executor | None = None
    ) -> dict[str, Strategy]:
        """The current strategy of each tenant that has one; read through `conn` (a metric
        batch's or a recompute's own transaction, after its lock) when given."""
        if conn is None:
            async with self._engine.connect() as own:
                return await self._current(own, tenants)
        return await self._current(conn, tenants)

    async def _current(self, conn: repo.Executor, tenants: Sequence[str]) -> dict[str, Strategy]:
        """At least the version each tenant has in `conn`'s view. Concurrent readers share the
        cache, so it only ever moves forward: a slow reader of an older version must not put
        it back over a newer one another reader (a batch, after its lock) relies on."""
        versions = await repo.strategy_versions(conn, sorted(set(tenants)))
        for tenant, version in versions.items():
            if self._version(tenant) < version:
                nodes = await repo.load_nodes(conn, tenant)
                if self._version(tenant) < version:
                    self._cached[tenant] = (version, Strategy.build(tenant, nodes))
                    self.builds += 1
        return {t: self._cached[t][1] for t in versions}

    def _version(self, tenant: str) -> int:
        cached = self._cached.get(tenant)
        return -1 if cached is None else cached[0]

    async def get(self, tenant: str) -> Strategy | None:
        return (await self.get_many([tenant])).get(tenant)

    async def tenants(self) -> list[str]:
        """Every tenant that has a strategy."""
        async with self._engine.connect() as conn:
            return await repo.all_tenants(conn)

    async def all(self) -> dict[str, Strategy]:
        return await self.get_many(await self.tenants())
