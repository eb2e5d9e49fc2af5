"""The acme example as the notifier's directory, and breaches on it, for unit tests."""

from datetime import UTC, datetime
from typing import Any

from kpi_common.definitions import Definition
from kpi_common.events import NodeUpsertedV2
from kpi_notifier.directory import Directory, build_directory
from kpi_notifier.routing import Breach

from tests.support.strategy_events import events, load

T0 = datetime(2026, 2, 20, 8, 0, tzinfo=UTC)


def definitions(doc: dict[str, Any] | None = None) -> list[Definition]:
    """The document's nodes as goals publishes them (the contract's typed definitions)."""
    return [NodeUpsertedV2.model_validate(e.data).definition for e in events("t1", doc or load())]


def acme(doc: dict[str, Any] | None = None) -> Directory:
    return build_directory(definitions(doc))


def breach(kpi: str = "new-clients", unit: str = "sales", owner: str = "dana", **kw: Any) -> Breach:
    values: dict[str, Any] = {
        "tenant_id": "t1",
        "breach_id": f"brc-{kpi}",
        "kpi_id": kpi,
        "unit_id": unit,
        "owner": owner,
        "perspective": "customer",
        "severity": "critical",
        "opened_at": T0,
        "facts": {"breach_id": f"brc-{kpi}", "kpi_title": kpi, "so_that_chain": []},
    }
    return Breach(**(values | kw))
