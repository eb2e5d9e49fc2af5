"""What an `apikey.upserted` says of a key, in either version (docs/events.md, "API keys")."""

from kpi_common.apikeys import KeyRecord, key_record
from kpi_common.events import ApiKeyUpserted, ApiKeyUpsertedV2

HASH = "sha256:" + "0" * 64


def test_a_v2_event_carries_its_revision() -> None:
    data = ApiKeyUpsertedV2(
        key_id="k", key_hash=HASH, role="editor", unit_scope="sales", revision=2, revoked=True
    )
    assert key_record("t", data) == KeyRecord("k", "t", HASH, "editor", "sales", True, 2)


def test_a_v1_event_is_the_creation_or_the_revocation() -> None:
    created = ApiKeyUpserted(key_id="k", key_hash=HASH, role="ingest")
    revoked = ApiKeyUpserted(key_id="k", key_hash=HASH, role="ingest", revoked=True)
    assert key_record("t", created).revision == 1
    assert key_record("t", revoked).revision == 2
