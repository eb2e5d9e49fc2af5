"""`kpi simulate`: seeded, realistic metric events for a strategy document, as JSON lines."""

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
import yaml

from kpi_cli.app import app
from kpi_cli.client import CliError
from kpi_cli.simulation import PLANTS, Simulation


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
    plant: Annotated[
        list[str] | None,
        typer.Option(help="KPI=breach|at_risk|ahead|silent; repeat for several KPIs"),
    ] = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="write here, not stdout")] = None,
) -> None:
    """Print events (one JSON object per line) that `kpi send` or POST /v1/events accept."""
    try:
        doc = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CliError(f"cannot read {file}: {exc}") from exc
    when = now.replace(tzinfo=now.tzinfo or UTC) if now else datetime.now(UTC)
    sim = Simulation(doc, when, seed=seed, plants=_parse_plants(plant or []))
    events = sim.events()
    lines = b"".join(orjson.dumps(e) + b"\n" for e in events)
    if out is None:
        sys.stdout.buffer.write(lines)
    else:
        out.write_bytes(lines)
        typer.echo(f"wrote {len(events)} events to {out}", err=True)
