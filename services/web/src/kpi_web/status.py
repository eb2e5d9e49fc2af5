"""How a status is shown: a word, a shape and a colour, never the colour alone.

The shapes are SVG path data on a 16x16 box centred at (0, 0) (drawn with a `translate`),
so the map, the scorecard and the charts draw the same mark for the same status.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Look:
    status: str
    label: str
    symbol: str  # the text mark beside the word, for tables
    path: str  # the SVG shape


STAR = "M0,-7 L2,-2 L7,-2 L3,1 L4.5,7 L0,3.5 L-4.5,7 L-3,1 L-7,-2 L-2,-2 Z"
DISC = "M-6,0 A6,6 0 1,0 6,0 A6,6 0 1,0 -6,0 Z"
TRIANGLE = "M0,-7 L7,6 L-7,6 Z"
CROSS = "M-6,-4 L-4,-6 L0,-2 L4,-6 L6,-4 L2,0 L6,4 L4,6 L0,2 L-4,6 L-6,4 L-2,0 Z"
DIAMOND = "M0,-7 L7,0 L0,7 L-7,0 Z"
RING = DISC + " M-3,0 A3,3 0 1,1 3,0 A3,3 0 1,1 -3,0 Z"  # drawn with fill-rule evenodd
LOOKS = {
    look.status: look
    for look in (
        Look("achieved", "Achieved", "★", STAR),
        Look("on_track", "On track", "●", DISC),
        Look("at_risk", "At risk", "▲", TRIANGLE),
        Look("off_track", "Off track", "✖", CROSS),
        Look("stale", "Stale data", "◆", DIAMOND),
        Look("no_data", "No data", "○", RING),
    )
}
UNKNOWN = Look("unknown", "Unknown", "?", RING)


def look(status: str | None) -> Look:
    """The look of `status` (any status a newer evaluator may add shows as its own word)."""
    if status is None:
        return LOOKS["no_data"]
    known = LOOKS.get(status)
    return known or Look(status, status.replace("_", " ").capitalize(), "?", UNKNOWN.path)


# worst first: a goal, objective or success factor is shown with the worst status among the
# KPIs under it (a presentation choice of the map; its score is the evaluator's)
SEVERITY = ("off_track", "at_risk", "stale", "no_data", "on_track", "achieved")


def worst(statuses: list[str]) -> str:
    """The most severe of `statuses` (no_data when empty; unknown ones rank as no_data)."""
    rank = {s: i for i, s in enumerate(SEVERITY)}
    known = [s if s in rank else "no_data" for s in statuses]
    return min(known, key=rank.__getitem__, default="no_data")
