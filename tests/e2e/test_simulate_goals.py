"""`kpi simulate` and the demo's traffic against goals as a real process: acme's strategy with
`fiscal_year_start: "04-01"`, per-period targets for qualified-leads and `increase_by: 5` on
a baseline of 200 for new-clients. The traffic is sized from the target goals resolves for
the period in question (2025-Q4 is January to March 2026 on that calendar), never from a
copy of the rules in the CLI. The bench's web traffic and its targets on this calendar, and
its peer alert rule's threshold, come from goals too."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from kpi_cli.feeds import render
from kpi_cli.simulation import PLANTS
from kpi_cli.targets import GoalsTargets

from bench import web as bench_web
from bench.peerstack import GAUGE, alert_rules
from bench.tenant import BUDGET_USD, PEER_KPI, BenchTenant
from demo import traffic
from demo.clock import DEMO_NOW
from tests.conftest import Infra
from tests.e2e.conftest import kpi
from tests.support.procs import running
from tests.support.strategy_events import load

OPERATOR = "e2e-simulate-operator-token"
LEADS = {"2025-Q4": 120, "2026-Q1": 300}  # fiscal quarters named by the year they start in
DEFAULT_LEADS = 100
NEW_CLIENTS = 205  # baseline 200, increase_by: 5


def _strategy() -> dict[str, Any]:
    doc = load()
    doc["organization"]["fiscal_year_start"] = "04-01"
    kpis = {k["id"]: k for k in doc["kpis"]}
    kpis["qualified-leads"]["target"] = DEFAULT_LEADS
    kpis["qualified-leads"]["targets"] = [{"period": p, "value": v} for p, v in LEADS.items()]
    kpis["new-clients"] |= {"baseline": 200, "target": {"increase_by": 5}}
    return doc


@pytest.fixture(scope="module")
def goals(tmp_path_factory: pytest.TempPathFactory, infra: Infra) -> Iterator[str]:
    """Goals as a process on the session's database and topics."""
    env = {
        "KPI_DATABASE_URL": infra.database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": infra.topic_prefix,
        "KPI_OPERATOR_TOKEN": OPERATOR,
    }
    with running("goals", env, tmp_path_factory.mktemp("goals")) as svc:
        yield svc.url


def _tenant(goals_url: str) -> str:
    resp = httpx.post(
        f"{goals_url}/v1/tenants",
        json={"slug": f"sim-{uuid.uuid4().hex[:8]}"},
        headers={"Authorization": f"Bearer {OPERATOR}"},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["admin_api_key"])


@pytest.fixture(scope="module")
def applied(goals: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """The CLI's environment for a tenant with the changed strategy applied, and its file."""
    path = tmp_path_factory.mktemp("strategy") / "strategy.yaml"
    path.write_text(yaml.safe_dump(_strategy(), sort_keys=False))
    cli = {"KPI_GOALS_URL": goals, "KPI_API_KEY": _tenant(goals)}
    done = kpi(cli, "apply", "-f", str(path))
    assert done.returncode == 0, done.stderr
    return cli, path


@contextmanager
def _goals_targets(cli: dict[str, str]) -> Iterator[GoalsTargets]:
    auth = {"Authorization": f"Bearer {cli['KPI_API_KEY']}"}
    with httpx.Client(base_url=cli["KPI_GOALS_URL"], headers=auth, timeout=30) as http:
        yield GoalsTargets(http)


def _simulate(cli: dict[str, str], path: Path, tmp: Path, *args: str) -> list[dict[str, Any]]:
    out = tmp / f"{uuid.uuid4().hex}.jsonl"
    done = kpi(cli, "simulate", "-f", str(path), "-o", str(out), *args)
    assert done.returncode == 0, done.stderr
    return [orjson.loads(line) for line in out.read_bytes().splitlines()]


def _of(events: list[dict[str, Any]], metric: str, start: str, end: str) -> list[dict[str, Any]]:
    return [e for e in events if e["metric"] == metric and start <= str(e["time"]) < end]


@pytest.mark.parametrize(
    ("now", "quarter", "start", "end"),
    [
        ("2026-03-27T12:00:00Z", "2025-Q4", "2026-01-01", "2026-04-01"),
        ("2026-05-15T12:00:00Z", "2026-Q1", "2026-04-01", "2026-07-01"),
    ],
)
def test_simulate_sizes_each_quarter_from_the_target_goals_resolves(
    applied: tuple[dict[str, str], Path],
    tmp_path: Path,
    now: str,
    quarter: str,
    start: str,
    end: str,
) -> None:
    cli, path = applied
    plants = ("--plant", "qualified-leads=achieved", "--plant", "new-clients=achieved")
    events = _simulate(cli, path, tmp_path, "--now", now, "--seed", "3", *plants)
    # `achieved` reaches 108 % of the whole period's target
    leads = [e for e in events if e["metric"] == "crm.lead.qualified"]
    assert len(leads) == round(LEADS[quarter] * 1.08)
    assert all(start <= str(e["time"]) < end for e in leads)
    won = [e for e in events if e["metric"] == "crm.deal.won"]
    assert len(won) == round(NEW_CLIENTS * 1.08)  # 221; 210 would give 227
    assert all(start <= str(e["time"]) < end for e in won)


def test_goals_answers_205_for_increase_by_5_on_200_in_every_period(
    applied: tuple[dict[str, str], Path],
) -> None:
    with _goals_targets(applied[0]) as targets:
        for month in range(1, 13):
            at = datetime(2026, month, 15, tzinfo=UTC)
            assert targets("new-clients", at).target == NEW_CLIENTS
        assert targets("qualified-leads", datetime(2025, 12, 1, tzinfo=UTC)).target == 100


def test_since_adds_earlier_quarters_each_at_its_own_target(
    applied: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    cli, path = applied
    args = ("--now", "2026-05-15T12:00:00Z", "--since", "2025-10-01T00:00:00Z")
    events = _simulate(cli, path, tmp_path, *args, "--plant", "qualified-leads=achieved")
    assert len({e["id"] for e in events}) == len(events)
    metric = "crm.lead.qualified"
    # earlier whole quarters at 100-110 % of their own targets
    q3 = len(_of(events, metric, "2025-10-01", "2026-01-01"))
    q4 = len(_of(events, metric, "2026-01-01", "2026-04-01"))
    assert DEFAULT_LEADS <= q3 <= DEFAULT_LEADS * 1.1
    assert LEADS["2025-Q4"] <= q4 <= LEADS["2025-Q4"] * 1.1
    assert len(_of(events, metric, "2026-04-01", "2026-07-01")) == round(LEADS["2026-Q1"] * 1.08)
    assert min(str(e["time"]) for e in events) >= "2025-10-01"


def test_feeds_print_one_raw_item_per_event(
    applied: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    cli, path = applied
    args = ("--now", "2026-03-27T12:00:00Z", "--seed", "3")
    events = _simulate(cli, path, tmp_path, *args)
    items = _simulate(cli, path, tmp_path, *args, "--feeds")
    assert [render(e).payload for e in events] == [i["payload"] for i in items]
    transports = {i["transport"] for i in items}
    assert transports == {"hubspot", "billing", "payments", "ledger", "cloudevents"}


def test_simulate_refuses_without_goals_to_ask(
    applied: tuple[dict[str, str], Path], goals: str
) -> None:
    _, path = applied
    no_key = kpi({"KPI_GOALS_URL": goals, "KPI_API_KEY": ""}, "simulate", "-f", str(path))
    assert no_key.returncode == 3  # configuration
    assert "KPI_API_KEY is not set" in no_key.stderr
    assert "kpi apply" in no_key.stderr
    empty = {"KPI_GOALS_URL": goals, "KPI_API_KEY": _tenant(goals)}
    unknown = kpi(empty, "simulate", "-f", str(path))
    assert unknown.returncode == 1
    assert "goals does not know KPI" in unknown.stderr
    assert "apply the strategy first" in unknown.stderr


def test_the_demo_traffic_takes_its_targets_from_goals(
    applied: tuple[dict[str, str], Path],
) -> None:
    cli, path = applied
    with _goals_targets(cli) as targets:
        events = traffic.simulated_events(path, targets)
    # the demo plants qualified-leads `achieved` and new-clients `breach` (45 % of the pace)
    leads = [e for e in events if e["metric"] == "crm.lead.qualified"]
    assert len(leads) == round(LEADS["2025-Q4"] * 1.08)
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    elapsed = (DEMO_NOW - start) / (end - start)
    won = [e for e in events if e["metric"] == "crm.deal.won"]
    assert len(won) == round(NEW_CLIENTS * PLANTS["breach"] * elapsed)


def test_the_bench_peer_alerts_over_the_target_goals_answers(
    goals: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPI_GOALS_URL", goals)
    tenant = BenchTenant.create(OPERATOR)
    budget = tenant.target(PEER_KPI)
    assert budget == BUDGET_USD
    [rule] = alert_rules(budget)["groups"][0]["rules"]
    assert rule["expr"] == f"{GAUGE} > 10"
    assert "of a 10 USD budget" in rule["annotations"]["summary"]


def test_the_bench_web_traffic_and_targets_come_from_goals_on_the_fiscal_calendar(
    applied: tuple[dict[str, str], Path],
) -> None:
    cli, path = applied
    now = datetime(2026, 5, 15, 12, tzinfo=UTC)  # fiscal 2026-Q1: April to June 2026
    with _goals_targets(cli) as targets:
        events = bench_web.simulated_events(yaml.safe_load(path.read_text()), targets, now)
    start, end = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    elapsed = (now - start) / (end - start)
    assert all(str(e["time"]) >= "2026-04-01" for e in events)
    won = [e for e in events if e["metric"] == "crm.deal.won"]  # planted `breach` on 205
    assert len(won) == round(NEW_CLIENTS * PLANTS[bench_web.PLANTS["new-clients"]] * elapsed)
    # unplanted: 100-112 % of the pace of 2026-Q1's own 300 (not the default 100, not 120)
    leads = len([e for e in events if e["metric"] == "crm.lead.qualified"])
    assert LEADS["2026-Q1"] * elapsed - 1 <= leads <= LEADS["2026-Q1"] * elapsed * 1.12 + 1
    bench = BenchTenant("r", "t", cli["KPI_API_KEY"], "")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KPI_GOALS_URL", cli["KPI_GOALS_URL"])
        assert bench.target("qualified-leads", now) == LEADS["2026-Q1"]
        assert bench.target("qualified-leads", datetime(2026, 2, 1, tzinfo=UTC)) == 120
        assert bench.target("new-clients", now) == NEW_CLIENTS
