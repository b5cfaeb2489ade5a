"""Login with a second factor: the mfa_required challenge, the OTP and recovery-code grants."""

from __future__ import annotations

import base64
import json
import threading

import pytest

from tests.conftest import bearer, json_body, post_json

OTP = "urn:gatehouse:grant-type:mfa-otp"
RECOVERY = "urn:gatehouse:grant-type:mfa-recovery-code"


def password_grant(client, creds, **extra):
    body = {"grant_type": "password", "username": creds.username, "password": creds.password, **extra}
    return post_json(client, "/auth/token", body)


def challenge(client, creds, **extra) -> str:
    response = password_grant(client, creds, **extra)
    assert response.status_code == 403, response.body
    return str(json_body(response)["mfa_token"])


def otp_grant(client, mfa_token, otp, **extra):
    return post_json(client, "/auth/token", {"grant_type": OTP, "mfa_token": mfa_token, "otp": otp, **extra})


def claims(access_token: str) -> dict:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_right_password_answers_mfa_required_and_nothing_else(client, make_mfa_user) -> None:
    user = make_mfa_user()
    response = password_grant(client, user.creds)
    assert response.status_code == 403
    body = json_body(response)
    assert set(body) == {"error", "mfa_token"}
    assert body["error"] == "mfa_required"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_wrong_password_is_still_invalid_grant(client, make_mfa_user) -> None:
    user = make_mfa_user()
    body = {"grant_type": "password", "username": user.creds.username, "password": "wrong-password-here"}
    response = post_json(client, "/auth/token", body)
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_grant")


def test_a_wrong_password_answers_and_costs_the_same_with_or_without_a_factor(
    client, make_user, make_mfa_user, dynamodb_calls
) -> None:
    # Whether an account has a factor shows only after its password was right.
    answers, calls = [], []
    for creds in (make_user(), make_mfa_user().creds):
        dynamodb_calls.clear()
        body = {"grant_type": "password", "username": creds.username, "password": "wrong-password-here"}
        response = post_json(client, "/auth/token", body)
        answers.append((response.status_code, json_body(response)))
        calls.append(list(dynamodb_calls))
    assert answers[0] == answers[1]
    assert calls[0] == calls[1]


def test_the_code_finishes_the_login_with_aal_2(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    response = otp_grant(client, challenge(client, user.creds), authenticator.next_code(user.secret))
    assert response.status_code == 200
    body = json_body(response)
    assert {"access_token", "refresh_token", "expires_in", "token_type"} <= set(body)
    assert (claims(body["access_token"])["amr"], claims(body["access_token"])["aal"]) == (
        ["pwd", "otp", "mfa"],
        2,
    )
    assert client.http.get("/me", headers=bearer(body["access_token"])).status_code == 200


def test_a_refreshed_token_keeps_the_logins_aal(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    grant = json_body(otp_grant(client, challenge(client, user.creds), authenticator.next_code(user.secret)))
    refreshed = post_json(
        client, "/auth/token", {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    )
    assert claims(json_body(refreshed)["access_token"])["aal"] == 2


def test_a_login_without_a_factor_is_aal_1_and_unchanged(client, make_user, login) -> None:
    token = login(make_user())
    assert (claims(token)["amr"], claims(token)["aal"]) == (["pwd"], 1)


def test_the_mfa_token_is_single_use(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    mfa_token = challenge(client, user.creds)
    assert otp_grant(client, mfa_token, authenticator.next_code(user.secret)).status_code == 200
    again = otp_grant(client, mfa_token, authenticator.next_code(user.secret))
    assert (again.status_code, json_body(again)["error"]) == (400, "invalid_grant")


def test_the_mfa_token_lives_five_minutes(client, clock, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    mfa_token = challenge(client, user.creds)
    clock.advance(301)
    response = otp_grant(client, mfa_token, authenticator.code(user.secret))
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_grant")


def test_a_wrong_code_leaves_the_mfa_token_usable(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    mfa_token = challenge(client, user.creds)
    wrong = otp_grant(
        client, mfa_token, "000000" if authenticator.code(user.secret) != "000000" else "111111"
    )
    assert (wrong.status_code, json_body(wrong)["error"]) == (400, "invalid_grant")
    assert "error_description" in json_body(wrong)
    assert otp_grant(client, mfa_token, authenticator.next_code(user.secret)).status_code == 200


def test_a_code_is_accepted_once_across_logins(client, make_mfa_user, authenticator) -> None:
    user = make_mfa_user()
    code = authenticator.next_code(user.secret)
    assert otp_grant(client, challenge(client, user.creds), code).status_code == 200
    replay = otp_grant(client, challenge(client, user.creds), code)
    assert (replay.status_code, json_body(replay)["error"]) == (400, "invalid_grant")


def test_two_parallel_uses_of_one_code_give_one_session(
    client, make_runtime, make_mfa_user, authenticator, atomic_conditional_writes
) -> None:
    make_runtime(lockout_threshold=50)  # four password steps and four codes stay inside the budget
    user = make_mfa_user()
    code = authenticator.next_code(user.secret)
    tokens = [challenge(client, user.creds) for _ in range(4)]
    answers: list[int] = []
    barrier = threading.Barrier(len(tokens))

    def use(mfa_token: str) -> None:
        barrier.wait()
        answers.append(otp_grant(client, mfa_token, code).status_code)

    threads = [threading.Thread(target=use, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 400, 400, 400]


def test_wrong_codes_count_and_a_new_mfa_token_does_not_reset_them(
    client, rt, make_mfa_user, authenticator
) -> None:
    user = make_mfa_user()
    statuses = []
    # Each round: the right password again (a new mfa_token, counting nothing), then a wrong code.
    for _ in range(rt.lockout.threshold + 1):
        response = password_grant(client, user.creds)
        if response.status_code != 403:
            statuses.append(response.status_code)
            break
        wrong = "000000" if authenticator.code(user.secret) != "000000" else "111111"
        statuses.append(otp_grant(client, json_body(response)["mfa_token"], wrong).status_code)
    # Every wrong code counted; past the threshold even the right password is refused.
    assert statuses == [400] * rt.lockout.threshold + [429], statuses


def test_a_recovery_code_finishes_the_login_once_and_mails_the_owner(
    client, rt, mailbox, make_mfa_user
) -> None:
    from tests.gatehouse.web.test_mfa_enrolment import verified_address

    user = make_mfa_user("alice")
    verified_address(rt, "alice", "alice@example.com")
    code = user.recovery_codes[3]
    body = {"grant_type": RECOVERY, "mfa_token": challenge(client, user.creds), "recovery_code": code}
    response = post_json(client, "/auth/token", body)
    assert response.status_code == 200
    assert (
        claims(json_body(response)["access_token"])["amr"],
        claims(json_body(response)["access_token"])["aal"],
    ) == (
        ["pwd", "mfa"],
        2,
    )
    [notice] = [m for m in mailbox.to("alice@example.com") if "recovery code" in m.subject]
    assert code not in notice.body
    [event] = [
        e for e in rt.events.page(user.creds.account_id, 20, rt.now())[0] if e.kind == "recovery_code_used"
    ]
    assert event.detail == "9 left"
    body["mfa_token"] = challenge(client, user.creds)
    again = post_json(client, "/auth/token", body)
    assert (again.status_code, json_body(again)["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    "body",
    [
        {"grant_type": OTP, "otp": "123456"},
        {"grant_type": OTP, "mfa_token": "x"},
        {"grant_type": RECOVERY, "mfa_token": "x"},
        {"grant_type": OTP, "mfa_token": "x" * 65, "otp": "123456"},
    ],
)
def test_missing_or_oversized_fields_are_invalid_request(client, body) -> None:
    response = post_json(client, "/auth/token", body)
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_request")


@pytest.mark.parametrize("mfa_token", ["x", "A" * 43, "../../etc", "é" * 43])
def test_unknown_mfa_tokens_are_invalid_grant(client, mfa_token) -> None:
    response = otp_grant(client, mfa_token, "123456")
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_grant")


def test_the_second_factor_grant_works_as_a_form_too(client, make_mfa_user, authenticator) -> None:
    from urllib.parse import urlencode

    user = make_mfa_user()
    form = urlencode(
        {
            "grant_type": OTP,
            "mfa_token": challenge(client, user.creds),
            "otp": authenticator.next_code(user.secret),
        }
    )
    response = client.http.post(
        "/auth/token", headers={"Content-Type": "application/x-www-form-urlencoded"}, body=form
    )
    assert response.status_code == 200


def test_an_old_password_hash_is_upgraded_at_the_password_step_of_a_factor_account(
    client, rt, make_mfa_user
) -> None:
    from argon2 import PasswordHasher

    user = make_mfa_user("alice")
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(user.creds.password)
    rt.table(rt.settings.users_table).update_item(
        Key={"username": "alice"},
        UpdateExpression="SET password_hash = :h",
        ExpressionAttributeValues={":h": weaker},
    )
    challenge(client, user.creds)  # the password step: no session yet, the hash upgraded already
    upgraded = rt.users.get("alice").password_hash
    assert upgraded != weaker
    assert not rt.hasher.needs_rehash(upgraded)
    assert rt.hasher.verify(upgraded, user.creds.password)
