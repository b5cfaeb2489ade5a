"""An administrator removes a user's factor (a lost phone, no recovery code left)."""

from __future__ import annotations

from tests.conftest import bearer, json_body, post_json
from tests.gatehouse.web.test_mfa_enrolment import verified_address
from tests.gatehouse.web.test_mfa_login import password_grant


def test_the_admin_reset_removes_the_factor_ends_sessions_and_mails_the_owner(
    client, rt, clock, mailbox, make_mfa_user, make_user, login
) -> None:
    user = make_mfa_user("alice")
    verified_address(rt, "alice", "alice@example.com")
    admin = login(make_user(roles=("admin", "user")))
    response = client.http.post("/admin/users/alice/mfa/reset", headers=bearer(admin))
    assert response.status_code == 204
    assert not rt.factors.get(rt.users.get("alice")).active
    clock.advance(rt.settings.session_cache_seconds + 1)  # past the authorizer's session cache
    assert client.http.get("/me", headers=bearer(user.access_token)).status_code == 401
    assert password_grant(client, user.creds).status_code == 200
    assert any("administrator" in m.subject for m in mailbox.to("alice@example.com"))


def test_resetting_a_user_without_a_factor_is_409_and_an_unknown_one_404(client, make_user, login) -> None:
    plain = make_user()
    admin = login(make_user(roles=("admin", "user")))
    response = client.http.post(f"/admin/users/{plain.username}/mfa/reset", headers=bearer(admin))
    assert (response.status_code, json_body(response)["error"]) == (409, "mfa_not_enabled")
    response = client.http.post("/admin/users/nobody-here/mfa/reset", headers=bearer(admin))
    assert response.status_code == 404


def test_only_admins_may_reset(client, make_mfa_user, make_user, login) -> None:
    make_mfa_user("alice")
    response = post_json(client, "/admin/users/alice/mfa/reset", {}, bearer(login(make_user())))
    assert response.status_code == 403


def test_a_name_no_account_can_have_is_404_without_a_store_call(client, make_user, login) -> None:
    admin = login(make_user(roles=("admin", "user")))
    for name in ("x" * 3000, "a", "%20"):
        response = client.http.post(f"/admin/users/{name}/mfa/reset", headers=bearer(admin))
        assert response.status_code == 404, name
