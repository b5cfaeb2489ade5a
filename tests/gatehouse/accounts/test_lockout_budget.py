"""One failure budget per account, however many device tokens; a hard cap; right passwords in parallel.

The review's shape: 20 device tokens collected, each used to be a fresh
lockout budget (100 wrong guesses, no 429), and survived a password change
or reset.  Now every device token of an account shares one budget, every
credential change kills the tokens (and their budget), and no counter admits
more than ``GATEHOUSE_LOCKOUT_MAX_CONSECUTIVE`` (NIST's 100) consecutive
failures, in any window.  The attempt is settled after the password check,
so logins with the right password never count against each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gatehouse.accounts import admin
from gatehouse.accounts import login as login_flow
from gatehouse.errors import InvalidGrant, TooManyAttempts
from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD, Credentials, FakeClock, Mailbox, bearer, json_body, post_json
from tests.gatehouse.accounts.test_device_lockout import attempt

WRONG = "Wrong-password-1"
NEW_PASSWORD = "Brand-new-Pass-77"


def device_tokens(client: Any, creds: Credentials, count: int) -> list[str]:
    tokens = []
    for _ in range(count):
        response = attempt(client, creds.username, creds.password)
        assert response.status_code == 200, response.body
        tokens.append(str(json_body(response)["device_token"]))
    return tokens


def at_once(count: int, work: Callable[[int], str]) -> list[str]:
    """Run ``work(n)`` in ``count`` threads released together; what each returned."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def one(n: int) -> None:
        barrier.wait()
        outcomes.append(work(n))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_twenty_device_tokens_give_no_more_guesses_than_one(client, make_user):
    creds = make_user()
    tokens = device_tokens(client, creds, 20)
    statuses = [attempt(client, creds.username, WRONG, tokens[n % 20]).status_code for n in range(100)]
    assert statuses == [400] * 5 + [429] * 95


def test_parallel_logins_with_the_right_password_all_succeed(rt, make_user, atomic_conditional_writes):
    creds = make_user()
    outcomes = at_once(10, lambda _n: _login(rt, creds.username, creds.password))
    assert outcomes == ["ok"] * 10  # twice the threshold: none of them counted against another


def _login(rt: Services, username: str, password: str, device_token: str | None = None) -> str:
    try:
        login_flow.password_login(rt, username, password, "", device_token)
    except InvalidGrant:
        return "wrong"
    except TooManyAttempts:
        return "locked"
    return "ok"


def test_concurrent_wrong_guesses_through_twenty_device_tokens_share_one_budget(
    client, rt, make_user, atomic_conditional_writes
):
    creds = make_user()
    tokens = device_tokens(client, creds, 20)
    outcomes = at_once(20, lambda n: _login(rt, creds.username, WRONG, tokens[n]))
    assert outcomes == ["locked"] * 15 + ["wrong"] * 5


def test_the_right_password_among_concurrent_guesses_after_the_lock_is_refused_too(
    rt, make_user, atomic_conditional_writes
):
    creds = make_user()
    for _ in range(rt.settings.lockout_threshold):
        assert _login(rt, creds.username, WRONG) == "wrong"
    passwords = [WRONG] * 9 + [creds.password]
    assert at_once(10, lambda n: _login(rt, creds.username, passwords[n])) == ["locked"] * 10


def test_no_counter_admits_more_than_the_hard_cap_of_consecutive_failures_in_any_window(
    make_runtime, make_user, client, clock: FakeClock
):
    rt = make_runtime(lockout_threshold=5, lockout_max_consecutive=12)
    creds = make_user()
    (token,) = device_tokens(client, creds, 1)
    admitted = {"name": 0, "devices": 0}
    for _ in range(8):  # eight observation windows: without the cap, 40 guesses each
        for _ in range(6):
            admitted["name"] += attempt(client, creds.username, WRONG).status_code == 400
            admitted["devices"] += attempt(client, creds.username, WRONG, token).status_code == 400
        clock.advance(rt.settings.lockout_window_seconds)
    assert admitted == {"name": 12, "devices": 12}
    locked = attempt(client, creds.username, creds.password)
    assert (locked.status_code, locked.headers["Retry-After"]) == (429, str(rt.settings.lockout_max_seconds))
    assert attempt(client, creds.username, creds.password, token).status_code == 429
    assert attempt(client, "no-such-account", WRONG).status_code == 400  # per name, as ever


def test_a_name_at_its_hard_cap_never_refuses_the_owners_device(make_runtime, make_user, client, clock):
    rt = make_runtime(lockout_threshold=3, lockout_max_consecutive=3)
    creds = make_user()
    (token,) = device_tokens(client, creds, 1)
    for _ in range(3):  # the attacker, without a device token
        attempt(client, creds.username, WRONG)
    clock.advance(rt.settings.lockout_window_seconds)
    assert attempt(client, creds.username, creds.password).status_code == 429  # capped for new devices
    assert attempt(client, creds.username, creds.password, token).status_code == 200


def test_a_capped_name_and_an_unknown_name_answer_alike_at_every_step(make_runtime, client, make_user, clock):
    rt = make_runtime(lockout_threshold=3, lockout_max_consecutive=7)
    creds = make_user()
    real, ghost = [], []
    for _ in range(5):
        for _ in range(4):
            for name, seen in ((creds.username, real), ("no-such-account", ghost)):
                response = attempt(client, name, WRONG)
                seen.append((response.status_code, response.headers.get("Retry-After")))
        clock.advance(rt.settings.lockout_window_seconds)
    assert real == ghost
    assert sum(status == 400 for status, _ in real) == 7


def test_a_success_on_a_counter_ends_its_streak(make_runtime, make_user, client, clock):
    rt = make_runtime(lockout_threshold=5, lockout_max_consecutive=6)
    creds = make_user()
    for _ in range(4):
        attempt(client, creds.username, WRONG)
    assert attempt(client, creds.username, creds.password).status_code == 200
    clock.advance(rt.settings.lockout_window_seconds)
    assert [attempt(client, creds.username, WRONG).status_code for _ in range(6)] == [400] * 5 + [429]


def test_an_admin_unlock_lifts_the_hard_cap(make_runtime, make_user, client, clock):
    rt = make_runtime(lockout_threshold=2, lockout_max_consecutive=2)
    creds = make_user()
    for _ in range(2):
        attempt(client, creds.username, WRONG)
    clock.advance(rt.settings.lockout_window_seconds)
    assert attempt(client, creds.username, creds.password).status_code == 429
    admin.unlock(rt, creds.username)
    assert attempt(client, creds.username, creds.password).status_code == 200


# -- device tokens die with the credentials ---------------------------------------------------


def _old_token_is_no_device_of_the_account(client: Any, rt: Services, username: str, password: str, old: str):
    """With the name locked, a valid device token of the account would still log in; the old
    one gets the name's 429, and a login with the right password gets a new token, never it."""
    statuses = [attempt(client, username, WRONG).status_code for _ in range(rt.settings.lockout_threshold)]
    assert 429 in statuses or attempt(client, username, WRONG).status_code == 429  # the name is locked
    assert attempt(client, username, password, old).status_code == 429
    admin.unlock(rt, username)
    fresh = attempt(client, username, password, old)
    assert fresh.status_code == 200, fresh.body
    assert json_body(fresh)["device_token"] != old


def test_a_password_change_kills_every_device_token_issued_before_it(client, rt, make_user, login):
    creds = make_user()
    tokens = device_tokens(client, creds, 20)
    change = {"current_password": creds.password, "new_password": NEW_PASSWORD}
    assert post_json(client, "/auth/password", change, headers=bearer(login(creds))).status_code == 204
    # The review's shape: 100 wrong guesses at the new password through the 20 old tokens.
    statuses = [attempt(client, creds.username, WRONG, tokens[n % 20]).status_code for n in range(100)]
    assert statuses == [400] * 5 + [429] * 95  # the name's counter: the tokens are worth nothing
    admin.unlock(rt, creds.username)
    _old_token_is_no_device_of_the_account(client, rt, creds.username, NEW_PASSWORD, tokens[0])


def test_a_password_reset_kills_every_device_token_issued_before_it(client, rt, mailbox: Mailbox):
    address = "dana@example.com"
    body = {"username": "dana", "password": DEFAULT_PASSWORD, "email": address}
    assert post_json(client, "/auth/register", body).status_code == 201
    verify = {"username": "dana", "code": mailbox.last_code(address)}
    assert post_json(client, "/auth/email/verify", verify).status_code == 204
    (old,) = device_tokens(client, Credentials("dana", DEFAULT_PASSWORD, ""), 1)
    assert post_json(client, "/auth/password/forgot", {"username": "dana"}).status_code == 202
    reset = {"username": "dana", "code": mailbox.last_code(address), "new_password": NEW_PASSWORD}
    assert post_json(client, "/auth/password/reset", reset).status_code == 204
    _old_token_is_no_device_of_the_account(client, rt, "dana", NEW_PASSWORD, old)


def test_a_disable_kills_every_device_token_issued_before_it_even_once_enabled_again(client, rt, make_user):
    creds = make_user()
    (old,) = device_tokens(client, creds, 1)
    admin.set_disabled(rt, creds.username, True)
    assert attempt(client, creds.username, creds.password, old).status_code == 400
    admin.set_disabled(rt, creds.username, False)
    _old_token_is_no_device_of_the_account(client, rt, creds.username, creds.password, old)


def test_a_deletion_kills_every_device_token_even_for_a_new_account_with_the_same_password(
    client, rt, make_user, clock
):
    from gatehouse.accounts import deletion

    creds = make_user("kept-name")
    (old,) = device_tokens(client, creds, 1)
    deletion.delete_user(rt, creds.username, [])
    assert attempt(client, creds.username, creds.password, old).status_code == 400  # no account
    make_user("kept-name", creds.password)  # the same name and password, in the same second
    _old_token_is_no_device_of_the_account(client, rt, creds.username, creds.password, old)


def test_ending_every_session_kills_every_device_token_issued_before_it(client, rt, make_user, login):
    creds = make_user()
    (old,) = device_tokens(client, creds, 1)
    assert client.http.delete("/auth/sessions", headers=bearer(login(creds))).status_code == 204
    _old_token_is_no_device_of_the_account(client, rt, creds.username, creds.password, old)
