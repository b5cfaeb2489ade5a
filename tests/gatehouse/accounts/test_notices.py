"""Security notices by mail: who gets one, what it says, and the app's own wording."""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

import app as gatehouse_app
from gatehouse import mail
from gatehouse.accounts import activity, deletion, mfa
from gatehouse.component import component_of
from gatehouse.services import Services
from tests.conftest import DEFAULT_PASSWORD, Mailbox, bearer, json_body, post_json

ADDRESS = "owner@example.com"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


@pytest.fixture
def owner(client: Client, mailbox: Mailbox) -> str:
    """An account with a verified address."""
    body = {"username": "owner", "password": DEFAULT_PASSWORD, "email": ADDRESS}
    assert post_json(client, "/auth/register", body).status_code == 201
    code = mailbox.last_code(ADDRESS)
    assert post_json(client, "/auth/email/verify", {"username": "owner", "code": code}).status_code == 204
    return "owner"


def grant(client: Client, **extra: str) -> Any:
    body = {"grant_type": "password", "username": "owner", "password": DEFAULT_PASSWORD, **extra}
    answer = post_json(client, "/auth/token", body, {"User-Agent": AGENT})
    assert answer.status_code == 200, answer.body
    return json_body(answer)


def notices(mailbox: Mailbox, subject: str) -> list[Any]:
    """The messages with this subject, their (HTML) bodies unescaped."""
    return [replace(m, body=html.unescape(m.body)) for m in mailbox.to(ADDRESS) if m.subject == subject]


def test_a_login_from_a_new_device_mails_what_when_and_which_device(
    client: Client, owner: str, mailbox: Mailbox
) -> None:
    grant(client, device="laptop")
    [notice] = notices(mailbox, "New sign-in to your account")
    assert "2027-01-15 08:00 UTC" in notice.body  # the test clock's time
    assert '"laptop" (Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0), from 127.0.0.1' in notice.body
    assert "change it now" in notice.body  # what to do if it was not the owner


def test_a_device_that_shows_its_device_token_is_not_new(
    client: Client, owner: str, mailbox: Mailbox
) -> None:
    token = grant(client)["device_token"]
    grant(client, device_token=token)
    assert len(notices(mailbox, "New sign-in to your account")) == 1


def test_the_setting_turns_the_new_device_notice_off(
    make_runtime, client: Client, owner: str, mailbox: Mailbox
) -> None:
    make_runtime(new_device_notice=False)
    grant(client)
    assert notices(mailbox, "New sign-in to your account") == []


def test_an_unverified_address_gets_no_notice(client: Client, mailbox: Mailbox) -> None:
    body = {"username": "fresh", "password": DEFAULT_PASSWORD, "email": "fresh@example.com"}
    assert post_json(client, "/auth/register", body).status_code == 201
    login = {"grant_type": "password", "username": "fresh", "password": DEFAULT_PASSWORD}
    assert post_json(client, "/auth/token", login).status_code == 200
    assert [m.subject for m in mailbox.to("fresh@example.com")] == ["Confirm your email address"]


def test_a_password_change_is_noticed_without_the_password(
    client: Client, owner: str, mailbox: Mailbox
) -> None:
    token = grant(client)["access_token"]
    change = {"current_password": DEFAULT_PASSWORD, "new_password": "Brand-new-Pass-77"}
    assert post_json(client, "/auth/password", change, bearer(token)).status_code == 204
    [notice] = notices(mailbox, "Your password was changed")
    assert "Brand-new-Pass-77" not in notice.body
    assert DEFAULT_PASSWORD not in notice.body
    assert "reset your password" in notice.body


def test_an_address_change_is_noticed_at_the_old_address(
    client: Client, owner: str, mailbox: Mailbox
) -> None:
    token = grant(client)["access_token"]
    change = {"current_password": DEFAULT_PASSWORD, "email": "moved@example.com"}
    assert post_json(client, "/auth/email", change, bearer(token)).status_code == 204
    [notice] = notices(mailbox, "Your email address was changed")
    assert "moved@example.com" in notice.body
    assert "from 127.0.0.1" in notice.body


def test_a_deletion_is_noticed_at_the_address_the_account_had(
    rt: Services, owner: str, mailbox: Mailbox
) -> None:
    deletion.delete_user(rt, owner, [])
    [notice] = notices(mailbox, "Your account was deleted")
    assert "contact the service's support" in notice.body


def test_a_factor_notice_goes_through_the_same_api_other_components_call(
    rt: Services, owner: str, mailbox: Mailbox
) -> None:
    user = rt.users.get(owner)
    assert user is not None
    for kind in (activity.FACTOR_ADDED, activity.RECOVERY_CODE_USED, activity.FACTOR_REMOVED):
        activity.record(rt, activity.who(rt, user), kind, notice=True, more=mfa.codes_left(9))
    assert [m.subject for m in mailbox.to(ADDRESS)[-3:]] == [
        "A second factor was added to your account",
        "A recovery code was used on your account",
        "A second factor was removed from your account",
    ]


def test_the_clients_words_reach_a_notice_only_as_short_printable_text(rt: Services) -> None:
    who = activity.Who("acct", "owner")
    with activity.from_client(activity.Client("Evil\u202e agent " + "x" * 300, "203.0.113.9")):
        event = activity.new_event(rt, who, activity.LOGIN_SUCCEEDED, device="ph\u00f6ne")
    described = activity.device_text(event)
    assert described.startswith('"ph?ne" (Evil? agent xxx')
    assert described.endswith("...), from 203.0.113.9")
    assert len(described) < 200


def use_app_templates(monkeypatch: pytest.MonkeyPatch, directory: Path) -> Any:
    """The example app's Gatehouse, with ``directory``'s mail templates before the package's."""
    gate = component_of(gatehouse_app.app)
    # The app's directories are this Gatehouse's state: put back as they were after the test.
    monkeypatch.setattr(gate, "_mail_templates", gate._mail_templates)
    monkeypatch.setattr(gate.services(), "mail_templates", gate.services().mail_templates)
    gate.mail_templates(directory)
    return gate


def test_the_app_replaces_a_templates_wording_and_subject(
    client: Client, owner: str, mailbox: Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notice_new_device.txt").write_text(
        "Subject: Neue Anmeldung\nHallo $username, $when: $device\n"
    )
    (tmp_path / "notice_new_device.html").write_text("<p>Hallo $username</p>")
    gate = use_app_templates(monkeypatch, tmp_path)
    grant(client)
    [notice] = notices(mailbox, "Neue Anmeldung")
    assert "Hallo owner" in notice.body
    # The others are still the package's.
    assert mail._template("notice_password_changed.txt", gate.services().mail_templates).template.startswith(
        "Subject: Your password"
    )


def test_a_template_directory_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        component_of(gatehouse_app.app).mail_templates(tmp_path / "missing")


def test_every_notice_kind_has_both_templates_with_a_subject() -> None:
    for kind in activity.NOTICES:
        text = mail._template(f"notice_{kind}.txt").template
        html = mail._template(f"notice_{kind}.html").template
        assert text.startswith("Subject: ")
        for placeholder in ("$username", "$when", "$device"):
            assert placeholder in text, (kind, placeholder)
            assert placeholder in html, (kind, placeholder)
