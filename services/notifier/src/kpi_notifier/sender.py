"""The sender loop: claims due delivery rows, sends each through its channel, records the
outcome. Retries back off exponentially; after `max_attempts` a row is dead (visible in the
API). A delivered row is never claimed again; one interrupted between send and record is
sent once more and counted (`notifier_deliveries_redelivered_total`)."""

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from kpi_common.db import unit_of_work
from kpi_common.events import NotificationSent, make_envelope
from kpi_common.logging import get_logger
from kpi_common.outbox import add_to_outbox
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_notifier import incident_flow, metrics
from kpi_notifier.channels import ChannelSender, DeliveryError, Destination, Message, RateLimited
from kpi_notifier.config import SERVICE, Settings
from kpi_notifier.deliveries import Claimed, Deliveries, digest_groups
from kpi_notifier.destinations import destination, message_context
from kpi_notifier.directory import Directory
from kpi_notifier.incidents import INCIDENT_KINDS, thread_headers
from kpi_notifier.messages import Messages
from kpi_notifier.models import outbox
from kpi_notifier.planning import announced, hold_back
from kpi_notifier.repository import Repository
from kpi_notifier.routing import Silence

log = get_logger(__name__)
Clock = Callable[[], datetime]
MIN_IDLE_S = 0.02  # a due row another sender holds (skip locked) must not make this one spin


def backoff(settings: Settings, attempt: int) -> timedelta:
    """Wait before the next try after failed attempt number `attempt` (1, 2, 4, ... x base)."""
    return timedelta(seconds=min(settings.retry_base_s * 2 ** (attempt - 1), settings.retry_max_s))


class Sender:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, ChannelSender],
        messages: Messages,
        environ: Mapping[str, str],
        clock: Clock,
        settings: Settings,
        topic: str,
        published: Callable[[], None] = lambda: None,
        batch: int = 50,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._messages = messages
        self._environ = environ
        self._clock = clock
        self._settings = settings
        self._topic = topic
        self.published = published
        self._batch = batch
        self._wake = asyncio.Event()
        self._digests = settings.digest_window_s > 0

    def wake(self) -> None:
        """Ask for a pass now (after a commit that recorded pending rows)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            if await self.run_once() < self._batch:
                self._wake.clear()
                idle_s = await self._idle_s()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), idle_s)

    async def _idle_s(self) -> float:
        """Until the next pass: the poll interval, or less when a waiting row (an
        incident's `group_wait`) falls due sooner, so a wait is not stretched by the poll."""
        async with self._sessions() as session:
            due = await Deliveries(session).next_due()
        poll = self._settings.sender_poll_s
        if due is None:
            return poll
        return min(poll, max(MIN_IDLE_S, (due - self._clock()).total_seconds()))

    async def run_once(self) -> int:
        """Send every row due now, within the first half of the claim's lease (the rest is
        handed back, and claimed again at once); returns how many were claimed."""
        now = self._clock()
        lease = now + timedelta(seconds=self._settings.send_lease_s)
        async with unit_of_work(self._sessions) as session:
            claimed = await Deliveries(session).claim(now, lease, self._batch, self._digests)
            wanted = await self._screen(session, claimed, now)
        groups = digest_groups(wanted, self._digests)
        for n, group in enumerate(groups):
            if self._clock() >= now + (lease - now) / 2:
                await self._release([i.row.id for g in groups[n:] for i in g], lease)
                break
            await self._deliver(group)
        return len(claimed)

    async def _release(self, row_ids: list[int], lease: datetime) -> None:
        """Rows whose lease may run out before they are sent go back unsent: once it has run
        out, another replica's sender takes them, and both would send them (seen in
        `make chaos-cluster`: a slow batch of 50 outlived its lease, two notifiers mailed
        31 messages twice)."""
        log.info("claim lease half spent; handing rows back unsent", rows=len(row_ids))
        async with unit_of_work(self._sessions) as session:
            await Deliveries(session).release(row_ids, lease)

    async def _screen(
        self, session: AsyncSession, claimed: list[Claimed], now: datetime
    ) -> list[Claimed]:
        """Drop breach and incident notices that an ack, a resolution or a new silence made
        moot."""
        repo, wanted = Repository(session), []
        tenants: dict[str, tuple[Directory, list[Silence]]] = {}
        for item in claimed:
            row = item.row
            ids = announced(row.kind, row.context, row.breach_id)
            breaches = await repo.breaches_of(row.tenant_id, ids) if ids else []
            if breaches and row.tenant_id not in tenants:
                silences = await repo.active_silences(row.tenant_id, now)
                tenants[row.tenant_id] = (await repo.directory(row.tenant_id), silences)
            directory, silences = tenants.get(row.tenant_id, (Directory(), []))
            verdict = hold_back(row.kind, breaches, directory, silences, now)
            if verdict is None:
                wanted.append(item)
            else:
                log.info("notification held back", dedup_key=row.dedup_key, status=verdict[0])
                await Deliveries(session).mark_held_back(row.id, *verdict)
        return wanted

    async def _deliver(self, items: list[Claimed]) -> None:
        """One message for `items`: a single notice, or a digest of one person's breaches."""
        first = items[0].row
        for item in items:
            if item.stale:
                metrics.REDELIVERED.inc()
                log.warning(
                    "resending a delivery interrupted mid-send", dedup_key=item.row.dedup_key
                )
        try:
            target, message = await self._prepare([i.row for i in items])
            with metrics.SEND_SECONDS.labels(first.channel_kind).time():
                await self._channels[first.channel_kind].send(target, message)
        except RateLimited as exc:
            metrics.RATE_LIMITED.labels(first.channel_kind).inc()
            for item in items:
                await self._retry(
                    item, str(exc), timedelta(seconds=exc.retry_after_s), counted=False
                )
        except DeliveryError as exc:
            for item in items:
                await self._failed(item, str(exc))
        except Exception as exc:
            log.exception("delivery crashed", dedup_key=first.dedup_key)
            for item in items:
                await self._failed(item, f"unexpected error: {exc!r}")
        else:
            await self._sent(items, target)

    async def _prepare(self, rows: list[Any]) -> tuple[Destination, Message]:
        row = rows[0]
        async with self._sessions() as session:
            directory = await Repository(session).directory(row.tenant_id)
            contexts = [message_context(directory, r.context, r.channel, r.recipient) for r in rows]
            if row.kind in INCIDENT_KINDS:  # the incident as it stands when sent
                contexts = [
                    await incident_flow.message_context(
                        session, directory, row.tenant_id, contexts[0]
                    )
                ]
        target = destination(directory, row.channel, row.recipient, self._environ)
        if len(rows) == 1:
            message = self._messages.render(contexts[0].get("kind", row.kind), contexts[0])
        else:
            digest = {**contexts[0], "kind": "digest", "breaches": [c["breach"] for c in contexts]}
            message = self._messages.render("digest", digest)
        keys = [r.dedup_key for r in rows]
        payload = {**message.payload, "dedup_keys": keys, "tenant_id": row.tenant_id}
        headers = (
            thread_headers(row.kind, contexts[0]["incident_id"], row.recipient, row.dedup_key)
            if row.kind in INCIDENT_KINDS
            else {}
        )
        parts = (message.subject, message.text, message.html, message.slack)
        return target, Message(*parts, payload=payload, headers=headers)

    async def _sent(self, items: list[Claimed], target: Destination) -> None:
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            for item in items:
                await Deliveries(session).mark_sent(item.row.id, now)
            announcements = [self._announcement(i.row, target, now) for i in items]
            await add_to_outbox(session, outbox, announcements)
        for item in items:
            metrics.SENT.labels(item.row.channel_kind, item.row.kind).inc()
            log.info("notification sent", dedup_key=item.row.dedup_key, attempt=item.attempt)
        self.published()

    def _announcement(self, row: Any, target: Destination, now: datetime) -> Any:
        digest = hashlib.sha256(f"{row.tenant_id}:{row.dedup_key}".encode()).hexdigest()[:32]
        recipient = ", ".join(target.addresses) if target.kind == "email" else row.channel
        data = NotificationSent(
            dedup_key=row.dedup_key,
            kind=row.kind,
            channel=row.channel_kind if row.channel == "email" else row.channel,
            recipient=recipient,
            breach_id=row.breach_id,
            sent_at=now,
        )
        env = make_envelope(
            id=f"ntf-{digest}", tenant_id=row.tenant_id, producer=SERVICE, time=now, data=data
        )
        return (self._topic, f"{row.tenant_id}:{row.dedup_key}", env)

    async def _failed(self, item: Claimed, error: str) -> None:
        row = item.row
        metrics.FAILURES.labels(row.channel_kind).inc()
        if item.attempt >= self._settings.max_attempts:
            metrics.DEAD.labels(row.channel_kind).inc()
            log.error("delivery dead-lettered", dedup_key=row.dedup_key, error=error)
            async with unit_of_work(self._sessions) as session:
                await Deliveries(session).mark_dead(row.id, error)
            return
        log.warning("delivery failed, will retry", dedup_key=row.dedup_key, error=error)
        await self._retry(item, error, backoff(self._settings, item.attempt), counted=True)

    async def _retry(self, item: Claimed, error: str, wait: timedelta, *, counted: bool) -> None:
        next_at = self._clock() + wait
        async with unit_of_work(self._sessions) as session:
            await Deliveries(session).mark_retry(item.row.id, error, next_at, count_attempt=counted)
