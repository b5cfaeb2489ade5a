"""Enrolling a TOTP factor, replacing recovery codes and removing the factor, over HTTP."""

from __future__ import annotations

import json

from gatehouse.storage.factors import FactorState
from tests.conftest import bearer, json_body, post_json


def start(client, token, password):
    return post_json(client, "/auth/mfa/totp", {"current_password": password}, bearer(token))


def test_enrolment_answers_the_secret_its_uri_and_a_qr_code(client, make_user, login) -> None:
    creds = make_user("alice")
    response = start(client, login(creds), creds.password)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = json_body(response)
    assert set(body) == {"secret", "otpauth_uri", "qr_svg"}
    assert body["otpauth_uri"].startswith("otpauth://totp/Gatehouse:alice?")
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg")


def test_enrolment_needs_the_current_password(client, make_user, login) -> None:
    creds = make_user()
    response = start(client, login(creds), "not-the-password-at-all")
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"


def test_the_secret_is_stored_sealed_never_in_the_clear(client, rt, make_user, login) -> None:
    creds = make_user("alice")
    secret = json_body(start(client, login(creds), creds.password))["secret"]
    row = rt.table(rt.settings.users_table).get_item(Key={"username": "alice"})["Item"]
    assert secret not in json.dumps(row, default=str)
    assert rt.mfa_keys.open(str(row["mfa_pending"]), str(row["account_id"])) == secret


def test_the_factor_is_active_only_once_confirmed(client, make_user, login) -> None:
    creds = make_user()
    start(client, login(creds), creds.password)
    response = post_json(
        client,
        "/auth/token",
        {"grant_type": "password", "username": creds.username, "password": creds.password},
    )
    assert response.status_code == 200  # enrolment started, not confirmed: login as before


def test_confirm_answers_ten_recovery_codes_once(client, rt, make_user, login, authenticator) -> None:
    creds = make_user("alice")
    token = login(creds)
    secret = json_body(start(client, token, creds.password))["secret"]
    response = post_json(
        client, "/auth/mfa/totp/confirm", {"code": authenticator.code(secret)}, bearer(token)
    )
    assert response.status_code == 200
    codes = json_body(response)["recovery_codes"]
    assert len(codes) == 10
    state = rt.factors.get(rt.users.get("alice"))
    assert isinstance(state, FactorState)
    assert state.active
    assert len(state.recovery) == 10
    assert not any(c.replace("-", "") in d for c in codes for d in state.recovery)
    again = post_json(
        client, "/auth/mfa/totp/confirm", {"code": authenticator.next_code(secret)}, bearer(token)
    )
    assert again.status_code == 409
    assert json_body(again)["error"] == "mfa_already_enabled"


def test_a_wrong_code_does_not_confirm(client, rt, make_user, login, authenticator) -> None:
    creds = make_user("alice")
    token = login(creds)
    secret = json_body(start(client, token, creds.password))["secret"]
    wrong = f"{(int(authenticator.code(secret)) + 1) % 1_000_000:06d}"
    response = post_json(client, "/auth/mfa/totp/confirm", {"code": wrong}, bearer(token))
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_code"
    assert not rt.factors.get(rt.users.get("alice")).active


def test_confirm_without_enrolment_or_after_it_expired_is_409(
    client, clock, make_user, login, authenticator
) -> None:
    creds = make_user()
    token = login(creds)
    response = post_json(client, "/auth/mfa/totp/confirm", {"code": "123456"}, bearer(token))
    assert (response.status_code, json_body(response)["error"]) == (409, "mfa_not_started")
    secret = json_body(start(client, token, creds.password))["secret"]
    clock.advance(16 * 60)
    token = login(creds)
    response = post_json(
        client, "/auth/mfa/totp/confirm", {"code": authenticator.code(secret)}, bearer(token)
    )
    assert (response.status_code, json_body(response)["error"]) == (409, "mfa_not_started")


def test_confirming_ends_every_other_session(client, make_user, login, authenticator) -> None:
    creds = make_user()
    other, token = login(creds), login(creds)
    secret = json_body(start(client, token, creds.password))["secret"]
    post_json(client, "/auth/mfa/totp/confirm", {"code": authenticator.code(secret)}, bearer(token))
    assert client.http.get("/me", headers=bearer(other)).status_code == 401
    assert client.http.get("/me", headers=bearer(token)).status_code == 200


def test_adding_a_factor_mails_a_notice_without_any_secret(
    client, rt, mailbox, make_user, login, authenticator
) -> None:
    creds = make_user("alice")
    verified_address(rt, "alice", "alice@example.com")
    token = login(creds)
    secret = json_body(start(client, token, creds.password))["secret"]
    codes = json_body(
        post_json(client, "/auth/mfa/totp/confirm", {"code": authenticator.code(secret)}, bearer(token))
    )["recovery_codes"]
    [notice] = [m for m in mailbox.to("alice@example.com") if "second factor" in m.subject]
    assert secret not in notice.body
    assert not any(c in notice.body for c in codes)


def verified_address(rt, username: str, email: str) -> None:
    rt.table(rt.settings.users_table).update_item(
        Key={"username": username},
        UpdateExpression="SET email = :e, email_verified = :t",
        ExpressionAttributeValues={":e": email, ":t": True},
    )


def test_a_second_enrolment_while_a_factor_is_active_is_409(client, make_mfa_user) -> None:
    user = make_mfa_user()
    response = start(client, user.access_token, user.creds.password)
    assert (response.status_code, json_body(response)["error"]) == (409, "mfa_already_enabled")


def test_new_recovery_codes_replace_the_old_ones(client, rt, make_mfa_user, authenticator) -> None:
    user = make_mfa_user("alice")
    response = post_json(
        client,
        "/auth/mfa/recovery-codes",
        {"code": authenticator.next_code(user.secret)},
        bearer(user.access_token),
    )
    assert response.status_code == 200
    fresh = json_body(response)["recovery_codes"]
    assert len(fresh) == 10
    assert not set(fresh) & set(user.recovery_codes)
    from gatehouse.accounts import recovery_codes

    assert rt.factors.get(rt.users.get("alice")).recovery == {recovery_codes.digest(c) for c in fresh}


def test_a_code_is_accepted_once_on_the_bearer_routes_too(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    code = authenticator.next_code(user.secret)
    first = post_json(client, "/auth/mfa/recovery-codes", {"code": code}, bearer(user.access_token))
    second = post_json(client, "/auth/mfa/recovery-codes", {"code": code}, bearer(user.access_token))
    assert first.status_code == 200
    assert (second.status_code, json_body(second)["error"]) == (400, "invalid_code")


def test_removing_with_a_code_turns_the_factor_off(client, rt, make_mfa_user, authenticator, login) -> None:
    user = make_mfa_user("alice")
    code = authenticator.next_code(user.secret)
    response = post_json(client, "/auth/mfa/totp/remove", {"code": code}, bearer(user.access_token))
    assert response.status_code == 204
    assert not rt.factors.get(rt.users.get("alice")).active
    assert login(user.creds)  # the password alone opens a session again


def test_removing_with_a_recovery_code_spends_it(client, rt, make_mfa_user) -> None:
    user = make_mfa_user("alice")
    response = post_json(
        client, "/auth/mfa/totp/remove", {"recovery_code": user.recovery_codes[0]}, bearer(user.access_token)
    )
    assert response.status_code == 204
    assert not rt.factors.get(rt.users.get("alice")).active


def test_remove_takes_exactly_one_of_code_or_recovery_code(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    for body in ({}, {"code": authenticator.code(user.secret), "recovery_code": user.recovery_codes[0]}):
        response = post_json(client, "/auth/mfa/totp/remove", body, bearer(user.access_token))
        assert (response.status_code, json_body(response)["error"]) == (400, "invalid_request")


def test_a_wrong_code_removes_nothing(client, rt, make_mfa_user) -> None:
    user = make_mfa_user("alice")
    for body in ({"code": "000000"}, {"recovery_code": "AAAA-BBBB-CCCC-DDDD"}):
        response = post_json(client, "/auth/mfa/totp/remove", body, bearer(user.access_token))
        assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")
    assert rt.factors.get(rt.users.get("alice")).active


def test_removing_without_a_factor_is_409(client, make_user, login) -> None:
    creds = make_user()
    response = post_json(client, "/auth/mfa/totp/remove", {"code": "123456"}, bearer(login(creds)))
    assert (response.status_code, json_body(response)["error"]) == (409, "mfa_not_enabled")


def test_code_guesses_on_the_bearer_routes_are_limited(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    answers = [
        post_json(
            client, "/auth/mfa/totp/remove", {"code": f"{n:06d}"}, bearer(user.access_token)
        ).status_code
        for n in range(8)
    ]
    assert answers[0] == 400
    assert 429 in answers


def test_removing_ends_every_other_session(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    grant = post_json(
        client,
        "/auth/token",
        {
            "grant_type": "urn:gatehouse:grant-type:mfa-otp",
            "mfa_token": json_body(
                post_json(
                    client,
                    "/auth/token",
                    {
                        "grant_type": "password",
                        "username": user.creds.username,
                        "password": user.creds.password,
                    },
                )
            )["mfa_token"],
            "otp": authenticator.next_code(user.secret),
        },
    )
    other = json_body(grant)["access_token"]
    removed = post_json(
        client, "/auth/mfa/totp/remove", {"recovery_code": user.recovery_codes[0]}, bearer(user.access_token)
    )
    assert removed.status_code == 204
    assert client.http.get("/me", headers=bearer(other)).status_code == 401
    assert client.http.get("/me", headers=bearer(user.access_token)).status_code == 200


def test_a_right_password_does_not_buy_new_code_guesses(client, make_mfa_user) -> None:
    # A session and the password, not the phone: a right current password (enrolment refuses
    # with 409 after checking it) between guesses must not clear the wrong codes counted.
    user = make_mfa_user()
    answers = []
    for round_ in range(4):
        for n in range(4):
            guess = {"code": f"{round_ * 4 + n:06d}"}
            answers.append(
                post_json(client, "/auth/mfa/totp/remove", guess, bearer(user.access_token)).status_code
            )
        assert start(client, user.access_token, user.creds.password).status_code == 409
    assert answers[:4] == [400] * 4
    assert 429 in answers


def test_a_right_code_does_not_buy_new_password_guesses(client, make_mfa_user, authenticator) -> None:
    # A session and the phone, not the password: a right code between wrong current passwords
    # must not clear the wrong passwords counted.
    user = make_mfa_user()
    answers = []
    for round_ in range(4):
        for n in range(4):
            guess = {
                "current_password": f"Wrong-guess-{round_}-{n}-x",
                "new_password": "Orchid-Canyon-31-harbor",
            }
            answers.append(post_json(client, "/auth/password", guess, bearer(user.access_token)).status_code)
        code = {"code": authenticator.next_code(user.secret)}
        assert (
            post_json(client, "/auth/mfa/recovery-codes", code, bearer(user.access_token)).status_code == 200
        )
    assert answers[:4] == [400] * 4
    assert 429 in answers
