"""What `kpi alignment` adds to goals' definition findings: the data's findings, from the
evaluator (`GET /v1/data-health`) and from metrics-ingest (`GET /v1/sources`, rejects per
source), and the overdue reviews, from the notifier (`GET /v1/findings`). A service that
does not answer costs one line, never the command."""

from typing import Any

import httpx

from kpi_cli.client import CliError, ServiceName, check, connect
from kpi_cli.console import out

SOURCE_RULE = "source_rejects"


def _fetch(which: ServiceName, path: str, without: str) -> Any | None:
    """The answer, or None after one line saying what is left out and why."""
    try:
        with connect(which) as http:
            return check(http.get(path))
    except (httpx.HTTPError, CliError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        out.print(f"(without {without}: {reason})")
        return None


def evaluator_findings() -> list[dict[str, Any]]:
    """The evaluator's data-health findings: unmatched metrics, KPIs without data, stale
    metrics (docs/evaluator.md, "Data health")."""
    body = _fetch("evaluator", "/v1/data-health", "the data's findings")
    return [] if body is None else list(body["findings"])


def notifier_findings() -> list[dict[str, Any]]:
    """The notifier's findings: reviews overdue by the rule of its overdue notice, past the
    ones recorded as held (docs/notifier.md, "Time-driven behaviour")."""
    body = _fetch("notifier", "/v1/findings", "overdue reviews")
    return [] if body is None else list(body["findings"])


def reject_findings() -> list[dict[str, Any]]:
    """One finding per source of the tenant that dead-lettered something."""
    body = _fetch("ingest", "/v1/sources", "rejects per source")
    if body is None:
        return []
    return [_rejects(s) for s in body["sources"] if s["rejects"]]


def _rejects(source: dict[str, Any]) -> dict[str, Any]:
    sid, n = source["id"], source["rejects"]
    return {
        "severity": "warning",
        "rule": SOURCE_RULE,
        "node_type": "source",
        "node_id": sid,
        "explanation": f"Source {sid} ({source['kind']}) had {n} payload(s) or event(s)"
        f" rejected; the last at {source['last_received_at']}: {source['last_reason']}",
        "suggested_fix": f"Read them (GET /v1/sources/{sid}/rejects on metrics-ingest) and"
        " fix the sender or the source's mapping; docs/operations.md says how to replay them.",
    }


def findings(rule: str | None) -> list[dict[str, Any]]:
    """The data's findings, of one rule if given."""
    found = [*notifier_findings(), *evaluator_findings(), *reject_findings()]
    return [f for f in found if rule is None or f["rule"] == rule]
