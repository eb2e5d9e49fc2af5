"""`kpi health`: is every service up and are its dependencies reachable."""

import httpx
import typer
from rich.table import Table

from kpi_cli.app import app
from kpi_cli.client import NAMES, CliError, load_settings, service
from kpi_cli.console import out, styled


@app.command()
def health() -> None:
    """Show each service's readiness and which dependency is down, if any."""
    settings = load_settings()
    table = Table("service", "url", "ready", "down")
    failed = False
    for which, name in NAMES.items():
        url = str(getattr(settings, f"{which}_url"))
        try:
            where = service(settings, which)
            resp = httpx.get(f"{where.url}/readyz", timeout=5)
            body = resp.json()
            ready, down = resp.status_code == 200, ", ".join(body.get("down", []))
        except CliError as exc:
            ready, down = False, str(exc).splitlines()[0]
        except (httpx.HTTPError, ValueError) as exc:
            ready, down = False, f"not answering ({type(exc).__name__})"
        failed = failed or not ready
        table.add_row(name, url, "yes" if ready else styled(("no", "red")), down)
    out.print(table)
    if failed:
        raise typer.Exit(1)
