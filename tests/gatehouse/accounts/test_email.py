"""The account's email address: given at sign-up, unique, verified by a mailed code, changed with
the password."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from gatehouse.accounts.codes import ALPHABET, EMAIL_CODE_LENGTH
from gatehouse.accounts.email_syntax import normalize_email
from gatehouse.errors import InvalidRequest
from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD, FakeClock, Mailbox, bearer, json_body, post_json

PASSWORD = DEFAULT_PASSWORD


def register(client: Client, username: str, email: str | None = None) -> Any:
    body = {"username": username, "password": PASSWORD}
    if email is not None:
        body["email"] = email
    return post_json(client, "/auth/register", body)


def token_of(client: Client, username: str) -> str:
    body = {"grant_type": "password", "username": username, "password": PASSWORD}
    response = post_json(client, "/auth/token", body)
    assert response.status_code == 200, response.body
    return str(json_body(response)["access_token"])


def me(client: Client, username: str) -> dict[str, Any]:
    response = client.http.get("/me", headers=bearer(token_of(client, username)))
    assert response.status_code == 200, response.body
    return dict(json_body(response))


def verify(client: Client, username: str, code: str) -> Any:
    return post_json(client, "/auth/email/verify", {"username": username, "code": code})


# -- the address ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Alice@Example.COM", "Alice@example.com"),
        ("  bob.smith+tag@mail.example.org ", "bob.smith+tag@mail.example.org"),
        ("x@xn--bcher-kva.example", "x@xn--bcher-kva.example"),
    ],
)
def test_an_address_is_stored_with_its_domain_lower_cased(raw: str, stored: str) -> None:
    assert normalize_email(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "no-at-sign",
        "@example.com",
        "a@",
        "a@localhost",
        "a@@example.com",
        ".a@example.com",
        "a..b@example.com",
        "a b@example.com",
        "ä@example.com",
        "a@exämple.com",
        "a@example.com\ud800",
        "a@-example.com",
        ("x" * 65) + "@example.com",
        "a@" + ("d" * 60 + ".") * 5 + "com",  # over 254
    ],
)
def test_a_malformed_address_is_refused(raw: str) -> None:
    with pytest.raises(InvalidRequest):
        normalize_email(raw)


def test_register_with_email_mails_a_verification_code_and_me_shows_it_unverified(
    client: Client, mailbox: Mailbox, rt: Services
) -> None:
    response = register(client, "alice", "Alice@Example.com")
    assert response.status_code == 201, response.body
    [mail] = mailbox.to("Alice@example.com")
    code = mailbox.last_code("Alice@example.com")
    assert len(code) == EMAIL_CODE_LENGTH
    assert set(code) <= set(ALPHABET)
    assert "alice" not in mail.body  # an unproven address gets no text the requester chose
    answer = me(client, "alice")
    assert answer.pop("account_id") == rt.users.get("alice").account_id
    assert answer == {
        "username": "alice",
        "roles": ["user"],
        "email": "Alice@example.com",
        "email_verified": False,
    }


def test_without_an_email_me_has_no_email_fields(client: Client, rt: Services) -> None:
    assert register(client, "bob").status_code == 201
    account_id = rt.users.get("bob").account_id
    assert me(client, "bob") == {"username": "bob", "account_id": account_id, "roles": ["user"]}


def test_the_mailed_code_verifies_the_address(client: Client, mailbox: Mailbox) -> None:
    register(client, "alice", "alice@example.com")
    code = mailbox.last_code("alice@example.com")
    response = verify(client, "alice", code.lower()[:4] + "-" + code[4:])  # typed loosely
    assert response.status_code == 204, response.body
    assert me(client, "alice")["email_verified"] is True
    # Spent: the same code again is no longer valid.
    again = verify(client, "alice", code)
    assert (again.status_code, json_body(again)["error"]) == (400, "invalid_code")


def test_an_email_is_required_when_the_setting_says_so(
    make_runtime: Callable[..., Services], mailbox: Mailbox
) -> None:
    import app as gatehouse_app
    from tests.conftest import ROOT

    make_runtime(require_email=True)
    client = Client(gatehouse_app.app, project_dir=str(ROOT))
    response = register(client, "alice")
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_request")
    assert "email" in json_body(response)["message"]
    assert register(client, "alice", "alice@example.com").status_code == 201


@pytest.mark.parametrize("email", ["not an address", "", None, 42])
def test_a_malformed_email_at_sign_up_is_400_and_makes_no_account(
    client: Client, rt: Services, email: Any
) -> None:
    response = post_json(
        client, "/auth/register", {"username": "alice", "password": PASSWORD, "email": email}
    )
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_request")
    assert rt.users.get("alice") is None


def test_one_address_makes_one_account_whatever_its_case(
    client: Client, rt: Services, mailbox: Mailbox
) -> None:
    assert register(client, "alice", "Same@Example.com").status_code == 201
    response = register(client, "bob", "same@example.COM")
    assert (response.status_code, json_body(response)["error"]) == (409, "email_taken")
    assert rt.users.get("bob") is None  # the user item was not written either


def test_concurrent_sign_ups_with_one_address_make_exactly_one_account(
    client: Client, rt: Services, mailbox: Mailbox, atomic_conditional_writes: None
) -> None:
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def sign_up(n: int) -> None:
        barrier.wait()
        statuses.append(register(client, f"racer-{n}", "contested@example.com").status_code)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 5
    assert len([u for u in rt.users.list() if u.username.startswith("racer-")]) == 1


def test_the_user_list_shows_users_only_never_email_claims(
    client: Client, rt: Services, mailbox: Mailbox
) -> None:
    register(client, "alice", "alice@example.com")
    assert [u.username for u in rt.users.list()] == ["alice"]


# -- verification codes ----------------------------------------------------------------------


def test_an_expired_verification_code_is_invalid(
    client: Client, rt: Services, clock: FakeClock, mailbox: Mailbox
) -> None:
    register(client, "alice", "alice@example.com")
    code = mailbox.last_code("alice@example.com")
    clock.advance(rt.settings.email_code_ttl)
    response = verify(client, "alice", code)
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")


@pytest.mark.parametrize("username", ["nobody", "email#alice@example.com", "ALICE ", "x" * 200])
def test_verify_for_an_unknown_or_malformed_name_is_the_same_invalid_code(
    client: Client, mailbox: Mailbox, username: str
) -> None:
    register(client, "alice", "alice@example.com")
    response = verify(client, username, "ABCD-EFGH-JKMN")
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_code")


def test_the_code_of_another_account_does_not_verify_this_one(client: Client, mailbox: Mailbox) -> None:
    register(client, "alice", "alice@example.com")
    register(client, "bob", "bob@example.com")
    response = verify(client, "bob", mailbox.last_code("alice@example.com"))
    assert response.status_code == 400


# -- changing the address ----------------------------------------------------------------------


def change(client: Client, token: str, email: str, password: str = PASSWORD) -> Any:
    return post_json(client, "/auth/email", {"current_password": password, "email": email}, bearer(token))


def test_changing_the_address_moves_the_claim_resets_verification_and_mails_the_new_one(
    client: Client, rt: Services, mailbox: Mailbox
) -> None:
    register(client, "alice", "old@example.com")
    verify(client, "alice", mailbox.last_code("old@example.com"))
    token = token_of(client, "alice")

    response = change(client, token, "New@Example.com")

    assert response.status_code == 204, response.body
    assert me(client, "alice")["email"] == "New@example.com"
    assert me(client, "alice")["email_verified"] is False
    assert len(mailbox.to("New@example.com")) == 1
    # The old address is free again; the new one is taken.
    assert register(client, "bob", "old@example.com").status_code == 201
    assert register(client, "carol", "new@example.com").status_code == 409
    assert verify(client, "alice", mailbox.last_code("New@example.com")).status_code == 204


def test_changing_to_an_address_in_use_is_409_and_changes_nothing(client: Client, mailbox: Mailbox) -> None:
    register(client, "alice", "alice@example.com")
    register(client, "bob", "bob@example.com")
    response = change(client, token_of(client, "alice"), "BOB@example.com")
    assert (response.status_code, json_body(response)["error"]) == (409, "email_taken")
    assert me(client, "alice")["email"] == "alice@example.com"


def test_a_first_address_can_be_added_to_an_account_without_one(client: Client, mailbox: Mailbox) -> None:
    register(client, "alice")
    assert change(client, token_of(client, "alice"), "alice@example.com").status_code == 204
    assert me(client, "alice")["email"] == "alice@example.com"


def test_changing_the_address_needs_the_current_password(client: Client, mailbox: Mailbox) -> None:
    register(client, "alice", "alice@example.com")
    response = change(client, token_of(client, "alice"), "new@example.com", password="Wrong-password-42")
    assert (response.status_code, json_body(response)["error"]) == (400, "invalid_request")
    assert me(client, "alice")["email"] == "alice@example.com"
    assert mailbox.to("new@example.com") == []


def test_wrong_passwords_on_email_change_count_toward_the_lockout(client: Client, mailbox: Mailbox) -> None:
    register(client, "alice", "alice@example.com")
    token = token_of(client, "alice")
    statuses = [change(client, token, "new@example.com", "Wrong-password-42").status_code for _ in range(6)]
    assert statuses[:5] == [400] * 5
    assert statuses[5] == 429


def test_the_same_unverified_address_again_mails_a_fresh_code(client: Client, mailbox: Mailbox) -> None:
    register(client, "alice", "alice@example.com")
    first = mailbox.last_code("alice@example.com")
    assert change(client, token_of(client, "alice"), "alice@example.com").status_code == 204
    second = mailbox.last_code("alice@example.com")
    assert len(mailbox.to("alice@example.com")) == 2
    assert first != second  # 40 random bits each
    assert verify(client, "alice", first).status_code == 400
    assert verify(client, "alice", second).status_code == 204


def test_concurrent_changes_to_one_address_give_it_to_one_account(
    client: Client, rt: Services, mailbox: Mailbox, atomic_conditional_writes: None
) -> None:
    names = [f"user-{n}" for n in range(5)]
    tokens = {}
    for name in names:
        register(client, name)
        tokens[name] = token_of(client, name)
    statuses: list[int] = []
    barrier = threading.Barrier(len(names))

    def claim(name: str) -> None:
        barrier.wait()
        statuses.append(change(client, tokens[name], "wanted@example.com").status_code)

    threads = [threading.Thread(target=claim, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [204] + [409] * 4
    users = [rt.users.get(n) for n in names]
    owners = [
        u
        for u in users
        if (c := rt.account_email.contact(u.username, u.account_id)) is not None
        and c.email == "wanted@example.com"
    ]
    assert len(owners) == 1
    owner = rt.account_email.owner_of("wanted@example.com")
    assert (owner.username, owner.account_id) == (owners[0].username, owners[0].account_id)


CHANGED_SUBJECT = "Your email address was changed"


def test_the_old_verified_address_is_told_of_a_change(client: Client, mailbox: Mailbox) -> None:
    register(client, "alice", "old@example.com")
    verify(client, "alice", mailbox.last_code("old@example.com"))
    change(client, token_of(client, "alice"), "new@example.com")
    notice = mailbox.to("old@example.com")[-1]
    assert notice.subject == CHANGED_SUBJECT
    assert "new@example.com" in notice.body
    # An address never proven to be the owner's hears nothing.
    change(client, token_of(client, "alice"), "third@example.com")
    assert mailbox.to("new@example.com")[-1].subject != CHANGED_SUBJECT
