"""The `kpi` Typer app that every command module registers on."""

import typer

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="kpi-cascade: strategy as code, metric events, scorecards and alerts.",
)


@app.callback()
def _root() -> None:
    """kpi-cascade: strategy as code, metric events, scorecards and alerts.

    Configure with KPI_API_KEY (or KPI_OPERATOR_TOKEN for tenant creation) and the service
    URLs KPI_GOALS_URL, KPI_INGEST_URL, KPI_EVALUATOR_URL, KPI_NOTIFIER_URL.
    """
