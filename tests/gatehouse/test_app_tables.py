"""``gate.table(...)``: one declaration per app table, refused at import when it cannot be deployed."""

from __future__ import annotations

import pytest
from chalice import Chalice

from gatehouse import Gatehouse
from gatehouse.app_tables import DEFAULT_ACTIONS, TableDeclarationError


@pytest.fixture
def gate() -> Gatehouse:
    return Gatehouse(Chalice(app_name="shop"), env={})


def test_a_declaration_names_its_variable_resource_and_local_table(gate: Gatehouse) -> None:
    carts = gate.table("shopping_carts", partition_key="owner", sort_key="cart_id")
    assert (carts.variable, carts.logical_id, carts.local_name) == (
        "SHOPPING_CARTS_TABLE",
        "ShoppingCartsTable",
        "shop-shopping_carts",
    )
    assert carts.physical_name({}) == "shop-shopping_carts"
    assert carts.physical_name({"SHOPPING_CARTS_TABLE": "stack-CartsTable-1X"}) == "stack-CartsTable-1X"
    assert carts.actions == DEFAULT_ACTIONS
    assert carts.account_deleted_actions == ()
    assert gate.tables == (carts,)


def test_create_table_arguments_follow_the_keys(gate: Gatehouse) -> None:
    one_key = gate.table("flags", partition_key="name").create_table_arguments({})
    assert one_key["KeySchema"] == [{"AttributeName": "name", "KeyType": "HASH"}]
    two_keys = gate.table("orders", partition_key="owner", sort_key="order_id").create_table_arguments({})
    assert [k["KeyType"] for k in two_keys["KeySchema"]] == ["HASH", "RANGE"]
    assert two_keys["BillingMode"] == "PAY_PER_REQUEST"


def test_actions_take_the_short_or_the_iam_spelling_once_each(gate: Gatehouse) -> None:
    table = gate.table("t", partition_key="k", actions=["GetItem", "dynamodb:GetItem", "Query"])
    assert table.iam_actions() == ["dynamodb:GetItem", "dynamodb:Query"]


@pytest.mark.parametrize(
    ("name", "options", "says"),
    [
        ("Orders", {}, "lower-case"),
        ("users", {}, "Gatehouse's own"),
        ("orders", {"actions": ["DeleteTable"]}, "unknown action DeleteTable"),
        ("orders", {"account_deleted_actions": "Query"}, "actions are a list"),
        ("orders", {"sort_key": "owner"}, "must differ"),
        ("orders", {"sort_key": "bad key"}, "not a valid key"),
    ],
)
def test_a_declaration_that_cannot_be_deployed_is_refused(
    gate: Gatehouse, name: str, options: dict[str, object], says: str
) -> None:
    with pytest.raises(TableDeclarationError, match=says):
        gate.table(name, partition_key="owner", **options)  # type: ignore[arg-type]


def test_a_table_declared_twice_is_refused(gate: Gatehouse) -> None:
    gate.table("orders", partition_key="owner")
    with pytest.raises(TableDeclarationError, match="twice"):
        gate.table("orders", partition_key="owner")
