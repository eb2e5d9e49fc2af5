import pytest
from kpi_common.apikeys import bearer_token, hash_api_key, key_matches, new_api_key
from kpi_common.errors import FieldError, Invalid, loc_to_path


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("kpis", 3, "measure", "aggregation"), "kpis[3].measure.aggregation"),
        (("organization", "name"), "organization.name"),
        ((0, "value"), "[0].value"),
        ((), ""),
    ],
)
def test_loc_to_path(loc: tuple[int | str, ...], path: str) -> None:
    assert loc_to_path(loc) == path


def test_error_body_names_each_field() -> None:
    err = Invalid("strategy rejected", [FieldError("kpis[3].target", "must be a number", 88)])
    assert err.status == 422
    assert err.body() == {
        "error": {
            "code": "invalid",
            "message": "strategy rejected",
            "errors": [{"path": "kpis[3].target", "message": "must be a number", "line": 88}],
        }
    }


def test_api_keys_hash_one_way_and_match() -> None:
    key = new_api_key()
    assert key.startswith("kpi_")
    assert len(key) > 40
    stored = hash_api_key(key)
    assert key not in stored
    assert key_matches(key, stored)
    assert not key_matches(key + "x", stored)
    assert new_api_key() != key


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer ", None),
        (None, None),
        ("", None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
