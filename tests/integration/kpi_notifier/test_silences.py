"""A silence must name KPIs and units the tenant's strategy has (learned from
goals.changes): one on a mistyped KPI would hold nothing back, silently."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Infra
from tests.integration.kpi_notifier.conftest import auth, harness, settings_for
from tests.integration.kpi_notifier.servers import SmtpServer

pytestmark = pytest.mark.integration


def now() -> datetime:
    return datetime.now(UTC)


async def test_a_silence_on_an_unknown_kpi_or_unit_is_refused(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    ends_at = (now() + timedelta(hours=1)).isoformat()
    async with harness(infra, unique, settings, now, {}) as h:
        await h.strategy()
        admin = await h.api_key("admin")

        async def silence(**matchers: object) -> tuple[int, dict[str, object]]:
            body = {"matchers": matchers, "ends_at": ends_at}
            resp = await h.api.post("/v1/silences", json=body, headers=auth(admin))
            return resp.status_code, resp.json()

        unknown_kpi = await silence(kpi="no-such-kpi")
        unknown_both = await silence(kpi=["csat", "cast"], unit="slaes")
        known = await silence(kpi="csat", unit="sales")
        listed = (await h.api.get("/v1/silences", headers=auth(admin))).json()
    assert unknown_kpi[0] == 422
    assert unknown_kpi[1]["error"]["errors"] == [  # type: ignore[index]
        {"path": "matchers.kpi", "message": "no kpi 'no-such-kpi' in the strategy"}
    ]
    assert unknown_both[0] == 422
    assert [e["path"] for e in unknown_both[1]["error"]["errors"]] == [  # type: ignore[index]
        "matchers.kpi",
        "matchers.unit",
    ]
    assert known[0] == 201
    assert [s["matchers"] for s in listed] == [{"kpi": "csat", "unit": "sales"}]
