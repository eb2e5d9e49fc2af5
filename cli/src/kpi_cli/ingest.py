"""`kpi send`: backfill metric events from a JSON Lines or CSV file to metrics-ingest.

Events go in batches; after each acknowledged batch a checkpoint file records how many
records are done, so an interrupted run resumes where it stopped (ingest drops repeated ids,
so re-sending the last batch after a crash is harmless). 429 and 503 are retried after
their Retry-After."""

import csv
import hashlib
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kpi_cli.app import app
from kpi_cli.client import CliError, CliSettings, check, client

console = Console(stderr=True)
CORE_COLUMNS = ("id", "metric", "value", "time")
RETRY_STATUSES = (429, 503)


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Events from `.jsonl` (one event per line) or `.csv` (columns id, metric, value, time;
    every other column is a dimension, empty cells left out)."""
    if path.suffix.lower() == ".csv":
        yield from _read_csv(path)
    else:
        yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CliError(f"{path}:{n}: not JSON: {exc}") from None


def _read_csv(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            yield csv_event(row)


def csv_event(row: dict[str, str]) -> dict[str, Any]:
    event: dict[str, Any] = {k: row[k] for k in ("id", "metric") if row.get(k)}
    value = row.get("value", "")
    try:
        event["value"] = float(value)
    except ValueError:
        event["value"] = value  # ingest rejects it with the reason
    if row.get("time"):
        event["time"] = row["time"]
    dims = {
        k: typed(v) for k, v in row.items() if k not in CORE_COLUMNS and k and v not in ("", None)
    }
    if dims:
        event["dimensions"] = dims
    return event


def typed(cell: str) -> str | int | float | bool:
    """CSV cells are text; `true`/`false` and numbers become JSON booleans and numbers, so a
    KPI filter such as `where: {new_customer: true}` or `field: days_to_pay` matches."""
    if cell.lower() in ("true", "false"):
        return cell.lower() == "true"
    for kind in (int, float):
        try:
            number = kind(cell)
        except ValueError:
            continue
        return number if math.isfinite(number) else cell
    return cell


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
    raise CliError(f"gave up after {attempts} attempts: HTTP {resp.status_code}")


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
) -> None:
    """Send metric events from a .jsonl or .csv file (backfill); resumable after interruption."""
    settings = CliSettings()
    mark = Checkpoint.load(
        checkpoint or file.with_name(file.name + ".checkpoint"), fingerprint(file)
    )
    total = sum(1 for _ in read_events(file))
    if mark.done:
        console.print(f"resuming after {mark.done} records already acknowledged ({mark.path})")
    totals = Totals()
    with client(settings.ingest_url, settings.api_key, settings) as http, _progress() as bar:
        task = bar.add_task("sending", total=total, completed=mark.done)
        done = mark.done
        remaining = (e for i, e in enumerate(read_events(file)) if i >= mark.done)
        for batch in batches(remaining, batch_size):
            totals.add(post_batch(http, batch), done)
            done += len(batch)
            mark.save(done)
            bar.update(task, completed=done)
    mark.clear()
    _report(totals)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _report(totals: Totals) -> None:
    typer.echo(
        f"accepted {totals.accepted}, duplicates {totals.duplicates}, "
        f"rejected {len(totals.rejected)}"
    )
    for record, reason in totals.rejected[:20]:
        console.print(f"  record {record}: {reason}")
    if totals.rejected:
        raise typer.Exit(2)
