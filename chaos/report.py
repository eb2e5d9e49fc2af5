"""The final table of a run: each fault's recovery, then the counts that decide the verdict."""

from collections import Counter
from dataclasses import dataclass, field

from chaos.changes import Recomputes
from chaos.faults import Outcome
from chaos.verify import Breaches, Events, Notices


@dataclass
class Report:
    outcomes: list[Outcome]
    events: Events
    answers: Counter[str]
    resends: int
    resend_accepted: int
    breaches: Breaches
    notices: Notices
    wall_s: float = 0.0
    changes: list[int] = field(default_factory=list)  # strategy versions applied under load
    recomputes: Recomputes = field(default_factory=lambda: Recomputes(0, 0, False))

    @property
    def recomputed(self) -> bool:
        """The evaluator serves the final strategy and finished every recompute job."""
        return self.recomputes.strategy_seen and self.recomputes.unfinished == 0

    @property
    def ok(self) -> bool:
        clean = self.resend_accepted == 0 and self.recomputed
        return clean and self.events.ok and self.breaches.ok and self.notices.ok


def _name(o: Outcome) -> str:
    return f"{o.fault} ({o.detail})" if o.detail else str(o.fault)


def progress(n: int, total: int, o: Outcome) -> str:
    return (
        f"[{n}/{total}] {_name(o)}: down {o.down_s:.1f}s, ready after {o.ready_s:.1f}s, "
        f"ingest accepting after {o.ingest_s:.1f}s, evaluator lag 0 after {o.caught_up_s:.1f}s, "
        f"longest time without an ack {o.gap_s:.1f}s"
    )


def render(r: Report) -> str:
    head = (
        f"{'fault':36} {'down':>6} {'ready':>7} {'ingest':>7} {'lag 0':>7} {'recovery':>9} "
        f"{'gap':>6}"
    )
    lines = [head, "-" * len(head)]
    for o in r.outcomes:
        lines.append(
            f"{_name(o):36} {o.down_s:5.1f}s {o.ready_s:6.1f}s {o.ingest_s:6.1f}s "
            f"{o.caught_up_s:6.1f}s {o.recovery_s:8.1f}s {o.gap_s:5.1f}s"
        )
    return "\n".join([*lines, "", *_totals(r), "", f"verdict: {_verdict(r)}"])


def _totals(r: Report) -> list[str]:
    e, b, n, c = r.events, r.breaches, r.notices, r.recomputes
    answers = ", ".join(f"{code} x{count}" for code, count in sorted(r.answers.items()))
    return [
        f"events: sent {e.sent}, acknowledged {e.acknowledged}, unacknowledged "
        f"{e.unacknowledged}, counted {e.counted}; lost {e.lost}, double-counted {e.double}",
        f"ingest answers: {answers}; acknowledged batches sent again {r.resends} "
        f"(ids taken again: {r.resend_accepted})",
        f"breach transitions: expected {b.expected}, seen on kpi.breaches {b.seen}, "
        f"lost {len(b.lost)}, unexpected {len(b.unexpected)}, published twice {b.republished}",
        f"notifications: expected {n.expected}, sent {n.messages}, distinct dedup keys "
        f"{n.distinct}, missing {len(n.missing)}, not logged as sent {len(n.not_sent)}, "
        f"duplicates {n.duplicates} ({n.explained} from a kill between send and record)",
        f"strategy changes applied under load {len(r.changes)} (final version "
        f"{r.changes[-1] if r.changes else 0}, actuals checked under it); recompute jobs "
        f"{c.jobs}, unfinished {c.unfinished}; evaluator serves the final version: "
        f"{'yes' if c.strategy_seen else 'no'}",
        f"wall time: {r.wall_s:.0f}s",
    ]


def _verdict(r: Report) -> str:
    if r.ok:
        return "PASS"
    problems = [*r.events.mismatched[:10], *r.breaches.lost, *r.breaches.unexpected]
    problems += [f"missing {k}" for k in r.notices.missing]
    problems += [f"not sent {k}" for k in r.notices.not_sent]
    if r.notices.duplicates != r.notices.explained:
        problems.append("a notification was sent twice without a kill between send and record")
    if not r.recomputed:
        problems.append("the evaluator did not reach the final strategy with every job done")
    if r.resend_accepted:
        problems.append(f"ingest took {r.resend_accepted} acknowledged ids again")
    return "FAIL\n  " + "\n  ".join(problems)
