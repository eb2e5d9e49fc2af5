"""The `kpi` Typer app that every command module registers on, and the one place where a
failure of any command becomes one or two lines on stderr and its exit code (`ExitCode`);
the traceback only with `--debug`."""

from importlib.metadata import version
from typing import Annotated, Any

import typer
from typer._click.core import Context  # typer vendors click; its Group.invoke takes this
from typer.core import TyperGroup
from typer.exceptions import TyperException

from kpi_cli.client import CliError, ExitCode
from kpi_cli.console import err, styled


class ExplainedGroup(TyperGroup):
    """Runs a command; a CliError, Ctrl-C or a bug ends it with a short message and its code."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (TyperException, typer.Exit, typer.Abort):
            raise
        except CliError as exc:
            if ctx.params.get("debug"):
                raise
            _fail(str(exc), exc.code)
        except KeyboardInterrupt:
            _fail("interrupted", ExitCode.INTERRUPTED)
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            _fail(
                f"unexpected failure: {type(exc).__name__}: {exc}\n"
                "  this is a bug in kpi: run again with --debug and report the traceback",
                ExitCode.INTERNAL,
            )


def _fail(message: str, code: ExitCode) -> None:
    err.print(styled(("error:", "red"), " ", message), soft_wrap=True)
    raise typer.Exit(int(code))


app = typer.Typer(
    cls=ExplainedGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="kpi-cascade: strategy as code, metric events, scorecards and alerts.",
    epilog="Exit codes: 1 refused, 2 usage, 3 configuration, 4 unreachable, 5 timeout,"
    " 6 service failure, 7 not confirmed, 8 records rejected (kpi send), 9 not ready"
    " (kpi health), 70 bug, 130 interrupted (docs/cli.md).",
)


def _version(asked: bool) -> None:
    if asked:
        typer.echo(f"kpi {version('kpi-cli')}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="show the traceback of a failure")] = False,
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """kpi-cascade: strategy as code, metric events, scorecards and alerts.

    Configure with KPI_API_KEY (or KPI_OPERATOR_TOKEN for tenant creation) and the service
    URLs KPI_GOALS_URL, KPI_INGEST_URL, KPI_EVALUATOR_URL, KPI_NOTIFIER_URL.
    """
