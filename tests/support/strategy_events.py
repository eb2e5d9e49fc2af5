"""Turn a strategy document into the `goals.changes` events the goals service publishes,
for tests of the services downstream of goals (evaluator, notifier, ingest).

The contract (docs/events.md): one `node.upserted` v2 per node; `definition` is the node
normalised by goals (`kpi_goals.contract.normalise`, the producer's own code). `events_v1`
gives the retired v1 form (the entry as written), for migration tests. Node ids: the entry's `id`;
`organization` for the organization section; channel name for `alert_channel`; the route's
position ("0", "1", ...) for `alert_route` and `alert_inhibit`; a document without
`alerts.inhibit` gets the documented default rule (docs/notifier.md, Inhibition).
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from kpi_common.definitions import Definition
from kpi_common.events import Envelope, NodeUpserted, NodeUpsertedV2, make_envelope
from kpi_goals.contract import normalise

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "examples" / "acme" / "strategy.yaml"
# the acme example as it was before burn-rate rules: documents written then keep applying
ACME_ORIGINAL = ROOT / "tests" / "fixtures" / "acme-original.yaml"

SECTIONS = {
    "units": "unit",
    "people": "person",
    "goals": "goal",
    "objectives": "objective",
    "success_factors": "success_factor",
    "kpis": "kpi",
    "reviews": "review",
}


# docs/notifier.md: no `alerts.inhibit` is one rule, critical mutes warning in the same unit.
DEFAULT_INHIBIT = [
    {
        "source": {"severity": "critical"},
        "target": {"severity": "warning"},
        "equal": ["unit"],
        "implicit": True,
    }
]


def load(path: Path = ACME) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


def nodes(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out: list[tuple[str, str, dict[str, Any]]] = [
        ("organization", "organization", doc["organization"])
    ]
    for section, node_type in SECTIONS.items():
        for entry in doc.get(section, []):
            definition = dict(entry)
            if "supports" in definition and not isinstance(definition["supports"], list):
                definition["supports"] = [definition["supports"]]
            out.append((node_type, entry["id"], definition))
    alerts = doc.get("alerts", {})
    for name, channel in alerts.get("channels", {}).items():
        out.append(("alert_channel", name, channel))
    for i, route in enumerate(alerts.get("routes", [])):
        out.append(("alert_route", str(i), route))
    for i, rule in enumerate(alerts.get("inhibit", DEFAULT_INHIBIT)):
        out.append(("alert_inhibit", str(i), rule))
    return out


def definitions(doc: dict[str, Any] | None = None) -> dict[tuple[str, str], Definition]:
    """Every node of a document as the typed definition goals publishes, by (type, id)."""
    return {(t, i): normalise(t, i, d) for t, i, d in nodes(doc if doc is not None else load())}


def events(tenant_id: str, doc: dict[str, Any] | None = None, revision: int = 1) -> list[Envelope]:
    now = datetime.now(UTC)
    return [
        make_envelope(
            id=f"{node_type}:{node_id}:r{revision}:v2",
            tenant_id=tenant_id,
            producer="goals",
            time=now,
            data=NodeUpsertedV2(
                node_type=node_type,
                node_id=node_id,
                revision=revision,
                definition=normalise(node_type, node_id, definition),
            ),
        )
        for node_type, node_id, definition in nodes(doc if doc is not None else load())
    ]


def events_v1(
    tenant_id: str, doc: dict[str, Any] | None = None, revision: int = 1
) -> list[Envelope]:
    now = datetime.now(UTC)
    return [
        make_envelope(
            id=f"{node_type}:{node_id}:r{revision}",
            tenant_id=tenant_id,
            producer="goals",
            time=now,
            data=NodeUpserted(
                node_type=node_type,
                node_id=node_id,
                revision=revision,
                definition=definition,
            ),
        )
        for node_type, node_id, definition in nodes(doc if doc is not None else load())
    ]


def typed(entries: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], Definition]:
    """Document entries keyed by (node type, id), normalised as goals publishes them (the
    entry's `id`, and the organization's `name`, filled in when a test leaves them out)."""
    out: dict[tuple[str, str], Definition] = {}
    for (node_type, node_id), entry in entries.items():
        fill = {"name": "Org"} if node_type == "organization" else {"id": node_id}
        out[(node_type, node_id)] = normalise(node_type, node_id, {**fill, **entry})
    return out
