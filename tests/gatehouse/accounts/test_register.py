"""POST /auth/register: the sign-up contract."""

from __future__ import annotations

import threading

import pytest

from gatehouse.accounts import signup
from gatehouse.errors import UsernameTaken
from tests.conftest import DEFAULT_PASSWORD, DEPLOYED_HASHING, json_body, post_json


def register(client, username, password=DEFAULT_PASSWORD):
    return post_json(client, "/auth/register", {"username": username, "password": password})


def test_register_creates_user_and_answers_201_with_username(client, rt):
    response = register(client, "Alice.Smith")
    assert response.status_code == 201
    assert json_body(response) == {"username": "alice.smith"}
    stored = rt.users.get("alice.smith")
    assert stored is not None
    assert stored.roles == ("user",)


def test_registered_password_is_stored_as_argon2id_hash_only(client, make_runtime):
    rt = make_runtime(**DEPLOYED_HASHING)
    register(client, "bob")
    stored = rt.users.get("bob")
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert DEFAULT_PASSWORD not in stored.password_hash


def test_register_response_never_echoes_the_password(client):
    response = register(client, "carol")
    assert DEFAULT_PASSWORD.encode() not in response.body


def test_second_registration_of_same_name_is_409_username_taken(client):
    assert register(client, "dave").status_code == 201
    again = register(client, "DAVE", "another-Secret-77")
    assert again.status_code == 409
    assert json_body(again)["error"] == "username_taken"


def test_concurrent_signups_of_one_name_make_exactly_one_user(rt, atomic_conditional_writes):
    # Threads call the use case directly: Chalice's app.current_request is one
    # global, so concurrent requests through one in-process app would mix bodies.
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            signup.create_user(rt, "racer", f"Distinct-pass-{i}-xyz", ("user",))
            outcomes.append("created")
        except UsernameTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created"] + ["taken"] * 5
    assert [u.username for u in rt.users.list()] == ["racer"]


@pytest.mark.parametrize(
    "username",
    ["ab", "-leadingdash", "_under", "has space", "x" * 65, "ünïcode", "semi;colon", "a/b", ""],
)
def test_username_outside_policy_is_400_invalid_request(client, username):
    response = register(client, username)
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short1!", "too short"),
        ("x" * 129, "too long"),
        ("password123", "common"),
        ("Qwerty123", "common, any case"),
        ("erin-the-user", "equals username"),
    ],
)
def test_password_outside_policy_is_400_invalid_request(client, password, why):
    response = register(client, "erin-the-user", password)
    assert response.status_code == 400, why
    body = json_body(response)
    assert body["error"] == "invalid_request"
    assert password not in body["message"]


def test_password_of_exactly_8_and_128_chars_is_accepted(client):
    assert register(client, "frank", "Zq8#kLm2").status_code == 201
    assert register(client, "grace", "Zq8#kLm2" * 16).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"username": "henry"},
        {"password": DEFAULT_PASSWORD},
        {"username": 5, "password": DEFAULT_PASSWORD},
        {"username": "henry", "password": ["a"]},
        {"username": None, "password": DEFAULT_PASSWORD},
    ],
)
def test_missing_or_mistyped_fields_are_400(client, body):
    response = post_json(client, "/auth/register", body)
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b'"text"', b"", b"\xff\xfe", b'{"username": NaN}'])
def test_non_object_json_body_is_400(client, raw):
    response = client.http.post("/auth/register", headers={"Content-Type": "application/json"}, body=raw)
    assert response.status_code == 400
    assert json_body(response)["error"] == "invalid_request"


def test_form_body_on_register_is_415_with_stable_code(client):
    response = client.http.post(
        "/auth/register",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"username=ivan&password=whatever-long-pass",
    )
    assert response.status_code == 415
    assert json_body(response)["error"] == "unsupported_media_type"


def test_signup_disabled_is_403_and_creates_nobody(client, make_runtime):
    rt = make_runtime(allow_signup=False)
    response = register(client, "judy")
    assert response.status_code == 403
    assert json_body(response)["error"] == "signup_disabled"
    assert rt.users.get("judy") is None
