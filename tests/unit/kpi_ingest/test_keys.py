from kpi_common.apikeys import hash_api_key, new_api_key
from kpi_ingest.keys import ADMIN_ROLES, INGEST_ROLES, KeyGrant, KeyRing, wrong_role


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


def test_a_live_key_of_another_role_is_named_in_the_refusal() -> None:
    viewer, revoked = new_api_key(), new_api_key()
    ring = KeyRing([_grant(viewer, role="viewer"), _grant(revoked, revoked=True)])
    assert ring.live(viewer) == _grant(viewer, role="viewer")
    assert ring.live(revoked) is None
    assert ring.live(None) is None
    assert wrong_role("editor", ADMIN_ROLES) == (
        "this key has role 'editor'; managing sources needs an 'admin' key"
    )
