"""(g) The same breach fed, at one instant T, to kpi-cascade (an over-budget event posted to
metrics-ingest) and to what a user would otherwise run (bench/peerstack.py: the exporter's
gauge set to the same value, scraped by Prometheus, alert routed by Alertmanager); each
latency runs from T until that system's email reached the one SMTP sink (the sink names
each file by its receive time in ns, so both are timed by the same clock)."""

import random
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from bench.ingest import event
from bench.peerstack import ALERT, Intervals, PeerStack, running
from bench.table import Row
from bench.tenant import PEER_KPI, PEER_METRIC, BenchTenant, peer_title, service_url

SPEND_USD = 1000.0  # far over the budget, in the KPI (one event) and the gauge alike
PEER_NAME = "Prometheus + Alertmanager"
MAIL_SLACK_S = 30.0  # beyond the worst case of the intervals, before the wait gives up


@dataclass(frozen=True)
class Mail:
    received: float  # epoch seconds
    subject: str
    text: str


@dataclass(frozen=True)
class Outcome:
    sent: float  # T, epoch seconds
    ours: Mail
    theirs: Mail

    @property
    def ours_s(self) -> float:
        return self.ours.received - self.sent

    @property
    def theirs_s(self) -> float:
        return self.theirs.received - self.sent


def measure(
    tenant: BenchTenant,
    sinks: Path,
    smtp_port: int,
    intervals: Intervals = Intervals(),  # noqa: B008 (frozen)
    port_base: int = 0,
) -> list[Row]:
    """The two breach-to-notification rows (see `run`)."""
    return rows(run(tenant, sinks / "mail", smtp_port, intervals, port_base), intervals)


def run(
    tenant: BenchTenant, mail: Path, smtp_port: int, intervals: Intervals, port_base: int = 0
) -> Outcome:
    """Start the peer stack, breach both systems at T, wait for both emails, stop the stack."""
    budget = tenant.target(PEER_KPI)  # the rule alerts over the KPI's target, as goals has it
    with (
        running(tenant.run, smtp_port, intervals, budget, port_base) as peer,
        httpx.Client(timeout=10) as http,
    ):
        url = f"{service_url('ingest')}/v1/events"
        _post(http, url, tenant, b"[]")  # an open keep-alive connection, as a feed would have
        # right after the first scrape, the next one is a whole interval away: a real breach
        # falls anywhere in the cycle
        time.sleep(random.uniform(0, intervals.scrape_s))
        sent = breach(http, url, tenant, peer)
        limit = intervals.worst_s + MAIL_SLACK_S
        ours = wait_mail(mail, sent, peer_title(tenant.run), limit, peer)
        theirs = wait_mail(mail, sent, f"Alertmanager {tenant.run}: {ALERT}", limit, peer)
    return Outcome(sent, ours, theirs)


def breach(http: httpx.Client, url: str, tenant: BenchTenant, peer: PeerStack) -> float:
    """At one instant: the gauge goes over budget and the same spend is posted as an event."""
    body = orjson.dumps([event(tenant.run, "peer", PEER_METRIC, SPEND_USD)])
    sent = time.time()
    peer.exporter.gauge.set(SPEND_USD)
    _post(http, url, tenant, body)
    return sent


def _post(http: httpx.Client, url: str, tenant: BenchTenant, body: bytes) -> None:
    r = http.post(url, content=body, headers=tenant.ingest)
    if r.status_code != 202 or r.json().get("rejected"):
        raise RuntimeError(f"ingest refused the peer breach: {r.status_code} {r.text}")


def wait_mail(folder: Path, since: float, marker: str, limit_s: float, peer: PeerStack) -> Mail:
    """The first email received after `since` whose subject holds `marker`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if found := find_mail(folder, since, marker):
            return found
        time.sleep(0.1)
    raise RuntimeError(
        f"no email with {marker!r} reached {folder} within {limit_s:.0f}s\n{peer.logs()}"
    )


def find_mail(folder: Path, since: float, marker: str) -> Mail | None:
    after = int(since * 1e9)
    for path in sorted(folder.glob("*.json")):
        received = int(path.name.split("-", 1)[0])
        if received < after:
            continue
        record = orjson.loads(path.read_bytes())
        if marker in str(record.get("subject", "")):
            return Mail(received / 1e9, str(record["subject"]), str(record.get("text", "")))
    return None


def rows(outcome: Outcome, intervals: Intervals) -> list[Row]:
    ours, theirs = outcome.ours_s * 1000, outcome.theirs_s * 1000
    return [
        Row(
            "(g) breach-to-notification, kpi-cascade",
            ours,
            "ms",
            f"< {PEER_NAME}",
            ours < theirs,
        ),
        Row(f"(g) breach-to-notification, {PEER_NAME} ({intervals.label})", theirs, "ms"),
    ]
