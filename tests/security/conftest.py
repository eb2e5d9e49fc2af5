"""The security suite (docs/security.md): every test here is marked `security`, needs the
real Kafka and PostgreSQL, and shares one in-process stack of the four services."""

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import Infra, _psql, _with_database
from tests.security.stack import Stack, running_stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/security/" in item.nodeid:
            item.add_marker(pytest.mark.security)


@pytest.fixture(scope="session")
def security_database(infra: Infra) -> Iterator[str]:
    """A database of the suite's own: the notifier's loops work across every tenant of theirs."""
    name = f"kpi_sec_{uuid.uuid4().hex[:8]}"
    _psql(infra.admin_database_url, f'CREATE DATABASE "{name}"')
    yield _with_database(infra.admin_database_url, name)
    _psql(infra.admin_database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def stack(infra: Infra, security_database: str) -> Iterator[Stack]:
    with running_stack(infra, security_database) as running:
        yield running
