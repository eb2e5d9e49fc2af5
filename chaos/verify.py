"""The checks, each against an outside view: the evaluator's read API for the actuals, the
`kpi.breaches` topic for the transitions, the SMTP sink and the notifier's delivery log for
the notifications."""

import itertools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kpi_common.calendar import FiscalCalendar
from kpi_common.events import Envelope

from chaos.load import Event, Intake, Round
from chaos.tenant import BREACH_KPI, RECIPIENTS, YEAR, Definition, Tenant

Key = tuple[str, str]  # (kpi, period)
OPENED, RESOLVED = "kpi.breach.opened", "kpi.breach.resolved"
_CALENDAR = FiscalCalendar()  # the tenant's: fiscal year from 01-01, UTC


def expected_actuals(events: list[Event], steady: dict[str, Definition]) -> dict[Key, float]:
    """What the steady KPIs of the final strategy must show, from the events alone."""
    out: dict[Key, float] = defaultdict(float)
    for kpi_id, (measure, period) in steady.items():
        where = measure.get("where", {})
        for e in events:
            if e["metric"] != measure["metric"] or any(
                e["dimensions"].get(k) != v for k, v in where.items()
            ):
                continue
            key = _CALENDAR.bucket(period, datetime.fromisoformat(e["time"])).key
            out[(kpi_id, key)] += 1 if measure["aggregation"] == "count" else e["value"]
    return dict(out)


async def stored_actuals(tenant: Tenant, kpi_ids: list[str]) -> dict[Key, float]:
    out: dict[Key, float] = {}
    span = {"from": f"{YEAR}-01-01T00:00:00Z", "to": f"{YEAR + 1}-01-01T00:00:00Z"}
    for kpi in kpi_ids:
        series = await tenant.get("evaluator", f"/v1/kpis/{kpi}/series", **span)
        out |= {(kpi, p["period"]): p["actual"] for p in series["points"] if p["actual"]}
    return out


@dataclass
class Events:
    sent: int
    acknowledged: int
    unacknowledged: int
    counted: int = 0
    lost: int = 0
    double: int = 0
    mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.double == 0 and not self.mismatched


def check_events(
    intake: Intake, generated: int, stored: dict[Key, float], steady: dict[str, Definition]
) -> Events:
    """Every acknowledged event counted once, in every steady KPI of the final strategy; an
    unacknowledged one at most once."""
    acked = expected_actuals(intake.acked, steady)
    maybe = expected_actuals(intake.unacked, steady)
    ids = {e["id"] for e in intake.acked if e["metric"] == "chaos.amount"}
    out = Events(generated, len(ids), len(intake.unacked))
    for key in sorted(acked.keys() | maybe.keys() | stored.keys()):
        low, got = acked.get(key, 0.0), stored.get(key, 0.0)
        high = low + maybe.get(key, 0.0)
        if key[0] == "chaos-count":
            out.counted += int(got)
            out.lost += int(max(0.0, low - got))
            out.double += int(max(0.0, got - high))
        if not low <= got <= high:
            out.mismatched.append(f"{key[0]} {key[1]}: {got} stored, {low}..{high} expected")
    return out


@dataclass
class Breaches:
    expected: int
    seen: int
    lost: list[str]
    unexpected: list[str]
    republished: int
    ids: dict[str, str]  # period -> breach_id, as published

    @property
    def ok(self) -> bool:
        return not self.lost and not self.unexpected


def check_breaches(rounds: list[Round], published: list[Envelope]) -> Breaches:
    """Each round's opening and resolution on kpi.breaches, and nothing else."""
    want = {(r.period, OPENED) for r in rounds if r.opened}
    want |= {(r.period, RESOLVED) for r in rounds if r.resolved}
    transitions = [e for e in published if e.type in (OPENED, RESOLVED)]
    by_id = {e.id: e for e in transitions}
    seen = {(e.data["period"], e.type) for e in by_id.values() if e.data["kpi_id"] == BREACH_KPI}
    strays = [e for e in by_id.values() if e.data["kpi_id"] != BREACH_KPI]
    return Breaches(
        expected=len(want),
        seen=len(seen & want),
        lost=[f"{p} {t}" for p, t in sorted(want - seen)],
        unexpected=[f"{p} {t}" for p, t in sorted(seen - want)]
        + [f"{e.data['kpi_id']} {e.data['period']} {e.type}" for e in strays],
        republished=len(transitions) - len(by_id),
        ids={e.data["period"]: e.data["breach_id"] for e in by_id.values()},
    )


def expected_keys(breaches: Breaches, rounds: list[Round]) -> set[str]:
    """The dedup key of every notification the transitions call for."""
    keys = set()
    for r in rounds:
        bid = breaches.ids.get(r.period)
        kinds = ["opened"] * r.opened + ["resolved"] * r.resolved
        keys |= {f"{bid}:{k}:email:{who}" for k in kinds for who in RECIPIENTS if bid}
    return keys


@dataclass
class Notices:
    expected: int
    messages: int
    distinct: int
    missing: list[str]
    not_sent: list[str]
    duplicates: int
    explained: int

    @property
    def ok(self) -> bool:
        return not self.missing and not self.not_sent and self.duplicates == self.explained


_NOTICE = re.compile(r"^Breach: (\S+)\s*$", re.MULTILINE)
_IN_DIGEST = re.compile(r"^\s*Breach (\S+): kpi ack", re.MULTILINE)  # several openings at once
_PERSON = {mail: pid for pid, mail in RECIPIENTS.items()}


def mail_keys(messages: list[dict[str, Any]]) -> Counter[str]:
    """Each breach email as the dedup keys it was sent for, counted (a digest carries the
    openings that were due for one person at the same time)."""
    keys: Counter[str] = Counter()
    for m in messages:
        kind = "resolved" if m["subject"].startswith("Resolved:") else "opened"
        for breach_id in _NOTICE.findall(m["text"]) + _IN_DIGEST.findall(m["text"]):
            for rcpt in m["to"]:
                keys[f"{breach_id}:{kind}:email:{_PERSON.get(rcpt, rcpt)}"] += 1
    return keys


def send_times(messages: list[dict[str, Any]]) -> dict[str, list[float]]:
    """When each dedup key was received by the sink, once per message that carried it."""
    out: dict[str, list[float]] = defaultdict(list)
    for m in messages:
        for key, n in mail_keys([m]).items():
            out[key] += [m["received_at"]] * n
    return dict(out)


def explained_repeats(
    times: list[float], redelivered: int, interrupts: list[tuple[float, float]]
) -> int:
    """The repeats of one key that a fault between sending and recording accounts for: the
    row counts a redelivery, and a notifier was down (or PostgreSQL) at some time between one
    send and the next (the sink may file the first send just after the kill began). A repeat
    with no such fault between (two live senders sending the same row) is not explained,
    whatever the row says."""
    gaps = itertools.pairwise(sorted(times))
    interrupted = sum(
        1 for a, b in gaps if any(a <= end and start <= b for start, end in interrupts)
    )
    return min(interrupted, redelivered)


def check_notices(
    want: set[str],
    messages: list[dict[str, Any]],
    log: list[dict[str, Any]],
    interrupts: list[tuple[float, float]],
) -> Notices:
    """One email per transition and recipient; a repeat only where the log counts one and a
    fault came between the sends (a kill between sending and recording)."""
    mails, times = mail_keys(messages), send_times(messages)
    rows = {r["dedup_key"]: r for r in log}
    duplicates = {k: n - 1 for k, n in mails.items() if n > 1}
    explained = sum(
        explained_repeats(times[k], _redelivered(rows.get(k)), interrupts) for k in duplicates
    )
    return Notices(
        expected=len(want),
        messages=sum(mails.values()),
        distinct=len(mails),
        missing=sorted(want - set(mails)),
        not_sent=sorted(k for k in want if rows.get(k, {}).get("status") != "sent"),
        duplicates=sum(duplicates.values()),
        explained=explained,
    )


def _redelivered(row: dict[str, Any] | None) -> int:
    return int(row.get("redelivered") or 0) if row else 0
