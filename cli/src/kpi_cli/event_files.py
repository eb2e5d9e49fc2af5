"""Metric events from the files `kpi send` takes, parsed and checked before anything is sent.

`.jsonl`: one JSON object per line. `.csv`: a header naming the columns `id, metric, value,
time` (others of your file renamed onto them with `--map theirs=ours`); every other column is
declared, as a dimension (`--dimensions`) or as one to leave out (`--ignore`): a column that
is neither is refused, so a misspelt or unexpected column is never taken silently. A
byte-order mark is dropped; `encoding` reads Latin-1 or Windows-1252 files. A record that
cannot be sent is a `Problem` naming its line and column."""

import codecs
import csv
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from kpi_cli.client import CliError

CORE_COLUMNS = ("id", "metric", "value", "time")
DEFAULT_ENCODING = "utf-8-sig"  # UTF-8, with or without the byte-order mark Excel writes
# Names other systems give the core columns: named in the hint, never taken silently.
LIKELY = {
    "id": ("event_id", "eventid", "uuid", "key"),
    "metric": ("metric_name", "name", "type"),
    "value": ("amount", "count", "quantity", "val"),
    "time": ("timestamp", "ts", "date", "datetime", "occurred_at", "event_time", "created_at"),
}
Event = dict[str, Any]


class Problem(NamedTuple):
    """Why the record on `line` cannot be sent."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.message}"


class RowError(ValueError):
    """One cell of a CSV row that makes no event."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"column {column}: {message}")


@dataclass(frozen=True)
class EventFile:
    """A file of events and how to read it."""

    path: Path
    encoding: str = DEFAULT_ENCODING
    renames: Mapping[str, str] = field(default_factory=dict)  # their column -> ours
    dimensions: frozenset[str] = frozenset()  # CSV columns sent as dimensions
    ignored: frozenset[str] = frozenset()  # CSV columns left out

    def records(self) -> Iterator[Event | Problem]:
        """Each record in file order: its event, or the problem that keeps it from being one."""
        if self.path.suffix.lower() == ".csv":
            return self._csv()
        if self.renames or self.dimensions or self.ignored:
            raise CliError(f"{self.path}: --map, --dimensions and --ignore are for .csv files")
        return self._jsonl()

    def _lines(self) -> Iterator[str]:
        try:
            decoder = codecs.getincrementaldecoder(self.encoding)()
        except LookupError:
            raise CliError(f"--encoding {self.encoding}: no such encoding") from None
        with self.path.open("rb") as fh:
            for n, raw in enumerate(fh, 1):
                try:
                    yield decoder.decode(raw)
                except UnicodeDecodeError as exc:
                    name = "UTF-8" if self.encoding == DEFAULT_ENCODING else self.encoding
                    raise CliError(
                        f"{self.path}, line {n}: byte {raw[exc.start]:#04x} is not {name}\n"
                        "  saved as Latin-1 or Windows-1252 (Excel)? add --encoding cp1252;"
                        " nothing was sent"
                    ) from None

    def _jsonl(self) -> Iterator[Event | Problem]:
        for n, line in enumerate(self._lines(), 1):
            if line.strip():
                yield jsonl_event(line, n)

    def _csv(self) -> Iterator[Event | Problem]:
        reader = csv.reader(self._lines())
        header = self._header(next(reader, []))
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                yield Problem(reader.line_num, f"{len(cells)} cells, the header has {len(header)}")
                continue
            row = {name: cell for name, cell in zip(header, cells, strict=True) if name}
            try:
                yield csv_event(row)
            except RowError as exc:
                yield Problem(reader.line_num, str(exc))

    def _header(self, cells: list[str]) -> list[str | None]:
        """Each column's name as an event field (core or dimension), None for one left out."""
        names = [cell.strip().lstrip("\ufeff") for cell in cells]
        self._check_options(names)
        names = [self.renames.get(n, n) for n in names]
        twice = sorted({n for n in names if n and names.count(n) > 1})
        missing = [c for c in CORE_COLUMNS if c not in names]
        if twice or missing:
            raise CliError(f"{self.path}: {_header_problem(names, twice, missing)}")
        declared = {*CORE_COLUMNS, *self.dimensions, *self.ignored, ""}  # "": no name, left out
        undeclared = [n for n in names if n not in declared]
        if undeclared:
            raise CliError(f"{self.path}: {_undeclared_problem(undeclared)}")
        return [None if n in self.ignored or not n else n for n in names]

    def _check_options(self, names: list[str]) -> None:
        """--map, --dimensions and --ignore name columns of the header, each column once."""
        for option, columns in (
            ("--map", set(self.renames)),
            ("--dimensions", self.dimensions),
            ("--ignore", self.ignored),
        ):
            absent = sorted(columns - set(names))
            if absent:
                raise CliError(
                    f"{self.path}: {option} names no column of the header: {', '.join(absent)}"
                    f" (it has: {', '.join(names)})"
                )
        core = sorted((self.dimensions | self.ignored) & set(CORE_COLUMNS))
        both = sorted(
            (self.dimensions & self.ignored)
            | (set(self.renames) & (self.dimensions | self.ignored))
        )
        if core or both:
            raise CliError(
                f"{self.path}: a column is either one of {', '.join(CORE_COLUMNS)}, a dimension"
                f" or left out: {', '.join(core + both)} is declared as two of them"
            )


def _header_problem(names: list[str], twice: list[str], missing: list[str]) -> str:
    if twice:
        return f"the header names {', '.join(twice)} twice; nothing was sent"
    found = [(theirs, ours) for ours in missing for theirs in names if theirs in LIKELY[ours]]
    hint = " ".join(f"--map {theirs}={ours}" for theirs, ours in found) or "--map yours=time"
    return (
        f"the header has no column {', '.join(missing)} (it has: {', '.join(names)}); "
        f"nothing was sent\n  name the columns {', '.join(CORE_COLUMNS)}, or map yours: {hint}"
    )


def _undeclared_problem(undeclared: list[str]) -> str:
    columns = ",".join(undeclared)
    return (
        f"the header has column(s) neither {', '.join(CORE_COLUMNS)} nor declared: "
        f"{', '.join(undeclared)}; nothing was sent\n  send them as dimensions with "
        f"--dimensions {columns}, leave them out with --ignore {columns}, or --map one"
        " onto a column of ours"
    )


def jsonl_event(line: str, n: int) -> Event | Problem:
    try:
        event = json.loads(line, parse_constant=_no_constant)
    except ValueError as exc:
        return Problem(n, f"not JSON: {exc}")
    if not isinstance(event, dict):
        return Problem(n, "not a JSON object")
    return event


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def csv_event(row: dict[str, str]) -> Event:
    """The event of one CSV row (column -> cell); RowError names the cell that is wrong."""
    for column in ("id", "metric", "time"):
        if not row[column].strip():
            raise RowError(column, f"empty; {_NEEDED[column]}")
    event: Event = {"id": row["id"], "metric": row["metric"], "time": row["time"]}
    event["value"] = _number(row["value"])
    dims = {k: typed(v) for k, v in row.items() if k not in CORE_COLUMNS and k and v != ""}
    if dims:
        event["dimensions"] = dims
    return event


_NEEDED = {
    "id": "every event needs an id (a resend of the same id is counted once)",
    "metric": "every event names its metric, e.g. crm.deal.won",
    "time": "every event needs the time it happened, e.g. 2026-11-21T09:00:00Z",
}


def _number(cell: str) -> float:
    try:
        number = float(cell)
    except ValueError:
        raise RowError("value", f"{cell!r} is not a number") from None
    if not math.isfinite(number):
        raise RowError("value", f"{cell!r} is not a finite number")
    return number


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


def parse_columns(items: list[str]) -> frozenset[str]:
    """`--dimensions region,plan --dimensions channel` as the set of column names."""
    return frozenset(c.strip() for item in items for c in item.split(",") if c.strip())


def parse_renames(items: list[str]) -> dict[str, str]:
    """`--map timestamp=time` options as {their column: our column}."""
    renames = {}
    for item in items:
        theirs, _, ours = item.partition("=")
        if ours not in CORE_COLUMNS or not theirs:
            raise CliError(f"--map {item}: give THEIRS=OURS, OURS one of {', '.join(CORE_COLUMNS)}")
        renames[theirs] = ours
    return renames
