from kpi_common.apikeys import hash_api_key, new_api_key
from kpi_ingest.keys import ADMIN_ROLES, INGEST_ROLES, KeyGrant, KeyRing


def _grant(key: str, role: str = "ingest", revoked: bool = False) -> KeyGrant:
    return KeyGrant("k1", "t1", hash_api_key(key), role, revoked)


def test_only_live_keys_of_an_allowed_role_authenticate() -> None:
    ingest, viewer, revoked = new_api_key(), new_api_key(), new_api_key()
    ring = KeyRing([_grant(ingest), _grant(viewer, "viewer"), _grant(revoked, revoked=True)])
    assert ring.authenticate(ingest, INGEST_ROLES) == _grant(ingest)
    assert ring.authenticate(viewer, INGEST_ROLES) is None
    assert ring.authenticate(revoked, INGEST_ROLES) is None
    assert ring.authenticate(ingest, ADMIN_ROLES) is None
    assert ring.authenticate(new_api_key(), INGEST_ROLES) is None
    assert ring.authenticate(None, INGEST_ROLES) is None
