"""The alert rules pass their promtool unit tests and name only metrics the services export,
and the deployed Prometheus configuration (with its targets on this machine) is valid, both
checked by the promtool of the Prometheus that scripts/bootstrap.sh installs."""

import shutil
import subprocess
from pathlib import Path

import yaml

from tests.support.prometheus import local_config
from tests.unit.deploy import metric_names
from tests.unit.deploy._paths import PROMETHEUS, SERVICES


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: scripts/bootstrap.sh installs the prometheus package"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def test_alert_rule_unit_tests_pass() -> None:
    tests = sorted((PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    done = promtool("test", "rules", *map(str, tests))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_configuration_and_its_rules_check(tmp_path: Path) -> None:
    targets = {name: f"127.0.0.1:{port}" for name, (port, _) in SERVICES.items()}
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(local_config(targets, 9090, 15)))
    done = promtool("check", "config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rules found" in done.stdout


def test_every_metric_a_rule_names_is_one_a_service_exports() -> None:
    for path in sorted((PROMETHEUS / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                used = metric_names.used(rule["expr"])
                assert used <= metric_names.exported(), (rule.get("alert"), used)
