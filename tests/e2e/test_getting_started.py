"""Issue 14: docs/getting-started.md runs end to end as written. Its ```sh blocks run in
order, as a new user pastes them into one terminal (tests/support/guide.py), in a folder of
their own, with `uv run kpi` of this checkout; what the guide shows the user is checked
(statuses, counts; not byte for byte).

In place of the skipped `make up` the test starts what `make up` starts: a mail sink and the
four services as processes on free ports, named by KPI_*_URL, on the shared Kafka and
PostgreSQL. A placeholder the reader replaces with a value printed earlier (ADMIN_API_KEY,
KEY_ID, ...) gets that value."""

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller

from demo.sinks import MailSink
from tests.conftest import Infra, _psql, _with_database
from tests.support.guide import Step, Terminal, filled, first, jsons, rows, steps
from tests.support.procs import free_port, service

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]
GUIDE = REPO / "docs" / "getting-started.md"
# the services' process names -> the CLI's KPI_<NAME>_URL
SERVICES = {"goals": "GOALS", "metrics-ingest": "INGEST", "evaluator": "EVALUATOR"}
SERVICES |= {"notifier": "NOTIFIER", "web": "WEB"}
# what the reader puts in place of a placeholder: the newest value printed that matches
PLACEHOLDERS = {
    "ADMIN_API_KEY": r"(?m)^admin_api_key +(kpi_\S+)",
    "KEY_ID": r"(?m)^key_id +(key_\w+)$",
    "SILENCE_ID": r"(?m)^silence (sil-\w+) until",
    "BREACH_ID": r"(?m)^│ \d+ +│ breach +│ email +│ bea +│ .*│ ([0-9a-f-]{36}) +│",
}
MAIL = Path(".local/demo/sinks/mail")  # in the reader's folder, as `make up` has it
Check = Callable[[str, str, Path], None]  # (the block's output, the output shown, folder)


@dataclass(frozen=True)
class Expect:
    command: str  # a command of exactly one block of the guide
    check: Check
    within_s: float = 0  # a block that only reads runs again until its check passes


def health(out: str, shown: str, work: Path) -> None:
    ready = {r[0]: r[3] for r in rows(out)}
    assert ready == {name: "yes" for name in SERVICES}  # answers* when found by default


def tenant(out: str, shown: str, work: Path) -> None:
    assert re.search(r"(?m)^tenant_id +[0-9a-f-]{36}$", out)
    assert re.search(r"(?m)^admin_api_key +kpi_\S+ +\(shown once: keep it safe\)$", out)


def keys(out: str, shown: str, work: Path) -> None:
    assert len(re.findall(r"(?m)^api_key +kpi_\S+", out)) == 2
    assert [(r[1], r[3]) for r in rows(out)] == [
        ("admin", "initial admin key"),
        ("ingest", "billing feed"),
        ("viewer", "wall screen"),
    ]


def revoked(out: str, shown: str, work: Path) -> None:
    assert re.fullmatch(r"revoked key_\w+\n", out)


def schema(out: str, shown: str, work: Path) -> None:
    assert "kpis" in json.loads((work / "strategy.schema.json").read_text())["properties"]


def applied(out: str, shown: str, work: Path) -> None:
    summary = shown.splitlines()[-1]  # changed: 14 created, 0 updated, 0 deleted
    assert out.splitlines()[-1] == summary
    assert "would " + summary.replace("changed", "change") in out.splitlines()
    assert ["create", "unit sales", "1", ""] in rows(out)


def editor_key(out: str, shown: str, work: Path) -> None:
    assert re.search(r"(?m)^api_key +kpi_\S+ +\(shown once", out)


def looked(out: str, shown: str, work: Path) -> None:
    assert "goal grow-revenue: Grow revenue 15% this fiscal year (alex)" in out
    chain = "kpi new-customers: New customers (bea) -> so that -> objective more-customers"
    assert chain in out
    # a sound strategy: no finding of goals' own; before any event, the evaluator's data
    # health says each measured KPI has no data yet (docs/evaluator.md, "Data health"); from
    # its `next` date on, the guide's review is overdue until held (the notifier's finding)
    assert "0 error(s)" in out
    warned = [r for r in rows(out) if len(r) > 2 and r[0] == "warning"]
    assert {r[1] for r in warned} <= {"kpi_without_data", "review_overdue"}
    assert sorted(r[2] for r in warned if r[1] == "kpi_without_data") == [
        "kpi new-customers",
        "kpi revenue",
    ]
    assert [rows(out)[-1][i] for i in (0, 2, 4)] == ["1", "create", "first version"]
    current = yaml.safe_load((work / "current.yaml").read_text())
    assert [k["id"] for k in current["kpis"]] == ["revenue", "new-customers"]
    assert out.splitlines()[-1] == "nothing to change"  # the document back applies as is


def same_answer(out: str, shown: str, work: Path) -> None:
    assert jsons(out)[-1] == json.loads(shown)


def sent(out: str, shown: str, work: Path) -> None:
    assert shown.splitlines()[-1] in out.splitlines()  # accepted 2, duplicates 0, rejected 0


def simulated(out: str, shown: str, work: Path) -> None:
    found = re.search(r"wrote (\d+) events to events.jsonl", out)
    assert found
    assert int(found.group(1)) > 0
    assert f"accepted {found.group(1)}, duplicates 0, rejected 0" in out.splitlines()


def source(out: str, shown: str, work: Path) -> None:
    [answer] = jsons(out)
    assert isinstance(answer, dict)
    assert answer["signature"]["secret"] == "***"
    assert answer["webhook_url"] == "/v1/sources/northwind-billing/webhook"


def rejects(out: str, shown: str, work: Path) -> None:
    voided, dead = jsons(out)
    [reason] = re.findall(r'"reason":"([^"]+)"', shown)  # the mapping produced no events ...
    assert voided == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [{"index": None, "reason": reason}],
    }
    [item] = dead["items"]
    assert item["reason"] == reason
    assert '"evt_1002"' in item["payload"]


def scorecard(out: str, shown: str, work: Path) -> None:
    assert re.search(r"on_track +\d+% +Revenue \(revenue, \d{4}\): [\d,]+ / 2,300,000 GBP", out)
    customers = r"off_track +\d+% +New customers \(new-customers, \d{4}-Q\d\): \d+ / 30 customers"
    assert re.search(customers, out)
    statuses = first(rows(shown), 3)  # northwind: off_track 1, on_track 1; sales: off_track 1
    assert statuses.items() <= first(rows(out), 3).items()
    assert "Scorecard sales: score" in out
    kpis = {k["id"]: k for k in jsons(out)[0]["kpis"]}
    assert {k: v["status"] for k, v in kpis.items()} == {
        "new-customers": "off_track",
        "revenue": "on_track",
    }
    counted(kpis["new-customers"], kpis["revenue"], work)
    [now, q2] = [r for r in rows(out) if r[0] == "new-customers"]
    assert now[2] == "off_track"
    assert re.fullmatch(r"[0-9a-f-]{36}", now[-1])
    assert q2[1:3] == ["2026-Q2", "no_data"]


def counted(customers: dict[str, Any], revenue: dict[str, Any], work: Path) -> None:
    """Each event the guide sent counts once: the simulated ones, deal-1001 (not its
    duplicate nor the rejected deal-1002), deal-2001 and the two invoices of November 2026,
    while their period is the one shown."""
    simulated = [json.loads(line) for line in (work / "events.jsonl").read_text().splitlines()]
    deals = [e for e in simulated if e["metric"] == "crm.deal.won"]
    new = sum(e["dimensions"].get("new_customer") is True for e in deals)
    paid = sum(e["value"] for e in simulated if e["metric"] == "billing.invoice.paid")
    new += 2 if customers["period"] == "2026-Q3" else 0
    paid += 12500.50 + 4200 if revenue["period"] == "2026" else 0
    assert customers["actual"] == new
    assert revenue["actual"] == pytest.approx(paid)


def notified(out: str, shown: str, work: Path) -> None:
    log = {(r[1], r[2], r[3]): (r[4], r[-1]) for r in rows(out) if len(r) == 8}
    assert log[("breach", "email", "bea")][0] == "sent"
    assert log[("test", "email", "bea")][0] == "sent"
    unset = "environment variable NORTHWIND_SALES_SLACK_WEBHOOK is not set"
    assert log[("breach", "sales-slack", "sales-slack")][1].startswith(unset)
    assert log[("test", "sales-slack", "sales-slack")][1].startswith(unset)
    mail = [json.loads(f.read_text()) for f in (work / MAIL).iterdir()]
    to_bea = [m["text"] for m in mail if m["to"] == ["bea@northwind.example"]]
    assert any("hello from the getting-started guide" in text for text in to_bea)
    assert any("New customers" in text for text in to_bea)


def acted(out: str, shown: str, work: Path) -> None:
    assert re.search(r"(?m)^acknowledged [0-9a-f-]{36} at \S+$", out)
    assert re.search(r"(?m)^silence sil-\w+ until \S+$", out)
    assert [[r[1], r[3]] for r in rows(out)] == [["unit=sales", "pipeline data migration"]]
    assert re.search(r"(?m)^sales-review held on \d{4}-\d\d-\d\d; next due \d{4}-\d\d-\d\d$", out)


def removed(out: str, shown: str, work: Path) -> None:
    assert re.fullmatch(r"silence sil-\w+ removed\n", out)


EXPECTS = [
    Expect("uv run kpi health", health),
    Expect("uv run kpi tenants create northwind", tenant),
    Expect('--role viewer --name "wall screen"', keys),
    Expect("uv run kpi keys revoke", revoked),
    Expect("/v1/strategy/schema > strategy.schema.json", schema),
    Expect('uv run kpi apply -f strategy.yaml --reason "first version"', applied),
    Expect("uv run kpi keys create --role editor --unit sales", editor_key),
    Expect("uv run kpi cascade ", looked),
    Expect("$INGEST/v1/events", same_answer),
    Expect("uv run kpi send -f backfill.csv", sent),
    Expect("uv run kpi simulate", simulated),
    Expect("curl -X PUT $INGEST/v1/sources/northwind-billing", source),
    Expect("--data-binary @invoice-paid.json", same_answer),
    Expect("/v1/sources/northwind-billing/rejects", rejects),
    Expect("uv run kpi scorecard ", scorecard, within_s=60),
    Expect("uv run kpi notifications --limit 20", notified, within_s=60),
    Expect("uv run kpi ack BREACH_ID", acted),
    Expect("uv run kpi silence rm", removed),
]


def expect(step: Step) -> Expect:
    """The check of a block that runs; a block that shows its output has one."""
    found = [e for e in EXPECTS if e.command in step.code]
    assert len(found) <= 1, f"{step.title}: more than one check: {found}"
    assert found or step.shown is None, f"{step.title} shows output the test does not check"
    return found[0] if found else Expect("", lambda *_: None)


def run(terminal: Terminal, step: Step, transcript: list[str]) -> None:
    """Run the block (again, while its check fails, if it may); fail naming it."""
    check, code = expect(step), filled(step, transcript, PLACEHOLDERS)
    deadline = time.monotonic() + check.within_s
    while True:
        status, out = terminal.run(code)
        assert status == 0, f"docs/getting-started.md, {step.title} exited {status}:\n{out}"
        try:
            check.check(out, step.shown or "", terminal.cwd)
            break
        except (AssertionError, LookupError, ValueError, TypeError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"docs/getting-started.md, {step.title}:\n{out}") from exc
            time.sleep(1)
    transcript.append(out)


def reader_env() -> dict[str, str]:
    """A new reader's environment: this machine's without our KPI_ settings, `uv run kpi`
    of this checkout from their own folder, a terminal 200 columns wide."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
    return env | {"UV_PROJECT": str(REPO), "UV_FROZEN": "1", "COLUMNS": "200"}


@pytest.fixture
def database_url(infra: Infra, unique: str) -> Iterator[str]:
    name = f"kpi_guide_{unique}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def make_up(env: dict[str, str], work: Path, logs: Path) -> Iterator[dict[str, str]]:
    """What `make up` starts (the mail sink writing into the reader's folder, the four
    services), on free ports; yields the KPI_*_URL variables naming the services."""
    with ExitStack() as stack:
        (work / MAIL).mkdir(parents=True)
        sink = Controller(MailSink(work / MAIL), hostname="127.0.0.1", port=free_port())
        sink.start()
        stack.callback(sink.stop)
        env = env | {"KPI_SMTP_HOST": "127.0.0.1", "KPI_SMTP_PORT": str(sink.port)}
        procs = [service(name, env, logs / f"{name}.log") for name in SERVICES]
        urls = {f"KPI_{SERVICES[p.name]}_URL": p.url for p in procs}
        web = {f"KPI_WEB_{n}_URL": urls[f"KPI_{n}_URL"] for n in ("GOALS", "EVALUATOR", "NOTIFIER")}
        for proc in procs:
            stack.callback(proc.stop)
            proc.env.update(web if proc.name == "web" else {})
            proc.start()
        for proc in procs:
            proc.wait_ready(timeout_s=120)
        yield urls


def test_the_getting_started_guide_runs_as_written(
    infra: Infra, database_url: str, unique: str, tmp_path: Path
) -> None:
    work, logs = tmp_path / "northwind", tmp_path / "logs"
    work.mkdir()
    logs.mkdir()
    terminal, transcript = Terminal(work, reader_env()), list[str]()
    services = {
        "KPI_DATABASE_URL": database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": f"{infra.topic_prefix}{unique}.",
    }
    guide = steps(GUIDE.read_text(encoding="utf-8"))
    with ExitStack() as stack:
        for step in guide:
            if step.name is not None:
                (work / step.name).write_text(step.code)
            elif step.skip is None:
                run(terminal, step, transcript)
            elif re.match(r"make up\b", step.code):
                urls = stack.enter_context(make_up(terminal.env | services, work, logs))
                terminal.env |= urls
    checked = sorted(expect(s).command for s in guide if s.skip is None and s.name is None)
    assert [c for c in checked if c] == sorted(e.command for e in EXPECTS)  # each ran once
    assert len([s for s in guide if s.skip]) == 3  # make demo, make up, a real mail server
    for log in logs.iterdir():  # what the reader did broke nothing inside
        assert not [line for line in log.read_text().splitlines() if unexpected(line)], log.name


def unexpected(line: str) -> bool:
    """A traceback or an error logged, but the guide's unset Slack webhook that ends dead."""
    dead = "delivery dead-lettered" in line and "NORTHWIND_SALES_SLACK_WEBHOOK is not set" in line
    return "Traceback" in line or ("[error" in line and not dead)
