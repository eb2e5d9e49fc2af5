"""Issue 14, point 3: `kpi send` checks a whole CSV or JSONL file before it sends anything. A
time column named otherwise, a blank time, an `event_id` header, Excel's byte-order mark,
`nan` and Latin-1 were sent dated now, failed after all rows were sent, or aborted half-way
with a traceback."""

import re
import socket
from pathlib import Path

import pytest
from kpi_cli.client import CliError, ExitCode
from kpi_cli.event_files import (
    DEFAULT_ENCODING,
    Event,
    EventFile,
    Problem,
    parse_columns,
    parse_renames,
)
from kpi_cli.ingest import Checkpoint, _stopped
from kpi_cli.main import app
from typer.testing import CliRunner

HEADER = "id,metric,value,time,region\n"
ROW = "d-{n},crm.deal.won,1,2026-11-21T09:00:00Z,emea\n"


def csv_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode(encoding))
    return path


def records(
    path: Path, encoding: str = DEFAULT_ENCODING, renames: dict[str, str] | None = None
) -> list[Event | Problem]:
    """The file's records; a CSV's `region` column, if any, a dimension."""
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        region = path.suffix == ".csv" and "region" in fh.readline()
    dimensions = frozenset({"region"} if region else set())
    return list(EventFile(path, encoding, renames or {}, dimensions).records())


def events(path: Path, encoding: str = DEFAULT_ENCODING) -> list[Event]:
    found = records(path, encoding)
    assert not [r for r in found if isinstance(r, Problem)]
    return [r for r in found if not isinstance(r, Problem)]


def test_a_time_column_named_otherwise_is_refused_with_the_mapping_to_use(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "id,metric,value,timestamp\nd-1,a.b,1,2026-11-21T09:00:00Z\n")
    with pytest.raises(CliError, match=r"(?s)no column time .*--map timestamp=time"):
        records(path)
    mapped = records(path, renames=parse_renames(["timestamp=time"]))
    assert mapped == [{"id": "d-1", "metric": "a.b", "value": 1.0, "time": "2026-11-21T09:00:00Z"}]


def test_an_event_id_header_is_refused_and_the_byte_order_mark_dropped(tmp_path: Path) -> None:
    renamed = csv_file(tmp_path, HEADER.replace("id,", "event_id,", 1) + ROW.format(n=1))
    with pytest.raises(CliError, match=r"(?s)no column id .*--map event_id=id"):
        records(renamed)
    excel = csv_file(tmp_path, "\ufeff" + HEADER + ROW.format(n=1))
    assert [e["id"] for e in events(excel)] == ["d-1"]


def test_a_blank_time_and_nan_are_problems_naming_line_and_column(tmp_path: Path) -> None:
    text = HEADER + ROW.format(n=1) + "d-2,crm.deal.won,1,,emea\n" + "d-3,crm.deal.won,nan,x,\n"
    found = [r for r in records(csv_file(tmp_path, text)) if isinstance(r, Problem)]
    assert [str(p).split(";")[0] for p in found] == [
        "line 3, column time: empty",
        "line 4, column value: 'nan' is not a finite number",
    ]


def test_a_latin_1_file_names_its_line_or_is_read_with_its_encoding(tmp_path: Path) -> None:
    text = HEADER + ROW.format(n=1) + ROW.format(n=2).replace("emea", "Zürich")
    path = csv_file(tmp_path, text, "latin-1")
    with pytest.raises(CliError, match=r"(?s)line 3: byte 0xfc is not UTF-8.*--encoding cp1252"):
        records(path)
    assert events(path, "latin-1")[1]["dimensions"] == {"region": "Zürich"}


def test_jsonl_nan_is_a_problem_not_a_crash_when_sending(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"id": "a", "value": NaN}\n[1]\n')
    assert [str(p) for p in records(path)] == [
        "line 1, not JSON: NaN is not a number JSON allows",
        "line 2, not a JSON object",
    ]


def test_a_column_neither_ours_nor_declared_is_refused(tmp_path: Path) -> None:
    """A misspelt dimension (`new_custmer`) or a second time column was sent as a dimension
    no KPI filters on; now every column is ours, a dimension or left out, said so."""
    text = "id,metric,value,time,new_custmer,region,notes\nd-1,a.b,1,2026-11-21T09:00:00Z,1,x,y\n"
    path = csv_file(tmp_path, text)
    with pytest.raises(CliError) as refused:
        list(EventFile(path, dimensions=frozenset({"region"})).records())
    assert str(refused.value) == (
        f"{path}: the header has column(s) neither id, metric, value, time nor declared: "
        "new_custmer, notes; nothing was sent\n  send them as dimensions with --dimensions "
        "new_custmer,notes, leave them out with --ignore new_custmer,notes, or --map one onto"
        " a column of ours"
    )
    declared = EventFile(
        path,
        dimensions=parse_columns(["new_custmer, region"]),
        ignored=parse_columns(["notes"]),
    )
    [event] = declared.records()
    assert event == {
        "id": "d-1",
        "metric": "a.b",
        "value": 1.0,
        "time": "2026-11-21T09:00:00Z",
        "dimensions": {"new_custmer": 1, "region": "x"},
    }


@pytest.mark.parametrize(
    ("dimensions", "ignored", "message"),
    [
        ({"regoin"}, set(), "--dimensions names no column of the header: regoin (it has: id,"),
        (set(), {"nope"}, "--ignore names no column of the header: nope"),
        ({"time", "region"}, set(), "time is declared as two of them"),
        ({"region"}, {"region"}, "region is declared as two of them"),
    ],
)
def test_declarations_name_columns_of_the_header_once(
    tmp_path: Path, dimensions: set[str], ignored: set[str], message: str
) -> None:
    path = csv_file(tmp_path, HEADER + ROW.format(n=1))
    with pytest.raises(CliError, match=re.escape(message)):
        list(
            EventFile(path, dimensions=frozenset(dimensions), ignored=frozenset(ignored)).records()
        )


def test_declarations_are_for_csv_files(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"id": "a"}\n')
    with pytest.raises(CliError, match=r"--map, --dimensions and --ignore are for \.csv files"):
        list(EventFile(path, dimensions=frozenset({"region"})).records())


def test_send_refuses_a_bad_file_before_any_request(tmp_path: Path) -> None:
    with socket.socket() as s:  # a request would end in "cannot reach" (exit 4)
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    rows = "".join(ROW.format(n=n) for n in range(500))
    path = csv_file(tmp_path, HEADER + rows + "d-x,crm.deal.won,1,,emea\n" + rows)
    env = {"KPI_API_KEY": "k", "KPI_INGEST_URL": url, "COLUMNS": "200"}
    result = CliRunner().invoke(
        app, ["send", "-f", str(path), "--batch-size", "10", "--dimensions", "region"], env=env
    )
    assert result.exit_code == 1
    assert "1 of 1001 records cannot be sent; nothing was sent" in result.output
    assert "line 502, column time: empty" in result.output
    assert not path.with_name("export.csv.checkpoint").exists()
    dry_run = ["send", "-f", str(path), "--dry-run", "--dimensions", "region"]
    dry = CliRunner().invoke(app, dry_run, env={"KPI_API_KEY": None})
    assert dry.exit_code == 1
    undeclared = CliRunner().invoke(app, dry_run[:-2], env={"KPI_API_KEY": None})
    assert undeclared.exit_code == 1
    assert "--dimensions region" in undeclared.output
    csv_file(tmp_path, HEADER + rows)
    dry = CliRunner().invoke(app, dry_run, env={"KPI_API_KEY": None})
    assert (dry.exit_code, "500 records, all can be sent" in dry.output) == (0, True)


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (ExitCode.REFUSED, "fix that, then run the same command again"),
        (ExitCode.CONFIG, "fix that, then run the same command again"),
        (ExitCode.UNREACHABLE, ": run the same command again"),
        (ExitCode.SERVICE, ": run the same command again"),
    ],
)
def test_a_stopped_send_says_whether_resending_needs_a_fix_first(
    tmp_path: Path, code: ExitCode, hint: str
) -> None:
    """A key that may not send (403) is refused again on a plain rerun: say to fix it first."""
    mark = Checkpoint(tmp_path / "mark.json", "f", done=300)
    error = _stopped(CliError("refused", code), mark, 1000)
    assert error.code == code
    assert "300 of 1000 records were acknowledged" in str(error)
    assert hint in str(error)
