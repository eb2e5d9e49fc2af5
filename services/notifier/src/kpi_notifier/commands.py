"""What the API's write and read endpoints do, each in one unit of work."""

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from kpi_common.db import unit_of_work
from kpi_common.errors import Conflict, FieldError, Invalid, NotFound
from kpi_common.logging import get_logger
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_notifier.auth import Principal
from kpi_notifier.deliveries import Deliveries, resend_refusal
from kpi_notifier.directory import Directory, as_list, parse_match
from kpi_notifier.handlers import record
from kpi_notifier.planning import Planned
from kpi_notifier.repository import Repository
from kpi_notifier.reviews import (
    OVERDUE_RULE,
    Standing,
    due_date,
    overdue_finding,
    review_status,
    standing,
)
from kpi_notifier.routing import resolve_names, unknown_names
from kpi_notifier.scorecard_store import ScorecardStore

DELIVERY_FIELDS = (
    "id", "dedup_key", "kind", "channel", "channel_kind", "recipient", "breach_id", "status",
    "attempts", "last_error", "redelivered", "suppressed_by", "next_attempt_at", "created_at",
    "sent_at", "resent_at", "resent_by", "resends",
)  # fmt: skip
log = get_logger(__name__)
SILENCE_FIELDS = ("id", "matchers", "starts_at", "ends_at", "comment", "created_by")


def as_dict(row: Row[Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: getattr(row, f) for f in fields}


def _check_known(directory: Directory, matchers: dict[str, Any]) -> None:
    unknown = unknown_names(directory, parse_match(matchers))
    if unknown:
        errors = [FieldError(f"matchers.{m}", f"no {m} {i!r} in the strategy") for m, i in unknown]
        raise Invalid("the silence names what the strategy does not have", errors)


class Commands:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        planned: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._planned = planned

    async def notifications(self, who: Principal, **filters: Any) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = await Deliveries(session).listing(who.tenant_id, **filters)
        return [as_dict(r, DELIVERY_FIELDS) for r in rows]

    async def resend(self, who: Principal, delivery_id: int) -> dict[str, Any]:
        """Send a dead notification again (same dedup key, fresh attempts); who and when
        are recorded. Asking again before or after it went out changes nothing."""
        who.require_write()
        async with unit_of_work(self._sessions) as session:
            deliveries = Deliveries(session)
            row = await deliveries.locked(who.tenant_id, delivery_id)
            if row is None:
                raise NotFound(f"notification {delivery_id}")
            await self._require_breach_unit(who, session, row.breach_id)
            refusal = resend_refusal(row.status, row.resent_at is not None)
            if refusal is not None:
                raise Conflict(refusal)
            if row.status == "dead":
                await deliveries.requeue(delivery_id, self._clock(), who.key_id)
                log.info("notification resend", delivery_id=delivery_id, by=who.key_id)
            row = await deliveries.locked(who.tenant_id, delivery_id)
            assert row is not None
        self._planned()
        return as_dict(row, DELIVERY_FIELDS)

    async def _require_breach_unit(
        self, who: Principal, session: AsyncSession, breach_id: str | None
    ) -> None:
        repo = Repository(session)
        breach = await repo.breach(who.tenant_id, breach_id) if breach_id else None
        if breach is not None:
            who.require_unit(await repo.directory(who.tenant_id), breach.unit_id)

    async def breach(self, who: Principal, breach_id: str) -> dict[str, Any]:
        found = await self.breaches(who, [breach_id])
        if not found:
            raise NotFound(f"breach {breach_id}")
        return found[0]

    async def breaches(self, who: Principal, breach_ids: list[str]) -> list[dict[str, Any]]:
        """The breaches asked that the notifier knows, in the order asked (each once)."""
        asked = list(dict.fromkeys(breach_ids))
        async with self._sessions() as session:
            found = {
                b.breach_id: b for b in await Repository(session).breaches_of(who.tenant_id, asked)
            }
        return [
            {**dict(b.facts), "acked_at": b.acked_at, "resolved_at": b.resolved_at}
            for b in (found[i] for i in asked if i in found)
        ]

    async def ack(self, who: Principal, breach_id: str) -> dict[str, Any]:
        """Acknowledge a breach: no more reminders or escalation. Acking twice keeps the first."""
        who.require_write()
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            repo = Repository(session)
            breach = await repo.breach(who.tenant_id, breach_id)
            if breach is None:
                raise NotFound(f"breach {breach_id}")
            who.require_unit(await repo.directory(who.tenant_id), breach.unit_id)
            if breach.acked_at is None:
                await repo.update_breach(
                    who.tenant_id, breach_id, acked_at=now, acked_by=who.key_id
                )
                return {"breach_id": breach_id, "acked_at": now, "acked_by": who.key_id}
        return {"breach_id": breach_id, "acked_at": breach.acked_at, "acked_by": None}

    async def add_silence(self, who: Principal, silence: dict[str, Any]) -> dict[str, Any]:
        who.require_write()
        now = self._clock()
        if silence["ends_at"] <= now:
            raise Invalid(
                "a silence must end in the future", [FieldError("ends_at", "in the past")]
            )
        row = {"id": f"sil-{uuid.uuid4().hex[:12]}", "starts_at": now, "created_by": who.key_id}
        row |= silence
        async with unit_of_work(self._sessions) as session:
            repo = Repository(session)
            directory = await repo.directory(who.tenant_id)
            _check_known(directory, silence["matchers"])
            who.require_units(directory, as_list(silence["matchers"].get("unit")))
            await repo.add_silence(who.tenant_id, row)
        return row

    async def silences(self, who: Principal) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = await Repository(session).silences(who.tenant_id)
        return [as_dict(r, SILENCE_FIELDS) for r in rows]

    async def delete_silence(self, who: Principal, silence_id: str) -> None:
        who.require_write()
        async with unit_of_work(self._sessions) as session:
            repo = Repository(session)
            found = [s for s in await repo.silences(who.tenant_id) if s.id == silence_id]
            if not found:
                raise NotFound(f"silence {silence_id}")
            units = as_list(found[0].matchers.get("unit"))
            who.require_units(await repo.directory(who.tenant_id), units)
            await repo.delete_silence(who.tenant_id, silence_id)

    async def test_notification(self, who: Principal, to: str, note: str | None) -> dict[str, Any]:
        """Queue a test message to a person (by email) or a named channel."""
        who.require_write()
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            directory = await Repository(session).directory(who.tenant_id)
            found, _ = resolve_names(directory, [to], owner=None)
            if not found:
                raise Invalid(
                    "unknown recipient", [FieldError("to", f"no person or channel {to!r}")]
                )
            r = found[0]
            key = f"test:{uuid.uuid4().hex[:12]}:{r.kind}:{r.to}"
            planned = Planned(key, "test", r, {"kind": "test", "note": note})
            await record(session, who.tenant_id, [planned], now)
        self._planned()
        return {"dedup_key": key, "channel": r.channel, "recipient": r.to, "status": "pending"}

    async def reviews(self, who: Principal) -> list[dict[str, Any]]:
        """Each review cycle as the notifier sees it: due date past the held ones, overdue."""
        return [review_status(s) for s in await self._standings(who)]

    async def findings(self, who: Principal) -> dict[str, Any]:
        """The notifier's alignment findings: the overdue reviews (the one home of that rule)."""
        found = [f for s in await self._standings(who) if (f := overdue_finding(s))]
        counts = {"error": 0, "warning": len(found), "info": 0}
        return {"findings": found, "counts": counts, "rules": [OVERDUE_RULE]}

    async def _standings(self, who: Principal) -> list[Standing]:
        async with self._sessions() as session:
            repo = Repository(session)
            directory = await repo.directory(who.tenant_id)
            held = await repo.held_reviews(who.tenant_id)
        now, tz = self._clock(), directory.timezone
        return [
            standing(r, held.get(r.id, set()), now, tz)
            for r in sorted(directory.reviews.values(), key=lambda r: r.id)
        ]

    async def review_held(self, who: Principal, review_id: str, due: date | None) -> dict[str, Any]:
        """Record a review as held (by default the one due now): no overdue notice follows."""
        who.require_write()
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            repo = Repository(session)
            directory = await repo.directory(who.tenant_id)
            review = directory.reviews.get(review_id)
            if review is None:
                raise NotFound(f"review {review_id}")
            who.require_units(directory, as_list(review.unit))
            held = (await repo.held_reviews(who.tenant_id)).get(review_id, set())
            day = due or due_date(review, held)
            await repo.mark_review_held(who.tenant_id, review_id, day, now, who.key_id)
            upcoming = due_date(review, held | {day})
        return {"review_id": review_id, "held": day, "next_due": upcoming}

    async def subscribe_scorecard(self, who: Principal, unit_id: str) -> dict[str, Any]:
        """Opt a unit's owner in to the weekly scorecard digest."""
        who.require_write()
        async with unit_of_work(self._sessions) as session:
            directory = await Repository(session).directory(who.tenant_id)
            if unit_id not in directory.units:
                raise Invalid("unknown unit", [FieldError("unit", f"no unit {unit_id!r}")])
            who.require_unit(directory, unit_id)
            await ScorecardStore(session).subscribe(
                who.tenant_id, unit_id, self._clock(), who.key_id
            )
        return {"unit": unit_id, "owner": directory.unit_owner(unit_id)}

    async def scorecard_subscriptions(self, who: Principal) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            pairs = await ScorecardStore(session).subscriptions(who.tenant_id)
        return [{"unit": unit} for _, unit in pairs]

    async def unsubscribe_scorecard(self, who: Principal, unit_id: str) -> None:
        who.require_write()
        async with unit_of_work(self._sessions) as session:
            store = ScorecardStore(session)
            if unit_id not in [unit for _, unit in await store.subscriptions(who.tenant_id)]:
                raise NotFound(f"scorecard digest of unit {unit_id}")
            who.require_unit(await Repository(session).directory(who.tenant_id), unit_id)
            await store.unsubscribe(who.tenant_id, unit_id)
