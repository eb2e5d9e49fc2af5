"""History does not page people: `kpi send -f` of a year of acme CSAT survey answers (a CSV,
the real CLI as a process) against goals, metrics-ingest, evaluator and notifier processes.

Every month of the year before the previous one is far below the 4.5 target, so each opens a
breach; those periods closed before the evaluator's paging horizon (default: the current and
the previous period page), so each is published as a restatement and the owner gets one
low-urgency notice per run (one batch of late events) listing them, never a page per period.
The previous month is on target, and the current month, below it, still pages."""

import asyncio
import csv
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from kpi_common.events import Envelope
from kpi_common.topic_reads import read_topic
from kpi_common.topics import KPI_BREACHES

from tests.conftest import Infra, _psql, _with_database
from tests.support.acme_stack import Tenant, running_stack, wait_until

pytestmark = pytest.mark.e2e

KPI, METRIC, OWNER = "csat", "survey.csat", "sam@acme.example"
LOW, HIGH = 3.0, 4.8  # the target is 4.5
KPI_BIN = Path(sys.executable).parent / "kpi"


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_backfill_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def month_start(at: datetime, back: int = 0) -> datetime:
    index = at.year * 12 + at.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def answers(start: datetime, end: datetime, value: float, per_day: int = 3) -> list[datetime]:
    """`per_day` survey answers a day in [start, end), each scoring `value`."""
    times, step = [], timedelta(days=1) / per_day
    t = start + timedelta(minutes=5)
    while t < end:
        times.append(t)
        t += step
    return times


def write_year(path: Path, now: datetime) -> tuple[list[str], str]:
    """The CSV: twelve closed months at LOW, the previous month at HIGH, the current month so
    far at LOW. Answers the closed months' keys (before the horizon) and the current one's."""
    current, previous = month_start(now), month_start(now, 1)
    rows: list[tuple[datetime, float]] = []
    closed = []
    for back in range(13, 1, -1):
        start, end = month_start(now, back), month_start(now, back - 1)
        closed.append(f"{start:%Y-%m}")
        rows += [(t, LOW) for t in answers(start, end, LOW)]
    rows += [(t, HIGH) for t in answers(previous, current, HIGH)]
    rows += [(t, LOW) for t in answers(current, now - timedelta(minutes=1), LOW, per_day=24)]
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "metric", "value", "time", "channel"])
        for i, (t, value) in enumerate(rows):
            out.writerow([f"csat-{i}", METRIC, value, t.strftime("%Y-%m-%dT%H:%M:%SZ"), "email"])
    return closed, f"{current:%Y-%m}"


def kpi_send(tenant: Tenant, data: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KPI_API_KEY": tenant.ingest,
        "KPI_INGEST_URL": tenant.urls["metrics-ingest"],
    }
    args = [str(KPI_BIN), "send", "-f", str(data), "--batch-size", "500", "--dimensions", "channel"]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def ingest_knows_key(tenant: Tenant) -> bool:
    url = f"{tenant.urls['metrics-ingest']}/v1/events"
    headers = {"Authorization": f"Bearer {tenant.ingest}"}
    return httpx.post(url, json=[], headers=headers, timeout=30).status_code == 202


def openings(envelopes: list[Envelope]) -> dict[str, Envelope]:
    """The csat breach openings on kpi.breaches, by period."""
    return {
        e.data["period"]: e
        for e in envelopes
        if e.type == "kpi.breach.opened" and e.data["kpi_id"] == KPI
    }


def subjects(mails: list[EmailMessage]) -> list[str]:
    return [str(m["Subject"]) for m in mails if OWNER in str(m["To"])]


def pending(tenant: Tenant) -> list[Any]:
    headers = {"Authorization": f"Bearer {tenant.admin}"}
    url = f"{tenant.urls['notifier']}/v1/notifications"
    return [
        row
        for status in ("pending", "sending")
        for row in httpx.get(url, params={"status": status}, headers=headers, timeout=30).json()
    ]


def test_a_backfilled_year_pages_no_closed_period(
    infra: Infra, database_url: str, unique: str, tmp_path: Path
) -> None:
    prefix = f"{infra.topic_prefix}backfill{unique}."
    env = {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": prefix,
        "KPI_LOG_LEVEL": "INFO",
        "KPI_NOTIFIER_RESTATEMENT_WINDOW_S": "2",
    }
    with running_stack(env, tmp_path) as (procs, smtp):
        tenant = Tenant(procs)
        tenant.apply()
        data = tmp_path / "csat-year.csv"
        closed, current = write_year(data, datetime.now(UTC))
        wait_until("ingest to know the ingest key", lambda: ingest_knows_key(tenant))
        sent = kpi_send(tenant, data)
        assert sent.returncode == 0, sent.stdout + sent.stderr

        topic = prefix + KPI_BREACHES.name
        opened = wait_until(
            "a csat breach for every closed month and the current one",
            lambda: (
                got
                if set(closed) | {current} <= set(got := openings(_read(infra, topic)))
                else None
            ),
            timeout_s=180,
        )
        restated = {p: e for p, e in opened.items() if e.data["urgency"] == "restatement"}
        runs = {e.data["restatement_id"] for e in restated.values()}

        def settled() -> bool:
            notices = [s for s in subjects(smtp.messages) if s.startswith("Restated")]
            return len(notices) >= len(runs) and not pending(tenant)

        wait_until("the notifier to deliver", settled, timeout_s=120)
        time.sleep(3)  # a second notice for the same run would show by now (the window is 2 s)
        mails = subjects(smtp.messages)

    # every closed month before the horizon is a restatement, the current month a page
    assert set(closed) <= set(restated), sorted(opened)
    assert opened[current].data["urgency"] == "page"
    # no page for a closed period: the one page (a digest would count too) is the current month's
    pages = [s for s in mails if not s.startswith(("Restated", "Overdue:", "Coming up:"))]
    assert len(pages) == 1, mails
    assert "(CSAT)" in pages[0], pages
    assert pages[0].endswith(f"({current})"), pages
    # one low-urgency notice per route and run (one batch of late events), not one per period,
    # and together they list every restated period
    notices = [s for s in mails if s.startswith("Restated")]
    assert len(notices) == len(runs), (notices, runs)
    assert len(notices) < len(closed), notices
    assert sum(int(re.findall(r": (\d+) breach", s)[0]) for s in notices) == len(restated)


def _read(infra: Infra, topic: str) -> list[Envelope]:
    return asyncio.run(read_topic(infra.kafka_bootstrap, topic))
