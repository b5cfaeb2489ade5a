"""A password reset by mail is no way around the second factor.

Whoever reads the owner's mailbox can set a new password with a reset code;
the factor must still stand between that password and a session, and every
remembered device must be forgotten (it was remembered for the old
credentials).
"""

from __future__ import annotations

from tests.conftest import DEFAULT_PASSWORD, Credentials, bearer, json_body, post_json
from tests.gatehouse.web.test_mfa_login import challenge, otp_grant, password_grant

NEW_PASSWORD = "Orchid-Canyon-31-harbor"
ADDRESS = "dana@example.com"


def test_a_reset_password_still_needs_the_factor_and_ends_remembered_devices(
    client, mailbox, authenticator
) -> None:
    body = {"username": "dana", "password": DEFAULT_PASSWORD, "email": ADDRESS}
    assert post_json(client, "/auth/register", body).status_code == 201
    verify = {"username": "dana", "code": mailbox.last_code(ADDRESS)}
    assert post_json(client, "/auth/email/verify", verify).status_code == 204
    old = Credentials("dana", DEFAULT_PASSWORD, "")
    token = json_body(password_grant(client, old))["access_token"]
    started = post_json(client, "/auth/mfa/totp", {"current_password": DEFAULT_PASSWORD}, bearer(token))
    secret = str(json_body(started)["secret"])
    code = {"code": authenticator.code(secret)}
    assert post_json(client, "/auth/mfa/totp/confirm", code, bearer(token)).status_code == 200
    grant = json_body(otp_grant(client, challenge(client, old), authenticator.next_code(secret)))
    remembered = grant["device_token"]
    assert password_grant(client, old, device_token=remembered).status_code == 200  # skips the factor

    assert post_json(client, "/auth/password/forgot", {"username": "dana"}).status_code == 202
    reset = {"username": "dana", "code": mailbox.last_code(ADDRESS), "new_password": NEW_PASSWORD}
    assert post_json(client, "/auth/password/reset", reset).status_code == 204

    new = Credentials("dana", NEW_PASSWORD, "")
    for extra in ({}, {"device_token": remembered}):
        response = password_grant(client, new, **extra)
        assert (response.status_code, set(json_body(response))) == (403, {"error", "mfa_token"})
