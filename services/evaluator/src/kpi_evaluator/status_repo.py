"""SQL of KPI status per period, with the breach state kept beside it."""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kpi_common.definitions import BurnRateDef
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kpi_evaluator.breaches import BreachState
from kpi_evaluator.burn_rates import BurnState, Rule
from kpi_evaluator.restatements import Revision
from kpi_evaluator.strategy_repo import Executor

COLUMNS = (
    "tenant_id, kpi_id, period_key, period_start, period_end, actual, target, expected, "
    "forecast, status, score, evaluated_at, pending_since, recover_since, breach_id, "
    "breach_opened_at, breach_seq, burn"
)

# What reads select: an empty burn state (most rows) comes back as NULL, not decoded JSON.
_READ = COLUMNS.removesuffix("burn") + "nullif(burn, '{}'::jsonb)"


@dataclass(frozen=True)
class StatusRow:
    tenant_id: str
    kpi_id: str
    period_key: str
    period_start: datetime
    period_end: datetime
    actual: float | None
    target: float | None
    expected: float | None
    forecast: float | None
    status: str
    score: float | None
    evaluated_at: datetime
    breach: BreachState
    burn: Mapping[str, BurnState] = field(default_factory=dict)  # by rule key

    def as_params(self) -> dict[str, object]:
        b = self.breach
        return {
            "tenant_id": self.tenant_id,
            "kpi_id": self.kpi_id,
            "period_key": self.period_key,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "actual": self.actual,
            "target": self.target,
            "expected": self.expected,
            "forecast": self.forecast,
            "status": self.status,
            "score": self.score,
            "evaluated_at": self.evaluated_at,
            "pending_since": b.pending_since,
            "recover_since": b.recover_since,
            "breach_id": b.breach_id,
            "breach_opened_at": b.opened_at,
            "breach_seq": b.seq,
            "burn": json.dumps(burn_json(self.burn)) if self.burn else "{}",
        }


def burn_json(states: Mapping[str, BurnState]) -> dict[str, Any]:
    """Alert states as stored: the sequence number, and an open alert's id, time and rule."""
    out: dict[str, Any] = {}
    for key, s in states.items():
        rule = s.rule
        out[key] = {
            "seq": s.seq,
            "alert_id": s.alert_id,
            "fired_at": s.fired_at.isoformat() if s.fired_at else None,
            "rule": rule.spec.model_dump(mode="json") if rule else None,
            "route_id": rule.route_id if rule else None,
        }
    return out


def burn_states(raw: Any) -> dict[str, BurnState]:
    data = json.loads(raw) if isinstance(raw, str) else (raw or {})
    out = {}
    for key, s in data.items():
        spec = s.get("rule")
        rule = Rule(BurnRateDef.model_validate(spec), s.get("route_id")) if spec else None
        fired = datetime.fromisoformat(s["fired_at"]) if s.get("fired_at") else None
        out[key] = BurnState(s.get("alert_id"), fired, int(s["seq"]), rule)
    return out


def _row(r: Sequence[Any]) -> StatusRow:
    breach = BreachState(r[12], r[13], r[14], r[15], int(r[16]))
    return StatusRow(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        breach,
        burn_states(r[17]),
    )


async def load(
    conn: Executor, tenant_id: str, kpis: Iterable[str], period_keys: Iterable[str]
) -> dict[tuple[str, str], StatusRow]:
    found = await load_many(conn, [tenant_id], kpis, period_keys)
    return {(kpi, key): row for (_, kpi, key), row in found.items()}


async def load_many(
    conn: Executor, tenants: Iterable[str], kpis: Iterable[str], period_keys: Iterable[str]
) -> dict[tuple[str, str, str], StatusRow]:
    """The stored rows of those KPIs and periods of those tenants, by (tenant, KPI, period)."""
    rows = await conn.execute(
        text(f"""SELECT {_READ} FROM evaluator.kpi_status
                 WHERE tenant_id = ANY(CAST(:t AS text[])) AND kpi_id = ANY(CAST(:k AS text[]))
                   AND period_key = ANY(CAST(:p AS text[]))"""),
        {"t": sorted(set(tenants)), "k": sorted(set(kpis)), "p": sorted(set(period_keys))},
    )
    return {(r[0], r[1], r[2]): _row(tuple(r)) for r in rows}


# One statement for any number of rows (a tick writes every KPI's two periods): the columns
# as arrays, in the order of COLUMNS.
_TYPES = (
    "text", "text", "text", "timestamptz", "timestamptz", "float8", "float8", "float8",
    "float8", "text", "float8", "timestamptz", "timestamptz", "timestamptz", "text",
    "timestamptz", "int", "jsonb",
)  # fmt: skip
_NAMES = [c.strip() for c in COLUMNS.split(",")]
_ARRAYS = ", ".join(f"CAST(:{n} AS {t}[])" for n, t in zip(_NAMES, _TYPES, strict=True))
_SAVE = text(f"""
INSERT INTO evaluator.kpi_status ({COLUMNS})
SELECT * FROM unnest({_ARRAYS})
ON CONFLICT (tenant_id, kpi_id, period_key) DO UPDATE SET
  period_start = excluded.period_start, period_end = excluded.period_end,
  actual = excluded.actual, target = excluded.target, expected = excluded.expected,
  forecast = excluded.forecast, status = excluded.status, score = excluded.score,
  evaluated_at = excluded.evaluated_at, pending_since = excluded.pending_since,
  recover_since = excluded.recover_since, breach_id = excluded.breach_id,
  breach_opened_at = excluded.breach_opened_at, breach_seq = excluded.breach_seq,
  burn = excluded.burn
""")


async def save(session: AsyncSession, rows: Sequence[StatusRow]) -> None:
    """Upsert the rows (the last one wins where two name the same period)."""
    if not rows:
        return
    unique = {(r.tenant_id, r.kpi_id, r.period_key): r for r in rows}
    ordered = [unique[k] for k in sorted(unique)]  # one lock order for concurrent writers
    params = [r.as_params() for r in ordered]
    await session.execute(_SAVE, {n: [p[n] for p in params] for n in _NAMES})


async def bounds(conn: Executor, tenant_id: str) -> list[tuple[str, str, datetime, datetime]]:
    """(kpi, period key, start, end) of every stored row of the tenant."""
    rows = await conn.execute(
        text("""SELECT kpi_id, period_key, period_start, period_end FROM evaluator.kpi_status
                WHERE tenant_id = :t"""),
        {"t": tenant_id},
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def bounds_many(
    conn: Executor, tenants: Sequence[str]
) -> dict[str, list[tuple[str, str, datetime, datetime]]]:
    """`bounds` of several tenants in one query, by tenant."""
    rows = await conn.execute(
        text("""SELECT tenant_id, kpi_id, period_key, period_start, period_end
                FROM evaluator.kpi_status WHERE tenant_id = ANY(CAST(:t AS text[]))"""),
        {"t": sorted(set(tenants))},
    )
    out: dict[str, list[tuple[str, str, datetime, datetime]]] = {}
    for r in rows:
        out.setdefault(r[0], []).append((r[1], r[2], r[3], r[4]))
    return out


async def settled(
    conn: Executor, tenants: Sequence[str], period_keys: Iterable[str], now: datetime
) -> set[tuple[str, str, str]]:
    """(tenant, KPI, period) of those periods that are closed, were evaluated after they
    closed, and run no breach timer (`pending_since`, `recover_since`): time alone no longer
    changes them, only events, a recompute or a strategy change do."""
    rows = await conn.execute(
        text("""SELECT tenant_id, kpi_id, period_key FROM evaluator.kpi_status
                WHERE tenant_id = ANY(CAST(:t AS text[]))
                  AND period_key = ANY(CAST(:p AS text[]))
                  AND period_end <= :now AND evaluated_at >= period_end
                  AND pending_since IS NULL AND recover_since IS NULL"""),
        {"t": sorted(set(tenants)), "p": sorted(set(period_keys)), "now": now},
    )
    return {(str(r[0]), str(r[1]), str(r[2])) for r in rows}


async def delete(session: AsyncSession, tenant_id: str, refs: Sequence[tuple[str, str]]) -> None:
    if refs:
        await session.execute(
            text("""DELETE FROM evaluator.kpi_status
                    WHERE tenant_id = :t AND (kpi_id, period_key) IN
                      (SELECT * FROM unnest(CAST(:k AS text[]), CAST(:p AS text[])))"""),
            {"t": tenant_id, "k": [r[0] for r in refs], "p": [r[1] for r in refs]},
        )


async def series_of(
    conn: Executor, tenant_id: str, kpi_ids: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[StatusRow]]:
    """Each KPI's rows of the periods overlapping `[start, end)`, by KPI, oldest first."""
    rows = await conn.execute(
        text(f"""SELECT {_READ} FROM evaluator.kpi_status
                 WHERE tenant_id = :t AND kpi_id = ANY(CAST(:k AS text[]))
                   AND period_start < :e AND period_end > :s
                 ORDER BY kpi_id, period_start"""),
        {"t": tenant_id, "k": sorted(set(kpi_ids)), "s": start, "e": end},
    )
    out: dict[str, list[StatusRow]] = {}
    for r in rows:
        row = _row(tuple(r))
        out.setdefault(row.kpi_id, []).append(row)
    return out


_REVISE = text("""
INSERT INTO evaluator.kpi_revisions
  (tenant_id, kpi_id, period_key, old_actual, new_actual, revised_at, reason, restatement_id)
VALUES (:tenant_id, :kpi_id, :period_key, :old_actual, :new_actual, :revised_at, :reason,
        :restatement_id)
""")


async def add_revisions(session: AsyncSession, revisions: Sequence[Revision]) -> None:
    if revisions:
        await session.execute(_REVISE, [vars(r) for r in revisions])


async def prune_revisions(session: AsyncSession, before: datetime) -> None:
    """Forget revisions made before `before` (the archive's horizon: a recompute could not
    restate those periods from the archive any more), so the table does not grow forever."""
    await session.execute(
        text("DELETE FROM evaluator.kpi_revisions WHERE revised_at < :b"), {"b": before}
    )


async def revisions_of(
    conn: Executor, tenant_id: str, kpi_ids: Sequence[str], period_keys: Iterable[str]
) -> dict[tuple[str, str], list[Revision]]:
    """The revisions of those KPIs' periods, by (KPI, period key), oldest first."""
    rows = await conn.execute(
        text("""SELECT tenant_id, kpi_id, period_key, old_actual, new_actual, revised_at,
                       reason, restatement_id
                FROM evaluator.kpi_revisions
                WHERE tenant_id = :t AND kpi_id = ANY(CAST(:k AS text[]))
                  AND period_key = ANY(CAST(:p AS text[]))
                ORDER BY id"""),
        {"t": tenant_id, "k": sorted(set(kpi_ids)), "p": sorted(set(period_keys))},
    )
    out: dict[tuple[str, str], list[Revision]] = {}
    for r in rows:
        out.setdefault((r[1], r[2]), []).append(Revision(*r))
    return out
