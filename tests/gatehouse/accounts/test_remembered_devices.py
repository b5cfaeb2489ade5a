"""Remembered devices: after a second factor, a device with its device token may skip it for N days."""

from __future__ import annotations

from tests.conftest import bearer, json_body, post_json
from tests.gatehouse.web.test_mfa_login import challenge, claims, otp_grant, password_grant

DAY = 24 * 3600


def remembered_device(client, user, authenticator) -> str:
    """Log in with a code; the device token the grant hands out is then remembered."""
    response = otp_grant(client, challenge(client, user.creds), authenticator.next_code(user.secret))
    assert response.status_code == 200, response.body
    return str(json_body(response)["device_token"])


def test_a_remembered_device_signs_in_with_the_password_alone(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    device_token = remembered_device(client, user, authenticator)
    response = password_grant(client, user.creds, device_token=device_token)
    assert response.status_code == 200
    token = json_body(response)["access_token"]
    assert (claims(token)["amr"], claims(token)["aal"]) == (["pwd", "mfa"], 2)


def test_another_device_still_gets_the_challenge(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    remembered_device(client, user, authenticator)
    assert password_grant(client, user.creds).status_code == 403


def test_the_device_is_remembered_for_the_configured_days_only(
    client, clock, make_runtime, make_mfa_user, authenticator
) -> None:
    make_runtime(mfa_remember_days=2)
    user = make_mfa_user()
    device_token = remembered_device(client, user, authenticator)
    clock.advance(2 * DAY - 60)
    assert password_grant(client, user.creds, device_token=device_token).status_code == 200
    clock.advance(120)
    assert password_grant(client, user.creds, device_token=device_token).status_code == 403


def test_zero_days_turns_remembering_off(client, make_runtime, make_mfa_user, authenticator) -> None:
    make_runtime(mfa_remember_days=0)
    user = make_mfa_user()
    device_token = remembered_device(client, user, authenticator)
    assert password_grant(client, user.creds, device_token=device_token).status_code == 403


def test_the_client_may_decline_to_be_remembered(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    response = otp_grant(
        client, challenge(client, user.creds), authenticator.next_code(user.secret), remember_device="false"
    )
    device_token = json_body(response)["device_token"]
    assert password_grant(client, user.creds, device_token=device_token).status_code == 403


def test_a_password_change_ends_every_remembered_device(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    device_token = remembered_device(client, user, authenticator)
    token = json_body(password_grant(client, user.creds, device_token=device_token))["access_token"]
    new = "another-Quiet-Lantern-77"
    changed = post_json(
        client,
        "/auth/password",
        {"current_password": user.creds.password, "new_password": new},
        bearer(token),
    )
    assert changed.status_code == 204
    body = {
        "grant_type": "password",
        "username": user.creds.username,
        "password": new,
        "device_token": device_token,
    }
    assert post_json(client, "/auth/token", body).status_code == 403


def test_ending_all_sessions_ends_every_remembered_device(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    device_token = remembered_device(client, user, authenticator)
    token = json_body(password_grant(client, user.creds, device_token=device_token))["access_token"]
    assert client.http.delete("/auth/sessions", headers=bearer(token)).status_code == 204
    assert password_grant(client, user.creds, device_token=device_token).status_code == 403


def test_removing_and_adding_the_factor_again_ends_every_remembered_device(
    client, make_mfa_user, authenticator
) -> None:
    user = make_mfa_user()
    device_token = remembered_device(client, user, authenticator)
    token = json_body(password_grant(client, user.creds, device_token=device_token))["access_token"]
    removed = post_json(
        client, "/auth/mfa/totp/remove", {"code": authenticator.next_code(user.secret)}, bearer(token)
    )
    assert removed.status_code == 204
    started = post_json(client, "/auth/mfa/totp", {"current_password": user.creds.password}, bearer(token))
    secret = json_body(started)["secret"]
    post_json(client, "/auth/mfa/totp/confirm", {"code": authenticator.next_code(secret)}, bearer(token))
    assert password_grant(client, user.creds, device_token=device_token).status_code == 403
