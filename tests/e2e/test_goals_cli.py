"""The goals service as a real process, driven by the `kpi` command: tenant, keys, apply,
dry run, round trip, cascade and alignment."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from tests.e2e.conftest import kpi
from tests.support.procs import running
from tests.support.strategy_events import ACME

OPERATOR = "e2e-operator-token"


def kpi_at_terminal(
    env: dict[str, str], typed: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """`kpi` with a terminal for its stdin, on which the user types `typed` and Enter."""
    master, terminal = os.openpty()
    try:
        os.write(master, f"{typed}\n".encode())
        return subprocess.run(
            [sys.executable, "-m", "kpi_cli.main", *args],
            env={**os.environ, "COLUMNS": "200", **env},
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(master)
        os.close(terminal)


def field(output: str, name: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith(name))
    return line.split()[1]


def test_the_kpi_command_drives_the_goals_service(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**service_env, "KPI_OPERATOR_TOKEN": OPERATOR}
    with running("goals", env, tmp_path) as svc:
        cli = {"KPI_GOALS_URL": svc.url, "KPI_OPERATOR_TOKEN": OPERATOR}
        made = kpi(cli, "tenants", "create", f"cli-{uuid.uuid4().hex[:8]}")
        assert made.returncode == 0, made.stderr
        cli["KPI_API_KEY"] = field(made.stdout, "admin_api_key")

        applied = kpi(cli, "apply", "-f", str(ACME))
        assert applied.returncode == 0, applied.stderr
        assert "created" in applied.stdout
        assert "nothing to change" in kpi(cli, "apply", "-f", str(ACME)).stdout

        edited = tmp_path / "edited.yaml"
        edited.write_text(ACME.read_text().replace("    target: 4.5\n", "    target: 4.6\n"))
        dry = kpi(cli, "apply", "-f", str(edited), "--dry-run")
        assert "kpi csat" in dry.stdout
        assert "target: 4.5 -> 4.6" in dry.stdout
        assert "would change: 0 created, 1 updated, 0 deleted" in dry.stdout

        exported = tmp_path / "exported.yaml"
        exported.write_text(kpi(cli, "get", "strategy").stdout)
        assert "nothing to change" in kpi(cli, "apply", "-f", str(exported)).stdout

        tree = kpi(cli, "cascade").stdout
        assert "goal grow-revenue" in tree
        assert "kpi bounce-rate" in tree
        chain = kpi(cli, "cascade", "--kpi", "bounce-rate").stdout
        assert "-> so that -> goal grow-revenue" in chain.replace("\n", "")

        findings = kpi(cli, "alignment").stdout
        assert "only_financial_kpis" in findings

        viewer = kpi(cli, "keys", "create", "--role", "viewer")
        assert viewer.returncode == 0, viewer.stderr
        as_viewer = kpi(
            {**cli, "KPI_API_KEY": field(viewer.stdout, "api_key")}, "apply", "-f", str(edited)
        )
        assert as_viewer.returncode == 1
        assert "read-only" in as_viewer.stderr

        assert kpi(cli, "apply", "-f", str(edited), "--reason", "Q1 review").returncode == 0
        history = kpi(cli, "history", "csat").stdout
        assert "Q1 review" in history
        assert "target: 4.5 -> 4.6" in history
        viewer_id = field(viewer.stdout, "key_id")
        assert viewer_id in kpi(cli, "keys", "list").stdout
        assert kpi(cli, "keys", "revoke", viewer_id).returncode == 0

        broken = tmp_path / "broken.yaml"
        broken.write_text(ACME.read_text().replace("so_that: engaged-people", "so_that: nope"))
        refused = kpi(cli, "apply", "-f", str(broken))
        assert refused.returncode == 1
        assert "kpis[12].so_that (line" in refused.stderr


def test_apply_asks_before_deleting_and_prints_titles_as_they_are(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 14, points 2 and 8: a two-line document deleted 20 nodes without a question; a
    KPI titled `New customers [/]` crashed `kpi apply` after applying, then `kpi cascade`."""
    env = {**service_env, "KPI_OPERATOR_TOKEN": OPERATOR}
    with running("goals", env, tmp_path) as svc:
        cli = {"KPI_GOALS_URL": svc.url, "KPI_OPERATOR_TOKEN": OPERATOR}
        made = kpi(cli, "tenants", "create", f"cli-{uuid.uuid4().hex[:8]}")
        cli["KPI_API_KEY"] = field(made.stdout, "admin_api_key")
        titled = tmp_path / "titled.yaml"
        csat = ("title: Customer satisfaction (CSAT)", "title: CSAT [/] [count]")
        titled.write_text(ACME.read_text().replace(*csat))
        applied = kpi(cli, "apply", "-f", str(titled))
        assert applied.returncode == 0, applied.stderr
        assert "CSAT [/] [count]" in kpi(cli, "cascade").stdout

        trimmed = tmp_path / "trimmed.yaml"
        trimmed.write_text("version: 1\norganization: {name: Acme}\n")
        refused = kpi(cli, "apply", "-f", str(trimmed))  # stdin is no terminal here
        assert refused.returncode == 7
        assert "│ delete │ kpi csat " in refused.stdout
        assert "there is no terminal to ask" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert "nothing to change" in kpi(cli, "apply", "-f", str(titled)).stdout

        declined = kpi_at_terminal(cli, "n", "apply", "-f", str(trimmed))
        assert declined.returncode == 7, declined.stderr
        count = re.search(r"deletes these (\d+) node\(s\)", refused.stdout)
        assert count, refused.stdout
        assert f"delete these {count.group(1)} node(s)? [y/N]" in declined.stdout
        assert "not applied: the deletions were not confirmed" in declined.stderr
        assert "nothing to change" in kpi(cli, "apply", "-f", str(titled)).stdout
        asked = kpi_at_terminal(cli, "y", "apply", "-f", str(trimmed))
        assert asked.returncode == 0, asked.stderr
        assert "kpi csat" not in kpi(cli, "cascade").stdout

        assert kpi(cli, "apply", "-f", str(titled)).returncode == 0
        confirmed = kpi(cli, "apply", "-f", str(trimmed), "--yes")
        assert confirmed.returncode == 0, confirmed.stderr
        assert "kpi csat" not in kpi(cli, "cascade").stdout


def test_an_admin_key_is_not_revoked_by_accident_and_the_operator_issues_a_new_one(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 14, point 4: `kpi keys revoke` of the key in use, the tenant's last admin key,
    answered exit 0 and left the tenant without an admin and no way to issue a new one."""
    env = {**service_env, "KPI_OPERATOR_TOKEN": OPERATOR}
    with running("goals", env, tmp_path) as svc:
        slug = f"cli-{uuid.uuid4().hex[:8]}"
        operator = {"KPI_GOALS_URL": svc.url, "KPI_OPERATOR_TOKEN": OPERATOR}
        made = kpi(operator, "tenants", "create", slug)
        cli = {"KPI_GOALS_URL": svc.url, "KPI_API_KEY": field(made.stdout, "admin_api_key")}
        own = _only_key(cli)
        refused = kpi(cli, "keys", "revoke", own)
        assert refused.returncode == 1
        assert "key making this call" in refused.stderr
        assert "last admin key" in refused.stderr
        assert "(--force)" in refused.stderr
        forced = kpi(cli, "keys", "revoke", own, "--force")
        assert (forced.returncode, forced.stdout) == (0, f"revoked {own}\n")
        assert kpi(cli, "keys", "list").returncode == 1  # locked out: 401

        issued = kpi(operator, "tenants", "admin-key", slug, "--name", "locked out")
        assert issued.returncode == 0, issued.stderr
        cli["KPI_API_KEY"] = field(issued.stdout, "admin_api_key")
        listed = kpi(cli, "keys", "list")
        assert listed.returncode == 0, listed.stderr
        assert "locked out" in listed.stdout
        assert "operator" in listed.stdout  # who issued it


def _only_key(cli: dict[str, str]) -> str:
    [row] = [line for line in kpi(cli, "keys", "list").stdout.splitlines() if "│ key_" in line]
    return row.split("│")[1].strip()
