"""KPI health for Prometheus, read from the database at scrape time (bounded labels:
status and perspective; never tenant or KPI ids)."""

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kpi_evaluator.metrics import BREACHES, KPIS, SCORE

STATUSES = ("achieved", "on_track", "at_risk", "off_track", "no_data", "stale")

_CURRENT = text("""
SELECT s.status, coalesce(n.definition->>'perspective', 'none') AS perspective,
       count(*) AS kpis, avg(s.score) AS score
FROM evaluator.kpi_status s
JOIN evaluator.nodes n ON n.tenant_id = s.tenant_id AND n.node_type = 'kpi'
     AND n.node_id = s.kpi_id AND NOT n.deleted
WHERE s.period_start <= :now AND :now < s.period_end
GROUP BY 1, 2
""")
_OPEN = text("SELECT count(*) FROM evaluator.kpi_status WHERE breach_id IS NOT NULL")


async def refresh(engine: AsyncEngine, now: datetime) -> None:
    async with engine.connect() as conn:
        rows = (await conn.execute(_CURRENT, {"now": now})).all()
        open_breaches = (await conn.execute(_OPEN)).scalar_one()
    by_status = dict.fromkeys(STATUSES, 0)
    scores: dict[str, list[tuple[int, float]]] = {}
    for status, perspective, n, score in rows:
        by_status[status] = by_status.get(status, 0) + n
        if score is not None:
            scores.setdefault(perspective, []).append((n, float(score)))
    for status, n in by_status.items():
        KPIS.labels(status).set(n)
    for perspective, pairs in scores.items():
        total = sum(n for n, _ in pairs)
        SCORE.labels(perspective).set(sum(n * s for n, s in pairs) / total)
    BREACHES.set(open_breaches)
