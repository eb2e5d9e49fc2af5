"""`kpi health`: is every service up and are its dependencies reachable."""

import httpx
import typer
from rich.table import Table

from kpi_cli.app import app
from kpi_cli.client import NAMES, CliError, ExitCode, load_settings, service
from kpi_cli.console import out, styled


@app.command()
def health() -> None:
    """Show each service's readiness and which dependency is down, if any, with the URL
    checked and where it came from (a service found only at a default URL may be another
    stack's: it is not reported as yours)."""
    settings = load_settings()
    table = Table("service")
    table.add_column("url", no_wrap=True)
    table.add_column("from", overflow="fold")
    table.add_column("ready")
    table.add_column("down", overflow="fold")
    failed = guessed = False
    urls = settings.urls()
    for which, name in NAMES.items():
        url, source = urls[name]
        try:
            where = service(settings, which)
            resp = httpx.get(f"{where.url}/readyz", timeout=5)
            body = resp.json()
            ready, down = resp.status_code == 200, ", ".join(body.get("down", []))
        except CliError as exc:
            ready, down = False, str(exc).splitlines()[0]
        except (httpx.HTTPError, ValueError) as exc:
            ready, down = False, f"not answering ({type(exc).__name__})"
        default = source == "default"
        guessed = guessed or (ready and default)
        answer = ("answers*" if default else "yes") if ready else styled(("no", "red"))
        failed = failed or not ready
        table.add_row(name, url, source, answer, down)
    out.print(table)
    if guessed:
        out.print(
            "* answered at a default URL (KPI_*_URL and KPI_*_PORT unset), which may "
            "be another stack's: set "
            "KPI_GOALS_URL, KPI_INGEST_URL, KPI_EVALUATOR_URL, KPI_NOTIFIER_URL (or the "
            "KPI_*_PORT values make up used) to check yours."
        )
    if failed:
        raise typer.Exit(int(ExitCode.NOT_READY))
