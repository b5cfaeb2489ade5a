"""GET /admin/users: role admin only, no secrets."""

from __future__ import annotations

from tests.conftest import bearer, json_body


def test_admin_lists_users_without_hashes(client, make_user, login, rt):
    admin = make_user("root-admin", roles=("admin", "user"))
    make_user("plain")
    response = client.http.get("/admin/users", headers=bearer(login(admin)))
    assert response.status_code == 200
    users = json_body(response)
    assert [u["username"] for u in users] == ["plain", "root-admin"]
    assert set(users[0]) == {"username", "account_id", "roles", "created_at", "disabled", "mfa"}
    assert b"argon2" not in response.body
    assert b"hash" not in response.body


def test_admin_listing_never_reads_hashes_from_the_table(rt, make_user):
    make_user("someone")
    assert all(u.password_hash == "" for u in rt.users.list())
