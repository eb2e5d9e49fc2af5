"""The archive fill: on an upgraded installation, archives what the metrics consumer had
consumed before the archive existed (docs/evaluator.md, "Upgrading").

Migration 0010 marks a fill for each metrics group with stored offsets. A consumer of its own
(group `<metrics group>.archive-fill`, partitions assigned by hand, nothing committed to
Kafka) reads `metrics.events` from the earliest offset Kafka still holds up to those stored
offsets, decodes each record as the metrics consumer does (dead letters included) and
archives in bulk, with the archive's dedup: insert only, the buckets are not touched (those
events were counted when first consumed). Each batch's insert and the partitions' progress
commit in one transaction, so a crash resumes where the last batch ended. One process fills
at a time; recompute jobs wait until the fill is done (`RecomputeRunner`).
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from kpi_common.db import unit_of_work
from kpi_common.kafka import dead_letter, decode_records, running
from kpi_common.logging import get_logger
from kpi_common.runtime import ProducerHandle
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kpi_evaluator import archive_fill_repo, archive_repo, arrivals_repo
from kpi_evaluator.archive_fill_repo import Fill, FillPartition
from kpi_evaluator.archive_keeper import ArchiveKeeper
from kpi_evaluator.arrivals import tally
from kpi_evaluator.config import SERVICE
from kpi_evaluator.folding import dedup
from kpi_evaluator.metrics import FILL_EVENTS, FILL_REMAINING

log = get_logger(__name__)
LOG_EVERY_S = 10.0


@dataclass(frozen=True)
class FillSource:
    bootstrap: str
    topic: str  # the qualified `metrics.events`
    group_id: str  # the metrics consumer group whose stored offsets the fill reaches
    dead_letter_topic: str
    batch: int


def _name(tp: TopicPartition) -> str:
    return f"{tp.topic}:{tp.partition}"


class ArchiveFill:
    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        archive: ArchiveKeeper,
        kafka: ProducerHandle,
        source: FillSource,
        clock: Callable[[], datetime],
        on_done: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._archive = archive
        self._kafka = kafka
        self._source = source
        self._clock = clock
        self.on_done = on_done  # main wires it to wake the recompute runner
        self._finished = False
        self.read = 0  # records read by this process's fill
        self.archived = 0  # events it archived (never archived before)

    async def finished(self) -> bool:
        """No fill, or it is done: the archive holds what Kafka still had (cached once true)."""
        if not self._finished:
            async with self._engine.connect() as conn:
                pending = await archive_fill_repo.unfinished(conn, self._source.group_id)
            self._finished = not pending
        return self._finished

    async def run(self) -> None:
        if not await self.finished():
            await self._kafka.connected.wait()
            async with archive_fill_repo.filling(self._engine, self._source.group_id):
                fill = await self._load()
                if fill is not None and fill.finished_at is None:
                    FILL_REMAINING.set(sum(p.remaining for p in fill.partitions))
                    await self._fill(fill)
            self._finished = True
            self.on_done()
        FILL_REMAINING.set(0)

    async def _load(self) -> Fill | None:
        async with self._engine.connect() as conn:
            return await archive_fill_repo.load(conn, self._source.group_id)

    async def _fill(self, fill: Fill) -> None:
        todo = {p.tp: p for p in fill.partitions if p.remaining}
        log.info("archive fill starting", group=fill.group_id, offsets=fill.offsets_total)
        if todo:
            async with running(self._consumer()) as consumer:
                stops = await self._start(consumer, todo)
                await self._read(consumer, todo, stops)
        async with unit_of_work(self._sessions) as session:
            await archive_fill_repo.finish(session, fill.group_id)
        done = await self._load()
        assert done is not None
        log.info(
            "archive fill done; recomputes may run",
            group=done.group_id,
            offsets=done.offsets_total,
            not_retained=done.not_retained,
            read=self.read,
            archived=self.archived,
        )

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._source.bootstrap,
            group_id=f"{self._source.group_id}.archive-fill",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self._source.batch,
        )

    async def _start(
        self, consumer: AIOKafkaConsumer, todo: dict[TopicPartition, FillPartition]
    ) -> dict[TopicPartition, int]:
        """Seek each partition to where the fill goes on; the offset it stops at per partition
        (those with nothing left to read are done at once)."""
        consumer.assign(list(todo))
        earliest = await consumer.beginning_offsets(list(todo))
        ends = await consumer.end_offsets(list(todo))
        cut = {_name(tp): e for tp, e in sorted(earliest.items()) if e > 0}
        if cut:
            log.warning(
                "archive fill: Kafka no longer holds the oldest events of these partitions "
                "(earliest offset per partition); they stay counted but cannot be archived, "
                "so a recompute will not see them",
                partitions=cut,
            )
        short = {_name(tp): ends[tp] for tp, p in todo.items() if ends[tp] < p.until_offset}
        if short:
            log.warning("archive fill: the topic ends before the stored offsets", ends=short)
        async with unit_of_work(self._sessions) as session:
            for tp, e in earliest.items():
                await archive_fill_repo.skip_unretained(session, self._source.group_id, tp, e)
        stops: dict[TopicPartition, int] = {}
        for tp, p in todo.items():
            start, stop = max(p.next_offset, earliest[tp]), min(p.until_offset, ends[tp])
            consumer.seek(tp, start)
            stops[tp] = stop
        return stops

    async def _read(
        self,
        consumer: AIOKafkaConsumer,
        todo: dict[TopicPartition, FillPartition],
        stops: dict[TopicPartition, int],
    ) -> None:
        logged = time.monotonic()
        while stops:
            batch = await consumer.getmany(*stops, timeout_ms=500, max_records=self._source.batch)
            records = [r for tp, rs in batch.items() for r in rs if r.offset < stops[tp]]
            positions = {tp: await consumer.position(tp) for tp in stops}
            progress = {tp: min(at, stops[tp]) for tp, at in positions.items() if tp in batch}
            for tp, at in positions.items():
                if at >= stops[tp]:
                    progress[tp] = todo[tp].until_offset  # this partition is done
                    del stops[tp]
            if records or progress:
                await self._archive_batch(records, progress)
            left = sum(stops[tp] - positions[tp] for tp in stops)
            FILL_REMAINING.set(left)
            if time.monotonic() - logged >= LOG_EVERY_S:
                logged = time.monotonic()
                log.info("archive fill", read=self.read, archived=self.archived, left=left)

    async def _archive_batch(
        self, records: Sequence[ConsumerRecord], progress: dict[TopicPartition, int]
    ) -> None:
        """Archive the records (insert only) and store the progress, in one transaction."""
        messages, rejected = decode_records(records, self._source.dead_letter_topic, SERVICE)
        if rejected:
            await dead_letter(self._kafka.producer, rejected, SERVICE)
        decoded = dedup([m.observed for m in messages if m.observed])
        observations = self._archive.admit(decoded, self._clock())
        await self._archive.ensure(observations)
        async with unit_of_work(self._sessions) as session:
            fresh = await archive_repo.insert(session, observations)
            await arrivals_repo.upsert(session, tally(fresh))  # data health
            await archive_fill_repo.advance(session, self._source.group_id, progress)
        self.read += len(records)
        self.archived += len(fresh)
        FILL_EVENTS.inc(len(fresh))
