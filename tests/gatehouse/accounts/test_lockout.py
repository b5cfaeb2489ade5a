"""Brute-force lockout: exponential back-off, counted atomically, blind to whether a user exists.

tests/gatehouse/accounts/test_device_lockout.py covers device tokens, decay and the administrator's unlock.
"""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher

from gatehouse.accounts import login as login_flow
from gatehouse.errors import InvalidGrant, TooManyAttempts
from gatehouse.storage.attempts import LockoutRules, admission, retry_after
from tests.conftest import bearer, json_body, post_json

WRONG = "Wrong-password-1"


def attempt(client, username, password):
    return post_json(
        client, "/auth/token", {"grant_type": "password", "username": username, "password": password}
    )


def outcome(response):
    return (
        response.status_code,
        response.headers.get("Retry-After"),
        json_body(response)["error"] if response.status_code != 200 else "ok",
    )


def test_fifth_failure_locks_the_account_with_429_and_retry_after(client, make_user):
    creds = make_user()
    for _ in range(5):
        assert attempt(client, creds.username, WRONG).status_code == 400
    locked = attempt(client, creds.username, creds.password)  # even the right password
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "30"
    assert json_body(locked) == {
        "error": "too_many_attempts",
        "error_description": "Too many failed attempts for this account. Try again later.",
    }


def test_a_refused_attempt_answers_alike_for_the_right_and_a_wrong_password_and_extends_nothing(
    client, make_user, clock
):
    creds = make_user()
    for _ in range(5):
        attempt(client, creds.username, WRONG)
    clock.advance(10)
    right = attempt(client, creds.username, creds.password)
    wrong = attempt(client, creds.username, WRONG)
    assert outcome(right) == outcome(wrong) == (429, "20", "too_many_attempts")
    clock.advance(10)
    assert attempt(client, creds.username, WRONG).headers["Retry-After"] == "10"  # the lock did not grow


def test_back_off_doubles_with_each_further_failure(client, make_user, clock):
    creds = make_user()
    for _ in range(5):
        attempt(client, creds.username, WRONG)
    waits = []
    for _ in range(4):
        wait = int(attempt(client, creds.username, WRONG).headers["Retry-After"])
        waits.append(wait)
        clock.advance(wait)
        assert attempt(client, creds.username, WRONG).status_code == 400  # one try per window
    assert waits == [30, 60, 120, 240]


def test_back_off_is_capped(make_runtime, make_user, client, clock):
    make_runtime(
        lockout_threshold=1,
        lockout_base_seconds=1000,
        lockout_max_seconds=1500,
        lockout_window_seconds=7 * 86400,  # so the window does not end first
    )
    creds = make_user()
    attempt(client, creds.username, WRONG)
    assert attempt(client, creds.username, WRONG).headers["Retry-After"] == "1000"
    clock.advance(1000)
    attempt(client, creds.username, WRONG)
    assert attempt(client, creds.username, WRONG).headers["Retry-After"] == "1500"
    clock.advance(1500)
    attempt(client, creds.username, WRONG)
    assert attempt(client, creds.username, WRONG).headers["Retry-After"] == "1500"


def test_right_password_after_the_window_logs_in_and_resets_the_count(client, make_user, clock):
    creds = make_user()
    for _ in range(5):
        attempt(client, creds.username, WRONG)
    clock.advance(30)
    assert attempt(client, creds.username, creds.password).status_code == 200
    statuses = [attempt(client, creds.username, WRONG).status_code for _ in range(6)]
    assert statuses == [400, 400, 400, 400, 400, 429]


def test_successful_login_resets_the_failure_count(client, make_user):
    creds = make_user()
    for _ in range(4):
        attempt(client, creds.username, WRONG)
    assert attempt(client, creds.username, creds.password).status_code == 200
    assert [attempt(client, creds.username, WRONG).status_code for _ in range(5)] == [400] * 5


def test_threshold_is_a_setting(make_runtime, make_user, client):
    make_runtime(lockout_threshold=2)
    creds = make_user()
    assert [attempt(client, creds.username, WRONG).status_code for _ in range(3)] == [400, 400, 429]


def test_lockout_of_an_unknown_name_looks_exactly_like_a_real_account(client, make_user, clock):
    creds = make_user()
    real, ghost = [], []
    for step in range(9):
        real.append(outcome(attempt(client, creds.username, WRONG)))
        ghost.append(outcome(attempt(client, "no-such-account", WRONG)))
        if step == 6:
            clock.advance(30)
    assert real == ghost
    assert [s for s, _, _ in real] == [400, 400, 400, 400, 400, 429, 429, 400, 429]


def test_concurrent_guesses_cannot_slip_past_the_limit(rt, make_user, monkeypatch, atomic_conditional_writes):
    creds = make_user()
    verified = []
    original = PasswordHasher.verify
    monkeypatch.setattr(
        PasswordHasher, "verify", lambda self, h, p: verified.append(1) or original(self, h, p)
    )
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def guess() -> None:
        barrier.wait()
        try:
            login_flow.password_login(rt, creds.username, WRONG, "")
        except InvalidGrant:
            outcomes.append("wrong")
        except TooManyAttempts:
            outcomes.append("locked")

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Each guess is checked, then counted by a write whose condition is the admission rule:
    # exactly the threshold's worth are answered "wrong", every other one 429.
    assert sorted(outcomes) == ["locked"] * 15 + ["wrong"] * 5
    assert len(verified) == 20


def test_a_store_failure_before_the_password_check_is_503_and_counts_nothing(
    client, make_user, rt, monkeypatch
):
    from botocore.exceptions import ClientError

    creds = make_user()

    def throttled(**_kwargs):  # reading the user, the login's first request
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "GetItem")

    monkeypatch.setattr(rt.users._table, "get_item", throttled)
    response = attempt(client, creds.username, WRONG)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert rt.attempts._table.scan()["Items"] == []  # no password was checked


@pytest.mark.parametrize(("failures", "wait"), [(0, 0), (4, 0), (5, 30), (6, 60), (7, 120), (20, 3600)])
def test_retry_after_follows_the_back_off(failures, wait):
    rules = LockoutRules(threshold=5, base_seconds=30, max_seconds=3600, window_seconds=7 * 86400)
    assert retry_after(rules, failures, last_attempt_at=1000, now=1000) == wait


def test_retry_after_never_outlasts_the_observation_window():
    rules = LockoutRules(threshold=5, base_seconds=30, max_seconds=3600, window_seconds=900)
    # Locked at level 3 (240 s) at 850 s into a window: the next window admits after 50 s.
    assert retry_after(rules, 8, last_attempt_at=1800 + 850, now=1800 + 850) == 50


def test_admission_condition_spells_each_level_up_to_the_cap():
    condition, names, values = admission(LockoutRules(5, 30, 3600), now=10_000)
    assert names == {"#w": "w11"}  # the failures of the current observation window (900 s)
    # 30, 60, 120, 240, 480, 960, 1920 then the capped level (>= 12 failures).
    assert condition.count(" = :lk_f") == 7
    assert condition.count(">= :lk_f") == 1
    assert values[":lk_c0"] == 10_000 - 30
    assert values[":lk_c7"] == 10_000 - 3600
    assert "streak < :lk_cap" in condition
    assert values[":lk_cap"] == 100


def test_password_change_guesses_have_their_own_lockout_that_never_locks_the_login(client, make_user, login):
    from tests.conftest import bearer

    creds = make_user()
    auth = bearer(login(creds))
    body = {"current_password": WRONG, "new_password": "Brand-new-Pass-77"}
    statuses = [post_json(client, "/auth/password", body, headers=auth).status_code for _ in range(6)]
    assert statuses == [400] * 5 + [429]
    assert attempt(client, creds.username, creds.password).status_code == 200
    right = {**body, "current_password": creds.password}
    assert post_json(client, "/auth/password", right, headers=auth).status_code == 429  # still its own


def test_weak_new_password_does_not_count_as_a_failed_attempt(client, make_user, login):
    from tests.conftest import bearer

    creds = make_user()
    auth = bearer(login(creds))
    body = {"current_password": creds.password, "new_password": "password"}
    assert [post_json(client, "/auth/password", body, headers=auth).status_code for _ in range(6)] == [
        400
    ] * 6
    assert attempt(client, creds.username, creds.password).status_code == 200


def test_confirming_the_right_password_again_and_again_never_locks_the_owner(client, make_user, login):
    # A success clears the failures counted before it, as a login does.
    creds = make_user()
    token = login(creds)
    password = creds.password
    for n in range(7):
        new = f"Fresh-pass-{n}-zebra-Lamp"
        body = {"current_password": password, "new_password": new}
        response = post_json(client, "/auth/password", body, bearer(token))
        assert response.status_code == 204, (n, response.body)
        password = new
