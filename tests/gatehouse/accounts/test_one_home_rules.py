"""Rules the routes and the admin CLI share live in the accounts layer, so neither can skip them."""

from __future__ import annotations

import re

import pytest

from gatehouse.accounts import activity, admin, sessions, signup
from gatehouse.accounts.paging import checked_cursor
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import InvalidRequest
from gatehouse.services import Services

PASSWORD = "Tulip-Marble-9-Harbour"


def test_sign_up_without_an_address_is_refused_by_the_use_case_when_an_address_is_required(
    rt: Services,
) -> None:
    with pytest.raises(InvalidRequest, match="email is required"):
        signup.create_user(rt, "alice", PASSWORD, ("user",), require_email=True)
    assert rt.users.get("alice") is None


def test_an_address_given_satisfies_the_required_address_rule(rt: Services) -> None:
    user = signup.create_user(rt, "alice", PASSWORD, ("user",), "alice@example.com", require_email=True)
    stored = rt.users.get("alice")
    assert stored is not None
    assert stored.account_id == user.account_id


def test_an_account_without_an_address_is_allowed_when_none_is_required(rt: Services) -> None:
    assert signup.create_user(rt, "alice", PASSWORD, ("user",)).username == "alice"


@pytest.mark.parametrize("cursor", ["", "email#alice@example.com", "x" * 300, "a b"])
def test_a_cursor_of_another_shape_than_the_lists_keys_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidRequest, match="cursor is not valid"):
        checked_cursor(cursor, re.compile(r"[a-z]{1,8}"))


def test_an_absent_cursor_or_one_of_the_keys_shape_passes_unchanged() -> None:
    assert checked_cursor(None, re.compile(r"[a-z]+")) is None
    assert checked_cursor("abc", re.compile(r"[a-z]+")) == "abc"


def test_every_paged_use_case_refuses_a_forged_cursor(rt: Services) -> None:
    user = signup.create_user(rt, "alice", PASSWORD, ("user",))
    me = Identity(username="alice", roles=("user",), session_id="s", account_id=user.account_id, token_id="t")
    forged = "email#alice@example.com"
    with pytest.raises(InvalidRequest):
        sessions.list_sessions(rt, me, 10, forged)
    with pytest.raises(InvalidRequest):
        activity.own_events(rt, me, 10, forged)
    with pytest.raises(InvalidRequest):
        admin.list_users(rt.users, 10, forged)
