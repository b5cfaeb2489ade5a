"""No secret of the second factor leaves where it belongs: logs, later answers, parallel recovery codes."""

from __future__ import annotations

import json
import logging
import threading

from tests.conftest import bearer, json_body, post_json
from tests.gatehouse.web.test_mfa_login import RECOVERY, challenge, otp_grant


def test_no_secret_code_or_mfa_token_reaches_any_log_line(
    client, make_mfa_user, authenticator, caplog
) -> None:
    with caplog.at_level(logging.DEBUG):
        user = make_mfa_user()
        mfa_token = challenge(client, user.creds)
        otp = authenticator.next_code(user.secret)
        otp_grant(client, mfa_token, "000000" if otp != "000000" else "111111")
        grant = json_body(otp_grant(client, mfa_token, otp))
        recovery = {
            "grant_type": RECOVERY,
            "mfa_token": challenge(client, user.creds),
            "recovery_code": user.recovery_codes[0],
        }
        post_json(client, "/auth/token", recovery)
        post_json(
            client,
            "/auth/mfa/totp/remove",
            {"recovery_code": user.recovery_codes[1]},
            bearer(grant["access_token"]),
        )
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert '"event":"mfa"' in logged  # the factor's changes are logged, without their secrets
    for secret in [
        user.secret,
        mfa_token,
        otp,
        *user.recovery_codes,
        *(c.replace("-", "") for c in user.recovery_codes),
    ]:
        assert secret not in logged


def test_the_secret_is_never_answered_after_enrolment(
    client, make_mfa_user, authenticator, make_user, login
) -> None:
    user = make_mfa_user("alice")
    admin = login(make_user(roles=("admin", "user")))
    token = json_body(otp_grant(client, challenge(client, user.creds), authenticator.next_code(user.secret)))[
        "access_token"
    ]
    answers = [
        client.http.get("/me", headers=bearer(token)),
        client.http.get("/auth/sessions", headers=bearer(token)),
        client.http.get("/admin/users", headers=bearer(admin)),
        post_json(client, "/auth/mfa/totp", {"current_password": user.creds.password}, bearer(token)),
    ]
    for answer in answers:
        assert user.secret not in answer.body.decode()
    assert json.loads(answers[3].body)["error"] == "mfa_already_enabled"


def test_two_parallel_uses_of_one_recovery_code_give_one_session(
    client, make_runtime, make_mfa_user, atomic_conditional_writes
) -> None:
    make_runtime(lockout_threshold=50)
    user = make_mfa_user()
    tokens = [challenge(client, user.creds) for _ in range(4)]
    answers: list[int] = []
    barrier = threading.Barrier(len(tokens))

    def use(mfa_token: str) -> None:
        barrier.wait()
        body = {"grant_type": RECOVERY, "mfa_token": mfa_token, "recovery_code": user.recovery_codes[0]}
        answers.append(post_json(client, "/auth/token", body).status_code)

    threads = [threading.Thread(target=use, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 400, 400, 400]
