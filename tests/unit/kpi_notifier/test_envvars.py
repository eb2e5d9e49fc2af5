import pytest
from kpi_notifier.envvars import MissingVariable, resolve


def test_references_are_replaced_from_the_environment() -> None:
    env = {"HOOK": "https://hooks.example/T1", "TOKEN": "abc"}
    assert resolve("${HOOK}?t=${TOKEN}", env, "x") == "https://hooks.example/T1?t=abc"
    assert resolve("plain", {}, "x") == "plain"


def test_a_missing_or_empty_variable_is_a_delivery_error_naming_it() -> None:
    with pytest.raises(MissingVariable, match=r"environment variable A, B is not set \(chan\)"):
        resolve("${B}${A}", {"A": ""}, "chan")
