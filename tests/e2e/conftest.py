import pytest

from tests.conftest import Infra

pytestmark = pytest.mark.e2e


@pytest.fixture
def service_env(infra: Infra) -> dict[str, str]:
    """Environment for a service process on this session's database and topic prefix."""
    return {
        "KPI_DATABASE_URL": infra.database_url,
        "KPI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "KPI_TOPIC_PREFIX": infra.topic_prefix,
        "KPI_LOG_LEVEL": "INFO",
    }
