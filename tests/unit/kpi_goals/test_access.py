"""Roles and an editor's unit subtree, as pure rules."""

import uuid

import pytest
from kpi_common.errors import Forbidden
from kpi_goals.access import (
    Principal,
    check_editor_changes,
    node_unit,
    require_admin,
    require_read,
    require_write,
    subtree,
)
from kpi_goals.nodes import Change

PARENTS = {"acme": None, "sales": "acme", "sales-emea": "sales", "finance": "acme"}
T = uuid.uuid4()


def who(role: str, scope: str | None = None) -> Principal:
    return Principal(T, "key_1", role, scope)  # type: ignore[arg-type]


def test_subtree_is_the_unit_and_everything_below() -> None:
    assert subtree(PARENTS, "sales") == {"sales", "sales-emea"}
    assert subtree(PARENTS, "acme") == set(PARENTS)


@pytest.mark.parametrize(
    ("role", "read", "write", "admin"),
    [
        ("admin", True, True, True),
        ("editor", True, True, False),
        ("viewer", True, False, False),
        ("ingest", False, False, False),
    ],
)
def test_each_role_limits(role: str, read: bool, write: bool, admin: bool) -> None:
    for check, allowed in ((require_read, read), (require_write, write), (require_admin, admin)):
        if allowed:
            check(who(role))
        else:
            with pytest.raises(Forbidden):
                check(who(role))


def test_a_node_belongs_to_its_unit_or_to_that_of_what_it_serves() -> None:
    assert node_unit("kpi", {"unit": "finance"}, {}) == "finance"
    assert node_unit("success_factor", {"supports": ["win"]}, {"win": "sales"}) == "sales"
    assert node_unit("kpi", {"so_that": "win"}, {"win": "sales"}) == "sales"
    assert node_unit("unit", {"id": "sales-emea", "parent": "sales"}, {}) == "sales"
    assert node_unit("unit", {"id": "acme"}, {}) is None
    assert node_unit("alert_route", {"notify": ["owner"]}, {}) is None


def test_a_scoped_editor_changes_only_inside_its_subtree() -> None:
    inside = Change("update", "kpi", "k1", 2, {"unit": "sales-emea"}, {"unit": "sales"})
    moved_out = Change("update", "kpi", "k2", 2, {"unit": "finance"}, {"unit": "sales"})
    allowed = subtree(PARENTS, "sales")
    check_editor_changes(who("editor", "sales"), [inside], allowed, {})
    with pytest.raises(Forbidden, match="kpi k2"):
        check_editor_changes(who("editor", "sales"), [inside, moved_out], allowed, {})
    check_editor_changes(who("editor"), [moved_out], allowed, {})
    check_editor_changes(who("admin"), [moved_out], allowed, {})
