"""`kpi simulate`: seeded, realistic metric events for a strategy document, as JSON lines;
with `--feeds`, as the raw payloads of the systems that would send them (kpi_cli.feeds).
Each KPI's periods and targets come from goals (kpi_cli.targets)."""

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import orjson
import typer
import yaml

from kpi_cli.app import app
from kpi_cli.client import CliError, ExitCode, connect, load_settings
from kpi_cli.feeds import render
from kpi_cli.simulation import PLANTS, Simulation
from kpi_cli.targets import APPLY_FIRST, GoalsTargets


def _parse_plants(items: list[str]) -> dict[str, str]:
    plants: dict[str, str] = {}
    for item in items:
        kpi, _, plant = item.partition("=")
        if plant not in PLANTS:
            raise CliError(f"--plant {item}: the plant must be one of {', '.join(PLANTS)}")
        plants[kpi] = plant
    return plants


@app.command("simulate")
def simulate(
    file: Annotated[Path, typer.Option("-f", "--file", help="strategy document (YAML or JSON)")],
    seed: Annotated[int, typer.Option(help="same seed, same events")] = 42,
    now: Annotated[
        datetime | None, typer.Option(help="simulate up to this time (UTC); default: now")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="also simulate each KPI's earlier whole periods from this time on"),
    ] = None,
    plant: Annotated[
        list[str] | None,
        typer.Option(help="KPI=breach|at_risk|ahead|achieved|silent|stale; repeat it"),
    ] = None,
    feeds: Annotated[
        bool,
        typer.Option(
            "--feeds",
            help="print each event as its system's raw payload: "
            '{"transport": "hubspot|billing|payments|ledger|cloudevents", "payload": ...}',
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="write here, not stdout")] = None,
) -> None:
    """Print events (one JSON object per line) that `kpi send` or POST /v1/events accept,
    or with --feeds the raw webhook bodies, Debezium rows and CloudEvents (docs/demo.md).

    FILE gives the measures; each period and its target come from goals (KPI_API_KEY of
    the tenant, its strategy applied first with `kpi apply -f FILE`)."""
    try:
        doc = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CliError(f"cannot read {file}: {exc}") from exc
    when = now.replace(tzinfo=now.tzinfo or UTC) if now else datetime.now(UTC)
    start = since.replace(tzinfo=since.tzinfo or UTC) if since else None
    plants = _parse_plants(plant or [])
    with _goals() as http:
        targets = GoalsTargets(http)
        events = Simulation(doc, when, targets, seed=seed, plants=plants, since=start).events()
    items = [_raw(e) for e in events] if feeds else events
    lines = b"".join(orjson.dumps(item) + b"\n" for item in items)
    if out is None:
        sys.stdout.buffer.write(lines)
    else:
        out.write_bytes(lines)
        typer.echo(f"wrote {len(events)} events to {out}", err=True)


def _goals() -> httpx.Client:
    """The goals client, or why there is no one to ask for targets (no KPI_API_KEY)."""
    if not load_settings().api_key:
        raise CliError(f"KPI_API_KEY is not set\n  {APPLY_FIRST}", ExitCode.CONFIG)
    return connect("goals")


def _raw(event: dict[str, object]) -> dict[str, object]:
    raw = render(event)
    return {"transport": raw.transport, "payload": raw.payload}
