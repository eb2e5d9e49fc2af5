"""`kpi send`: backfill metric events from a JSON Lines or CSV file to metrics-ingest.

Events go in batches; after each acknowledged batch a checkpoint file records how many
records are done, so an interrupted run resumes where it stopped (ingest drops repeated ids,
so re-sending the last batch after a crash is harmless). 429 and 503 are retried after
their Retry-After."""

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kpi_cli.app import app
from kpi_cli.client import CliError, ExitCode, check, connect
from kpi_cli.console import err
from kpi_cli.event_files import (
    DEFAULT_ENCODING,
    Event,
    EventFile,
    Problem,
    csv_event,
    parse_columns,
    parse_renames,
    typed,
)

__all__ = ["csv_event", "typed"]
RETRY_STATUSES = (429, 503)
SHOWN_PROBLEMS = 10


def read_events(path: Path | EventFile) -> Iterator[Event]:
    """The events of a file (kpi_cli.event_files); CliError at the first record that is none."""
    source = path if isinstance(path, EventFile) else EventFile(path)
    for record in source.records():
        if isinstance(record, Problem):
            raise CliError(f"{source.path}: {record}")
        yield record


def checked(source: EventFile) -> int:
    """How many records the file has; CliError naming the first problems if any has one."""
    count, problems = 0, []
    for record in source.records():
        count += 1
        if isinstance(record, Problem):
            problems.append(record)
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:SHOWN_PROBLEMS])
        more = (
            f"\n  ... and {len(problems) - SHOWN_PROBLEMS} more"
            if len(problems) > SHOWN_PROBLEMS
            else ""
        )
        raise CliError(
            f"{source.path}: {len(problems)} of {count} records cannot be sent; nothing was sent"
            f"\n{shown}{more}"
        )
    return count


@dataclass
class Checkpoint:
    """How many records of one file are acknowledged; tied to the file's size and head."""

    path: Path
    fingerprint: str
    done: int = 0

    @classmethod
    def load(cls, path: Path, fingerprint: str) -> "Checkpoint":
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls(path, fingerprint)
        if saved.get("fingerprint") != fingerprint:
            return cls(path, fingerprint)
        return cls(path, fingerprint, int(saved.get("done", 0)))

    def save(self, done: int) -> None:
        self.done = done
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "done": done}))
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def fingerprint(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(65536)
    return f"{path.stat().st_size}:{hashlib.sha256(head).hexdigest()}"


@dataclass
class Totals:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def add(self, answer: dict[str, Any], offset: int) -> None:
        self.accepted += answer["accepted"]
        self.duplicates += answer["duplicates"]
        self.rejected += [(offset + r["index"] + 1, r["reason"]) for r in answer["rejected"]]


def post_batch(http: httpx.Client, batch: list[dict[str, Any]], attempts: int = 20) -> Any:
    """POST one batch, waiting out 429/503 by their Retry-After."""
    for _ in range(attempts):
        resp = http.post("/v1/events", json=batch)
        if resp.status_code not in RETRY_STATUSES:
            return check(resp)
        time.sleep(float(resp.headers.get("Retry-After", "1")))
    raise CliError(
        f"metrics-ingest still answered HTTP {resp.status_code} after {attempts} attempts",
        ExitCode.SERVICE,
    )


def batches(events: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for event in events:
        batch.append(event)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@app.command()
def send(
    file: Annotated[Path, typer.Option("--file", "-f", exists=True, dir_okay=False)],
    batch_size: Annotated[int, typer.Option(min=1, max=1000)] = 500,
    checkpoint: Annotated[Path | None, typer.Option(help="default: <file>.checkpoint")] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="CSV: read your column as ours, e.g. timestamp=time; repeat"),
    ] = None,
    dimensions: Annotated[
        list[str] | None,
        typer.Option(help="CSV: columns sent as dimensions, e.g. region,new_customer; repeat"),
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option(help="CSV: columns left out, e.g. notes; repeat")
    ] = None,
    encoding: Annotated[str, typer.Option(help="e.g. cp1252 or latin-1")] = DEFAULT_ENCODING,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check the file, send nothing")
    ] = False,
) -> None:
    """Send metric events from a .jsonl or .csv file (backfill); resumable after interruption.
    A CSV has the columns id, metric, value, time (--map yours=ours); each other column is
    declared with --dimensions or --ignore. The whole file is checked first: a record that
    cannot be sent stops it before sending."""
    source = EventFile(
        file,
        encoding,
        parse_renames(map_ or []),
        parse_columns(dimensions or []),
        parse_columns(ignore or []),
    )
    if dry_run:
        typer.echo(f"{file}: {checked(source)} records, all can be sent (dry run: none sent)")
        return
    with connect("ingest") as http:
        total = checked(source)
        mark = Checkpoint.load(
            checkpoint or file.with_name(file.name + ".checkpoint"), fingerprint(file)
        )
        if mark.done:
            err.print(f"resuming after {mark.done} records already acknowledged ({mark.path})")
        totals = Totals()
        try:
            _send_all(http, source, mark, totals, (total, batch_size))
        except (CliError, KeyboardInterrupt) as exc:
            raise _stopped(exc, mark, total) from None
    mark.clear()
    _report(totals)


def _send_all(
    http: httpx.Client, source: EventFile, mark: "Checkpoint", totals: Totals, size: tuple[int, int]
) -> None:
    total, batch_size = size
    with _progress() as bar:
        task = bar.add_task("sending", total=total, completed=mark.done)
        done = mark.done
        remaining = (e for i, e in enumerate(read_events(source)) if i >= mark.done)
        for batch in batches(remaining, batch_size):
            first = not totals.rejected
            totals.add(post_batch(http, batch), done)
            if first and totals.rejected:
                record, reason = totals.rejected[0]
                err.print(f"first rejected: record {record}: {reason} (sending the rest)")
            done += len(batch)
            mark.save(done)
            bar.update(task, completed=done)


def _stopped(exc: CliError | KeyboardInterrupt, mark: "Checkpoint", total: int) -> CliError:
    """The failure, and how far the file got: acknowledged records stay sent."""
    code = exc.code if isinstance(exc, CliError) else ExitCode.INTERRUPTED
    what = str(exc) if isinstance(exc, CliError) else "interrupted"
    # A refusal (a key that may not send, a bad setting) repeats until its cause is fixed.
    again = "fix that, then run" if code in _NEEDS_A_FIX else "run"
    return CliError(
        f"{what}\n  {mark.done} of {total} records were acknowledged before it ({mark.path}):"
        f" {again} the same command again to send the rest",
        code,
    )


_NEEDS_A_FIX = (ExitCode.REFUSED, ExitCode.CONFIG)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
    )


def _report(totals: Totals) -> None:
    typer.echo(
        f"accepted {totals.accepted}, duplicates {totals.duplicates}, "
        f"rejected {len(totals.rejected)}"
    )
    for record, reason in totals.rejected[:20]:
        err.print(f"  record {record}: {reason}")
    if totals.rejected:
        raise typer.Exit(int(ExitCode.REJECTED))
