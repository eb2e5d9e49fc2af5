"""`demo.tenant.wait_until`, with which the demo and the bench wait for the services."""

from typing import Any

import pytest

from demo.tenant import wait_until


def test_returns_the_first_truthy_answer_and_takes_an_exception_as_not_yet() -> None:
    answers: list[Any] = [ValueError("not up"), None, 0, {"status": "ok"}]

    def ready() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert wait_until("the service", ready, timeout_s=60) == {"status": "ok"}
    assert answers == []


def test_fails_naming_what_it_waited_for() -> None:
    with pytest.raises(RuntimeError, match="waiting for the evaluator to catch up"):
        wait_until("the evaluator to catch up", lambda: None, timeout_s=0)
