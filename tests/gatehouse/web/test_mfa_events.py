"""The second factor's changes are security events of the account, and their notices take the one
capped mail path."""

from __future__ import annotations

from gatehouse.accounts import outbox
from tests.conftest import bearer, json_body, post_json
from tests.gatehouse.web.test_mfa_enrolment import start, verified_address
from tests.gatehouse.web.test_mfa_login import OTP, RECOVERY, challenge

ADDRESS = "alice@example.com"


def kinds(client, token) -> list[str]:
    response = client.http.get("/auth/events?limit=50", headers=bearer(token))
    assert response.status_code == 200
    return [e["kind"] for e in json_body(response)]


def test_adding_using_a_recovery_code_and_removing_are_events_of_the_account(
    client, rt, clock, mailbox, make_mfa_user, authenticator
) -> None:
    user = make_mfa_user("alice")
    verified_address(rt, "alice", ADDRESS)
    clock.advance(1)  # events are ordered by their millisecond
    body = {
        "grant_type": RECOVERY,
        "mfa_token": challenge(client, user.creds),
        "recovery_code": user.recovery_codes[0],
    }
    token = json_body(post_json(client, "/auth/token", body))["access_token"]
    removed = post_json(
        client, "/auth/mfa/totp/remove", {"code": authenticator.next_code(user.secret)}, bearer(token)
    )
    assert removed.status_code == 204
    seen = kinds(client, token)
    assert seen.index("factor_removed") < seen.index("recovery_code_used") < seen.index("factor_added")
    assert seen.count("login_succeeded") >= 2  # the second factor's login is recorded like a password's
    subjects = [m.subject for m in mailbox.to(ADDRESS)]
    assert "A recovery code was used on your account" in subjects
    assert "A second factor was removed from your account" in subjects


def test_an_admin_reset_names_the_admin_and_mails_that_an_administrator_did_it(
    client, rt, mailbox, make_mfa_user, make_user, login
) -> None:
    make_mfa_user("alice")
    verified_address(rt, "alice", ADDRESS)
    admin = make_user("root", roles=("admin", "user"))
    response = client.http.post("/admin/users/alice/mfa/reset", headers=bearer(login(admin)))
    assert response.status_code == 204
    events = json_body(client.http.get("/admin/users/alice/events", headers=bearer(login(admin))))
    [reset] = [e for e in events if e["kind"] == "factor_removed"]
    assert (reset["actor"], reset["detail"]) == ("root", "reset by an administrator")
    [notice] = [m for m in mailbox.to(ADDRESS) if "administrator" in m.subject]
    assert "An administrator just removed" in notice.body


def test_factor_notices_are_capped_like_every_other_mail(
    client, rt, mailbox, make_user, login, authenticator
) -> None:
    creds = make_user("alice")
    verified_address(rt, "alice", ADDRESS)
    token = login(creds)
    per_address = outbox.ADDRESS_CAPS[0][0]
    for _ in range(per_address + 2):  # add and remove the factor, again and again, within the hour
        secret = json_body(start(client, token, creds.password))["secret"]
        confirmed = post_json(
            client, "/auth/mfa/totp/confirm", {"code": authenticator.code(secret)}, bearer(token)
        )
        assert confirmed.status_code == 200
        removed = post_json(
            client, "/auth/mfa/totp/remove", {"code": authenticator.next_code(secret)}, bearer(token)
        )
        assert removed.status_code == 204
    added = [m for m in mailbox.to(ADDRESS) if m.subject == "A second factor was added to your account"]
    assert len(added) == per_address  # the rest were counted and not sent
    assert kinds(client, token).count("factor_added") == per_address + 2  # every change still recorded


def test_a_wrong_code_after_a_right_password_is_a_failed_login_of_the_account(
    client, rt, make_mfa_user, authenticator
) -> None:
    user = make_mfa_user("alice")
    wrong = str((int(authenticator.code(user.secret)) + 1) % 10**6).zfill(6)
    response = post_json(
        client,
        "/auth/token",
        {"grant_type": OTP, "mfa_token": challenge(client, user.creds, device="phone"), "otp": wrong},
    )
    assert response.status_code == 400
    events = json_body(client.http.get("/auth/events", headers=bearer(user.access_token)))
    [failed] = [e for e in events if e["kind"] == "login_failed"]
    assert (failed["device"], failed["detail"]) == ("phone", "wrong_second_factor")
    assert wrong not in str(events)
