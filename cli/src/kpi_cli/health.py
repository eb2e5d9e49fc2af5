"""`kpi health`: is every service up and are its dependencies reachable."""

import httpx
import typer
from rich.console import Console
from rich.table import Table

from kpi_cli.app import app
from kpi_cli.client import CliSettings

console = Console()


@app.command()
def health() -> None:
    """Show each service's readiness and which dependency is down, if any."""
    settings = CliSettings()
    services = {
        "goals": settings.goals_url,
        "metrics-ingest": settings.ingest_url,
        "evaluator": settings.evaluator_url,
        "notifier": settings.notifier_url,
    }
    table = Table("service", "url", "ready", "down")
    failed = False
    for name, url in services.items():
        try:
            resp = httpx.get(f"{url}/readyz", timeout=5)
            body = resp.json()
            ready, down = resp.status_code == 200, ", ".join(body.get("down", []))
        except (httpx.HTTPError, ValueError) as exc:
            ready, down = False, f"not answering ({type(exc).__name__})"
        failed = failed or not ready
        table.add_row(name, url, "yes" if ready else "[red]no[/red]", down)
    console.print(table)
    if failed:
        raise typer.Exit(1)
