"""The demo clock: what `set_clock` writes, every `FileClock` reads, moving at real speed."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.clock import FileClock, set_clock


def test_the_clock_reads_what_was_set_and_follows_each_move(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    first = datetime(2026, 1, 5, tzinfo=UTC)
    set_clock(path, first)
    clock = FileClock(path)
    assert first <= clock() < first + timedelta(seconds=30)
    later = datetime(2026, 3, 27, 12, tzinfo=UTC)
    set_clock(path, later)
    assert later <= clock() < later + timedelta(seconds=30)
    assert FileClock(path)() >= later  # another process reads the same time
    assert clock().tzinfo is not None
