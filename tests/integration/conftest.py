from collections.abc import AsyncIterator

import pytest
from kpi_common.db import create_engine
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Infra

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(infra.database_url, pool_size=2)
    yield eng
    await eng.dispose()
