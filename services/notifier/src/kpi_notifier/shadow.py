"""Shadow mode, as plain rules: try a route or a rule on the live stream without paging
anyone (docs/notifier.md, "Shadow mode").

- A route with `mode: shadow` never decides who is paged (`routing.choose_route` skips it);
  every shadow route whose `match` holds plans what it would send, for the same transitions
  as a live route (opened, reminders, resolved), under dedup keys of its own
  (`shadow:route<position>:<live key>`).
- A transition that says `mode: "shadow"` (a rule declared with `mode: shadow`) plans as
  usual, but each of its planned deliveries is a shadow one.
- Whatever the cause, a planned delivery whose `mode` is shadow goes to the shadow log
  (`ShadowLog`) instead of the delivery log: nothing is sent, nothing is retried.
"""

from collections.abc import Mapping
from typing import Any, Literal

from kpi_notifier.directory import Directory, Route
from kpi_notifier.routing import Breach, Recipient, breach_owner, matches, resolve_names

Mode = Literal["live", "shadow"]
MODES: tuple[Mode, ...] = ("live", "shadow")


def transition_mode(facts: Mapping[str, Any]) -> Mode:
    """A transition's own `mode` (absent: live)."""
    return "shadow" if facts.get("mode") == "shadow" else "live"


def shadow_routes(directory: Directory, breach: Breach) -> list[Route]:
    """Every shadow route, in document order, whose match holds."""
    return [
        r for r in directory.routes if r.mode == "shadow" and matches(directory, r.match, breach)
    ]


def shadow_recipients(directory: Directory, route: Route, breach: Breach) -> list[Recipient]:
    """Who the shadow route would tell (an unknown name is kept, as a live route keeps it)."""
    found, unknown = resolve_names(directory, route.notify, breach_owner(directory, breach))
    return found + [Recipient(kind="email", to=name) for name in unknown]


def shadow_key(position: int, key: str) -> str:
    return f"shadow:route{position}:{key}"


def reason(route: int | None) -> str:
    """Why a delivery is a shadow one: its `route` is a shadow route, or its `transition`
    said so."""
    return "transition" if route is None else "route"
