"""SQL for the delivery log: planned rows in, due rows claimed for sending, outcomes recorded.

A row is written (`pending`, or `suppressed` under a silence) in the same transaction as
whatever caused it; the dedup key is unique per tenant, so a repeat plans nothing. The
sender claims due rows (`sending`, with a lease) in a transaction of its own, sends, and
records the outcome in another. A row still `sending` after its lease expired belongs to a
sender that died mid-send: it is claimed again and counted in `redelivered`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Row, and_, case, func, literal_column, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_notifier.models import deliveries as t
from kpi_notifier.planning import Planned


def _row(tenant_id: str, p: Planned, now: datetime, due_at: datetime) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "dedup_key": p.dedup_key,
        "kind": p.kind,
        "channel_kind": p.recipient.kind,
        "channel": p.recipient.channel,
        "recipient": p.recipient.to,
        "breach_id": p.breach_id,
        "context": p.context,
        "status": "suppressed" if p.suppressed_by else "pending",
        "suppressed_by": p.suppressed_by,
        "next_attempt_at": due_at,
        "created_at": now,
    }


@dataclass(frozen=True)
class Claimed:
    """A row taken for sending: `attempt` counts this one; `stale` when a sender that held
    it died mid-send, so the recipient may already have it (counted, then sent again)."""

    row: Row[Any]
    attempt: int
    stale: bool


def digestible(row: Row[Any]) -> bool:
    """Breach notices to a person by email may be merged into one digest."""
    return bool(row.channel == "email" and row.kind == "breach")


def digest_groups(claimed: list[Claimed], digests: bool) -> list[list[Claimed]]:
    """Claimed rows in sending order, digestible ones grouped per (tenant, person) when
    digests are on (`KPI_NOTIFIER_DIGEST_WINDOW_S` > 0). Off, every row goes alone, also
    breach emails that happen to be due in the same pass."""
    groups: dict[tuple[str, str], list[Claimed]] = {}
    out: list[list[Claimed]] = []
    for item in claimed:
        if not (digests and digestible(item.row)):
            out.append([item])
            continue
        key = (item.row.tenant_id, item.row.recipient)
        if key not in groups:
            groups[key] = []
            out.append(groups[key])
        groups[key].append(item)
    return out


RESENDABLE = "dead"
IN_FLIGHT = ("pending", "sending")


def resend_refusal(status: str, resent: bool) -> str | None:
    """Why a notification cannot be resent, or None. Only a dead one is requeued; asking
    again while its resend is pending, sending or sent changes nothing (idempotent)."""
    if status == RESENDABLE or (resent and status in (*IN_FLIGHT, "sent")):
        return None
    return f"only a dead notification can be resent; this one is {status}"


class Deliveries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        tenant_id: str,
        planned: Sequence[Planned],
        now: datetime,
        due_at: datetime | None = None,
    ) -> int:
        """Record planned deliveries; keys already recorded are left alone. Returns how many
        rows are new."""
        if not planned:
            return 0
        rows = [_row(tenant_id, p, now, due_at or now) for p in planned]
        stmt = (
            insert(t)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[t.c.tenant_id, t.c.dedup_key])
        )
        result = await self.session.execute(stmt.returning(t.c.id))
        return len(result.all())

    async def gather(
        self, tenant_id: str, planned: Sequence[Planned], now: datetime, due_at: datetime
    ) -> int:
        """Record restatement notices: a key already recorded and still pending gains the
        restated breaches of `planned` (keyed, so a repeat adds nothing); one already sent
        is left alone. Returns how many rows are new."""
        added = 0
        for p in planned:
            stmt = insert(t).values(_row(tenant_id, p, now, due_at))
            both = t.c.context["restated"].op("||")(stmt.excluded.context["restated"])
            merged = t.c.context.op("||")(
                func.jsonb_build_object(literal_column("'restated'"), both)
            )
            upsert = stmt.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.dedup_key],
                set_={"context": merged},
                where=t.c.status == "pending",
            )
            inserted = literal_column("(xmax = 0)", Boolean)  # a new row, not an update
            result = await self.session.execute(upsert.returning(inserted))
            added += sum(1 for (new,) in result.all() if new)
        return added

    async def claim(
        self, now: datetime, lease_until: datetime, limit: int, digests: bool
    ) -> list[Claimed]:
        """Take due rows (and rows whose sender died mid-send) for sending, oldest first;
        with digests on, also the breach emails still waiting for the same people."""
        due = or_(
            and_(t.c.status == "pending", t.c.next_attempt_at <= now),
            and_(t.c.status == "sending", t.c.lease_until < now),
        )
        query = select(t).where(due).order_by(t.c.id).limit(limit)
        rows = list((await self.session.execute(query.with_for_update(skip_locked=True))).all())
        if not rows:
            return []
        if digests:
            rows += await self._digest_companions(rows)
        stale = [r.id for r in rows if r.status == "sending"]
        await self.session.execute(
            update(t)
            .where(t.c.id.in_([r.id for r in rows]))
            .values(
                status="sending",
                lease_until=lease_until,
                attempts=t.c.attempts + 1,
                redelivered=t.c.redelivered + case((t.c.id.in_(stale), 1), else_=0),
            )
        )
        return [Claimed(r, r.attempts + 1, r.status == "sending") for r in rows]

    async def _digest_companions(self, rows: list[Row[Any]]) -> list[Row[Any]]:
        """Breach emails still waiting out the digest window for the same people as the due
        ones: they go out together, as one digest per person."""
        people = {(r.tenant_id, r.recipient) for r in rows if digestible(r)}
        if not people:
            return []
        query = select(t).where(
            t.c.status == "pending",
            t.c.channel == "email",
            t.c.kind == "breach",
            tuple_(t.c.tenant_id, t.c.recipient).in_(people),
            t.c.id.not_in([r.id for r in rows]),
        )
        return list((await self.session.execute(query.with_for_update(skip_locked=True))).all())

    async def next_due(self) -> datetime | None:
        """When the earliest pending row falls due (None: nothing pending)."""
        query = select(func.min(t.c.next_attempt_at)).where(t.c.status == "pending")
        due: datetime | None = (await self.session.execute(query)).scalar()
        return due

    async def mark_sent(self, row_id: int, now: datetime) -> None:
        await self._set(row_id, status="sent", sent_at=now, lease_until=None, last_error=None)

    async def mark_retry(
        self, row_id: int, error: str, next_at: datetime, *, count_attempt: bool = True
    ) -> None:
        values: dict[str, Any] = {
            "status": "pending",
            "last_error": error,
            "next_attempt_at": next_at,
        }
        if not count_attempt:
            values["attempts"] = t.c.attempts - 1
        await self._set(row_id, lease_until=None, **values)

    async def release(self, row_ids: list[int], lease_until: datetime) -> None:
        """Hand back claimed rows that were not sent (their claim's lease was half spent):
        `pending` again, the claim's attempt undone; a row claimed since by another sender
        (its lease differs) is left alone."""
        await self.session.execute(
            update(t)
            .where(t.c.id.in_(row_ids), t.c.status == "sending", t.c.lease_until == lease_until)
            .values(status="pending", lease_until=None, attempts=t.c.attempts - 1)
        )

    async def mark_held_back(self, row_id: int, status: str, reason: str) -> None:
        """Not sent after all (`cancelled` or `suppressed`); the claim's attempt is undone."""
        suppressed_by = reason if status == "suppressed" else None
        last_error = None if status == "suppressed" else reason
        await self._set(
            row_id,
            status=status,
            suppressed_by=suppressed_by,
            last_error=last_error,
            lease_until=None,
            attempts=t.c.attempts - 1,
        )

    async def mark_dead(self, row_id: int, error: str) -> None:
        await self._set(row_id, status="dead", last_error=error, lease_until=None)

    async def locked(self, tenant_id: str, row_id: int) -> Row[Any] | None:
        query = select(t).where(t.c.tenant_id == tenant_id, t.c.id == row_id)
        return (await self.session.execute(query.with_for_update())).first()

    async def requeue(self, row_id: int, now: datetime, by: str) -> None:
        """A dead row due again now, with a fresh set of attempts; who asked is kept."""
        await self._set(
            row_id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            resent_at=now,
            resent_by=by,
            resends=t.c.resends + 1,
        )

    async def _set(self, row_id: int, **values: Any) -> None:
        await self.session.execute(update(t).where(t.c.id == row_id).values(**values))

    async def listing(
        self,
        tenant_id: str,
        *,
        status: str | None = None,
        breach_id: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> list[Row[Any]]:
        query = select(t).where(t.c.tenant_id == tenant_id)
        for column, value in ((t.c.status, status), (t.c.breach_id, breach_id), (t.c.kind, kind)):
            if value is not None:
                query = query.where(column == value)
        rows = await self.session.execute(query.order_by(t.c.id.desc()).limit(limit))
        return list(rows)
