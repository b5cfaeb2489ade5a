"""An ``mfa_token`` is the login of the credentials it was issued for: a credential change kills it.

Whoever holds the password gets an ``mfa_token`` with it.  When the owner
then changes the password, logs out everywhere, or has the factor reset and
enrols a new one, every login begun before must be over, the half-done one
included: otherwise the stale password (plus a code phished from the owner,
or from the owner's new app) still opens a session for five minutes.
"""

from __future__ import annotations

from tests.conftest import bearer, json_body, post_json
from tests.gatehouse.web.test_mfa_login import RECOVERY, challenge, otp_grant

NEW_PASSWORD = "Orchid-Canyon-31-harbor"


def refused(response) -> bool:
    return (response.status_code, json_body(response)["error"]) == (400, "invalid_grant")


def test_a_password_change_ends_the_mfa_tokens_issued_before(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    stale = challenge(client, user.creds)
    changed = post_json(
        client,
        "/auth/password",
        {"current_password": user.creds.password, "new_password": NEW_PASSWORD},
        bearer(user.access_token),
    )
    assert changed.status_code == 204, changed.body
    assert refused(otp_grant(client, stale, authenticator.next_code(user.secret)))


def test_ending_every_session_ends_the_mfa_tokens_issued_before(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    stale = challenge(client, user.creds)
    assert client.http.delete("/auth/sessions", headers=bearer(user.access_token)).status_code == 204
    body = {"grant_type": RECOVERY, "mfa_token": stale, "recovery_code": user.recovery_codes[0]}
    assert refused(post_json(client, "/auth/token", body))
    # The refused token spent nothing: the recovery code still finishes a fresh login.
    body["mfa_token"] = challenge(client, user.creds)
    assert post_json(client, "/auth/token", body).status_code == 200


def test_a_factor_reset_and_a_new_enrolment_end_the_mfa_tokens_issued_before(
    client, make_mfa_user, make_user, login, authenticator
) -> None:
    user = make_mfa_user()
    stale = challenge(client, user.creds)
    admin = login(make_user(roles=("admin", "user")))
    reset = client.http.post(f"/admin/users/{user.creds.username}/mfa/reset", headers=bearer(admin))
    assert reset.status_code == 204, reset.body
    token = login(user.creds)
    started = post_json(client, "/auth/mfa/totp", {"current_password": user.creds.password}, bearer(token))
    secret = str(json_body(started)["secret"])
    confirmed = post_json(
        client, "/auth/mfa/totp/confirm", {"code": authenticator.code(secret)}, bearer(token)
    )
    assert confirmed.status_code == 200, confirmed.body
    # A code of the new app, even: the token was issued before the factor changed.
    assert refused(otp_grant(client, stale, authenticator.next_code(secret)))


def test_an_mfa_token_issued_after_the_change_works(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    assert client.http.delete("/auth/sessions", headers=bearer(user.access_token)).status_code == 204
    response = otp_grant(client, challenge(client, user.creds), authenticator.next_code(user.secret))
    assert response.status_code == 200, response.body
