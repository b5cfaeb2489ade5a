"""Recovery codes and the owner's mail: new codes are an event of their own with a notice, and the
notice of a code used says how many are left (never a code), in the package's wording or the app's."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from gatehouse.accounts import mfa, outbox
from tests.conftest import bearer, json_body, post_json
from tests.gatehouse.accounts.test_notices import use_app_templates
from tests.gatehouse.web.test_mfa_enrolment import verified_address
from tests.gatehouse.web.test_mfa_login import RECOVERY, challenge

ADDRESS = "alice@example.com"
REPLACED = "New recovery codes were made for your account"
USED = "A recovery code was used on your account"


def new_codes(client, user, authenticator) -> list[str]:
    response = post_json(
        client,
        "/auth/mfa/recovery-codes",
        {"code": authenticator.next_code(user.secret)},
        bearer(user.access_token),
    )
    assert response.status_code == 200, response.body
    return list(json_body(response)["recovery_codes"])


def recovery_login(client, user, code: str) -> None:
    body = {"grant_type": RECOVERY, "mfa_token": challenge(client, user.creds), "recovery_code": code}
    assert post_json(client, "/auth/token", body).status_code == 200


def bodies(mailbox, subject: str) -> list[str]:
    return [html.unescape(m.body) for m in mailbox.to(ADDRESS) if m.subject == subject]


def test_new_recovery_codes_are_an_event_of_their_own_and_mail_a_notice_without_a_code(
    client, rt, mailbox, make_mfa_user, authenticator
) -> None:
    user = make_mfa_user("alice")
    verified_address(rt, "alice", ADDRESS)
    fresh = new_codes(client, user, authenticator)
    events = json_body(client.http.get("/auth/events?limit=50", headers=bearer(user.access_token)))
    [replaced] = [e for e in events if e["kind"] == "recovery_codes_replaced"]
    assert replaced["session"] is not None  # the session that asked for them
    [notice] = bodies(mailbox, REPLACED)
    assert "The previous codes no longer work" in notice
    for code in (*fresh, *user.recovery_codes):
        assert code not in notice
        assert code not in str(events)


def test_new_recovery_code_notices_are_capped_like_every_other_mail(
    client, rt, mailbox, make_mfa_user, authenticator
) -> None:
    user = make_mfa_user("alice")
    verified_address(rt, "alice", ADDRESS)
    per_address = outbox.ADDRESS_CAPS[0][0]
    for _ in range(per_address + 2):
        new_codes(client, user, authenticator)
    assert len(bodies(mailbox, REPLACED)) == per_address  # the rest were counted and not sent
    events = json_body(client.http.get("/auth/events?limit=50", headers=bearer(user.access_token)))
    assert [e["kind"] for e in events].count("recovery_codes_replaced") == per_address + 2


def test_the_used_code_notice_says_how_many_are_left_and_urges_new_ones_when_few_are(
    client, rt, clock, mailbox, make_mfa_user
) -> None:
    user = make_mfa_user("alice")
    verified_address(rt, "alice", ADDRESS)
    codes = user.recovery_codes
    recovery_login(client, user, codes[0])
    [first] = bodies(mailbox, USED)
    assert "Recovery codes left: 9" in first
    assert "make new recovery codes soon" not in first  # nine is plenty
    for code in codes[1:7]:
        recovery_login(client, user, code)
    # The address's hourly cap let the first notices through; the eighth use's notice is read
    # after the hour has passed (the caps are the one mail path's, not this notice's).
    clock.advance(3600)
    recovery_login(client, user, codes[7])
    last = bodies(mailbox, USED)[-1]
    assert "Recovery codes left: 2" in last
    assert "Few are left: make new recovery codes soon" in last
    for code in codes:
        assert all(code not in body for body in bodies(mailbox, USED))


def test_removing_the_factor_with_a_recovery_code_says_none_is_left(
    client, rt, mailbox, make_mfa_user
) -> None:
    user = make_mfa_user("alice")
    verified_address(rt, "alice", ADDRESS)
    body = {"recovery_code": user.recovery_codes[0]}
    assert post_json(client, "/auth/mfa/totp/remove", body, bearer(user.access_token)).status_code == 204
    [notice] = bodies(mailbox, USED)
    assert "Recovery codes left: 0" in notice
    assert "The second factor was removed with it" in notice


def test_an_apps_own_used_code_template_still_gets_the_count(
    client, rt, mailbox, make_mfa_user, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notice_recovery_code_used.txt").write_text(
        "Subject: Wiederherstellungscode benutzt\nHallo $username, noch $remaining Codes.\n"
    )
    (tmp_path / "notice_recovery_code_used.html").write_text("<p>Noch $remaining Codes. $replace_advice</p>")
    use_app_templates(monkeypatch, tmp_path)
    user = make_mfa_user("alice")
    verified_address(rt, "alice", ADDRESS)
    recovery_login(client, user, user.recovery_codes[0])
    [notice] = [m for m in mailbox.to(ADDRESS) if m.subject == "Wiederherstellungscode benutzt"]
    assert "Noch 9 Codes." in notice.body


@pytest.mark.parametrize(
    ("remaining", "advice"),
    [(9, ""), (4, ""), (3, "Few are left"), (1, "Few are left"), (0, "None is left")],
)
def test_the_advice_to_make_new_codes_starts_at_three_left(remaining: int, advice: str) -> None:
    said = mfa.codes_left(remaining)
    assert said["remaining"] == str(remaining)
    assert said["replace_advice"].startswith(advice)
    assert bool(said["replace_advice"]) == bool(advice)
