"""A deleted account's second factor is worthless against a later account of the same name.

Each test gives "alice" a factor, deletes her, lets somebody register "alice"
again at once with the same password (the worst case) and a factor of their
own, then tries one thing the first account held against the second: its
``mfa_token``, its codes, its recovery codes, its remembered device, its
sealed secret, a write of its factor state.
"""

from __future__ import annotations

import pytest

from gatehouse.accounts.factor_key import SealedSecretError
from gatehouse.storage.users import AccountKey
from tests.conftest import bearer, json_body, post_json
from tests.gatehouse.accounts.test_remembered_devices import remembered_device
from tests.gatehouse.web.test_mfa_login import RECOVERY, challenge, otp_grant, password_grant


def delete_and_take_the_name_again(client, rt, make_mfa_user, user):
    """Delete ``user``'s account (as its owner) and give the name to a new account with a factor."""
    response = post_json(
        client, "/auth/account/delete", {"current_password": user.creds.password}, bearer(user.access_token)
    )
    assert response.status_code == 204, response.body
    again = make_mfa_user(user.creds.username)
    assert again.creds.account_id != user.creds.account_id
    return again


def test_an_mfa_token_of_a_deleted_account_opens_nothing_in_a_later_one(
    client, rt, make_mfa_user, authenticator
) -> None:
    old = make_mfa_user("alice")
    stale = challenge(client, old.creds)
    new = delete_and_take_the_name_again(client, rt, make_mfa_user, old)
    # The new account's own code, even: the token names the old incarnation.
    response = otp_grant(client, stale, authenticator.next_code(new.secret))
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_grant")


def test_the_old_accounts_codes_and_recovery_codes_do_not_finish_the_new_ones_login(
    client, rt, make_mfa_user, authenticator
) -> None:
    old = make_mfa_user("alice")
    new = delete_and_take_the_name_again(client, rt, make_mfa_user, old)
    response = otp_grant(client, challenge(client, new.creds), authenticator.next_code(old.secret))
    assert response.status_code == 400
    body = {
        "grant_type": RECOVERY,
        "mfa_token": challenge(client, new.creds),
        "recovery_code": old.recovery_codes[0],
    }
    response = post_json(client, "/auth/token", body)
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_grant")


def test_a_remembered_device_of_the_deleted_account_is_not_remembered_by_the_new_one(
    client, rt, make_mfa_user, authenticator
) -> None:
    old = make_mfa_user("alice")
    device_token = remembered_device(client, old, authenticator)
    new = delete_and_take_the_name_again(client, rt, make_mfa_user, old)
    assert password_grant(client, new.creds, device_token=device_token).status_code == 403


def test_a_sealed_secret_of_the_old_account_does_not_open_as_the_new_ones(client, rt, make_mfa_user) -> None:
    old = make_mfa_user("alice")
    sealed = rt.factors.get(rt.users.get("alice")).sealed_secret
    new = delete_and_take_the_name_again(client, rt, make_mfa_user, old)
    assert rt.mfa_keys.open(sealed, old.creds.account_id)  # it opened for its own account
    with pytest.raises(SealedSecretError):
        rt.mfa_keys.open(sealed, new.creds.account_id)


def test_a_factor_write_for_the_deleted_incarnation_never_reaches_the_new_account(
    client, rt, make_mfa_user, make_user
) -> None:
    old = make_mfa_user("alice")
    state = rt.factors.get(rt.users.get("alice"))
    gone = AccountKey("alice", old.creds.account_id)
    post_json(
        client, "/auth/account/delete", {"current_password": old.creds.password}, bearer(old.access_token)
    )
    new = make_user("alice")  # a new account of the name, without a factor
    assert rt.factors.get(gone) is None
    assert not rt.factors.start_enrolment(gone, "v1.x.y", rt.now() + 60)
    assert not rt.factors.remove(gone)
    assert not rt.factors.accept_step(gone, str(state.sealed_secret), 10**9)
    row = rt.table(rt.settings.users_table).get_item(Key={"username": "alice"})["Item"]
    assert not any(name.startswith("mfa_") for name in row)
    assert password_grant(client, new).status_code == 200  # the password alone, as before
