"""The bench tenant's `goals.changes` records as the evaluator of an older commit reads them.

Row (i) runs the evaluator of 53fc5be beside today's, fed copies of the same records. That
commit's contract forbids fields added since (a route's `mode`, `burn_rates`, `group_wait`;
a KPI's `burn_rates`) and knows no `alert_inhibit` node, so it would set the bench's KPI
aside. A field still at its default says nothing the older code lacks: it is dropped, and
the implicit inhibit rule is left out. A field set to anything else is kept (and the older
evaluator refuses that node, as it would)."""

import json

ADDED_SINCE: dict[str, object] = {"burn_rates": [], "mode": "live", "group_wait": None}
NEW_NODE_TYPES = frozenset({"alert_inhibit"})


def downgraded(value: bytes) -> bytes | None:
    """The record without what the older contract lacks; None to leave it out."""
    envelope = json.loads(value)
    data = envelope.get("data") or {}
    if data.get("node_type") in NEW_NODE_TYPES:
        return None
    definition = data.get("definition")
    if isinstance(definition, dict):
        for name, default in ADDED_SINCE.items():
            if name in definition and definition[name] == default:
                del definition[name]
    return json.dumps(envelope).encode()
