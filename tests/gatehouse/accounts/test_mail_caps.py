"""Mail is no weapon: caps per address, per account and per source, answered like any other request."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from gatehouse.accounts import outbox
from gatehouse.accounts.email_address import SUBJECT as VERIFY_SUBJECT
from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD, FakeClock, Mailbox, bearer, json_body, post_json

TARGET = "victim@example.com"


def register(client: Client, username: str, email: str) -> Any:
    return post_json(
        client, "/auth/register", {"username": username, "password": DEFAULT_PASSWORD, "email": email}
    )


def token(client: Client, username: str) -> str:
    body = {"grant_type": "password", "username": username, "password": DEFAULT_PASSWORD}
    return str(json_body(post_json(client, "/auth/token", body))["access_token"])


def claim(client: Client, access_token: str, email: str) -> Any:
    body = {"current_password": DEFAULT_PASSWORD, "email": email}
    return post_json(client, "/auth/email", body, bearer(access_token))


def verify_mails(mailbox: Mailbox, address: str) -> list[Any]:
    return [m for m in mailbox.to(address) if m.subject == VERIFY_SUBJECT]


def test_repeating_a_claim_of_one_unverified_address_mails_it_three_times_an_hour_and_answers_alike(
    client: Client, rt: Services, mailbox: Mailbox, clock: FakeClock
) -> None:
    assert register(client, "mallory", "mallory@example.com").status_code == 201
    access = token(client, "mallory")
    statuses = [claim(client, access, TARGET).status_code for _ in range(8)]
    assert statuses == [204] * 8  # the capped answers are the same answer
    assert len(verify_mails(mailbox, TARGET)) == outbox.ADDRESS_CAPS[0][0] == 3

    clock.advance(3600)  # a new hour: the hourly cap admits more, the daily one still counts
    for _ in range(3):
        clock.advance(3600)
        access = token(client, "mallory")  # the access token of an hour ago has expired
        for _ in range(3):
            assert claim(client, access, TARGET).status_code == 204
    assert len(verify_mails(mailbox, TARGET)) == outbox.ADDRESS_CAPS[1][0] == 10


def test_sign_ups_with_plus_addresses_from_one_source_stop_mailing_at_the_source_cap(
    client: Client, rt: Services, mailbox: Mailbox
) -> None:
    hourly = outbox.SOURCE_CAPS[0][0]
    answers = [
        register(client, f"bulk{n:03d}", f"victim+{n}@example.com").status_code for n in range(hourly + 5)
    ]
    assert answers == [201] * (hourly + 5)
    sent = [m for m in mailbox.sent() if m.subject == VERIFY_SUBJECT]
    assert len(sent) == hourly


def test_a_verification_mail_carries_no_text_the_requester_chose(client: Client, mailbox: Mailbox) -> None:
    assert register(client, "visit-evil-example-com-now", TARGET).status_code == 201
    [mail] = verify_mails(mailbox, TARGET)
    assert "visit-evil" not in mail.body
    assert "visit-evil" not in mail.subject


def test_one_account_cannot_mail_many_addresses(
    client: Client, rt: Services, mailbox: Mailbox, clock: FakeClock
) -> None:
    assert register(client, "mallory", "mallory@example.com").status_code == 201
    access = token(client, "mallory")
    for n in range(outbox.ACCOUNT_CAPS[0][0] + 3):
        assert claim(client, access, f"other{n}@example.com").status_code == 204
    # The sign-up's own mail counts too: five an hour for the account, whatever the addresses.
    assert len([m for m in mailbox.sent() if m.subject == VERIFY_SUBJECT]) == outbox.ACCOUNT_CAPS[0][0]
