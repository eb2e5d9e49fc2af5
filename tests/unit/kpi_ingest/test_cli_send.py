"""The pure parts of `kpi send` (cli/src/kpi_cli/ingest.py): CSV rows, batches, checkpoints."""

from pathlib import Path

import pytest
from kpi_cli.event_files import RowError
from kpi_cli.ingest import Checkpoint, batches, csv_event, fingerprint, read_events

T = "2026-02-03T10:00:00Z"


def test_csv_columns_become_an_event_and_other_columns_dimensions() -> None:
    row = {
        "id": "r1",
        "metric": "erp.invoice.posted",
        "value": "12.5",
        "time": T,
        "region": "emea",
        "x": "",
    }
    assert csv_event(row) == {
        "id": "r1",
        "metric": "erp.invoice.posted",
        "time": T,
        "value": 12.5,
        "dimensions": {"region": "emea"},
    }
    with pytest.raises(RowError, match="column value: 'lots' is not a number"):
        csv_event({"id": "r2", "metric": "a.b", "value": "lots", "time": T})


def test_csv_dimension_cells_become_booleans_and_numbers_where_they_look_so() -> None:
    row = {
        "id": "r",
        "metric": "a.b",
        "value": "1",
        "time": T,
        "new_customer": "true",
        "days_to_pay": "31",
        "ratio": "0.5",
        "region": "emea",
        "odd": "nan",
    }
    assert csv_event(row)["dimensions"] == {
        "new_customer": True,
        "days_to_pay": 31,
        "ratio": 0.5,
        "region": "emea",
        "odd": "nan",
    }


def test_read_events_from_jsonl_and_csv(tmp_path: Path) -> None:
    jsonl = tmp_path / "e.jsonl"
    jsonl.write_text(
        '{"id": "a", "metric": "a.b", "value": 1}\n\n{"id": "b", "metric": "a.b", "value": 2}\n'
    )
    assert [e["id"] for e in read_events(jsonl)] == ["a", "b"]
    csv_file = tmp_path / "e.csv"
    csv_file.write_text("id,metric,value,time\nc,a.b,3,2026-02-03T10:00:00Z\n")
    assert list(read_events(csv_file)) == [{"id": "c", "metric": "a.b", "value": 3.0, "time": T}]


def test_batches_split_in_order() -> None:
    assert [len(b) for b in batches(iter([{"i": i} for i in range(7)]), 3)] == [3, 3, 1]


def test_a_checkpoint_is_only_trusted_for_the_same_file(tmp_path: Path) -> None:
    data = tmp_path / "e.jsonl"
    data.write_text('{"id": "a"}\n')
    mark_path = tmp_path / "e.checkpoint"
    Checkpoint.load(mark_path, fingerprint(data)).save(1)
    assert Checkpoint.load(mark_path, fingerprint(data)).done == 1
    data.write_text('{"id": "a"}\n{"id": "b"}\n')
    assert Checkpoint.load(mark_path, fingerprint(data)).done == 0
    Checkpoint.load(mark_path, "x").clear()
    assert not mark_path.exists()
