"""GET /admin/users: role admin only, no secrets."""

from __future__ import annotations

from gatehouse.accounts import signup
from gatehouse.web.views.common import MAX_PAGE
from tests.conftest import DEFAULT_PASSWORD, bearer, json_body, next_link

# What docs/API.md says a listed user shows.
LISTED_FIELDS = {"username", "account_id", "roles", "created_at", "disabled", "mfa"}


def test_admin_lists_users_without_hashes(client, make_user, login, rt):
    admin = make_user("root-admin", roles=("admin", "user"))
    make_user("plain")
    response = client.http.get("/admin/users", headers=bearer(login(admin)))
    assert response.status_code == 200
    users = json_body(response)
    assert [u["username"] for u in users] == ["plain", "root-admin"]
    assert set(users[0]) == LISTED_FIELDS
    assert b"argon2" not in response.body
    assert b"hash" not in response.body


def test_admin_listing_never_reads_hashes_from_the_table(rt, make_user):
    make_user("someone")
    assert all(u.password_hash == "" for u in rt.users.list())


def test_every_page_size_pages_over_users_only_each_once_and_every_next_link_works(
    client, rt, make_user, login
):
    # Names on both sides of the claim items' keys ("email#...", "skeleton#..."), half of them
    # with an address: the table interleaves users and claims whatever its order.
    token = login(make_user("admin-boss", roles=("admin", "user")))
    names = {"admin-boss"}
    for i, first in enumerate("bfkruz" * 4):
        name = f"{first}{i}-member"
        signup.create_user(rt, name, DEFAULT_PASSWORD, ("user",), f"{name}@example.com" if i % 2 else None)
        names.add(name)
    # Every size up to one past the number of users (each way a page can end among users and
    # claims, a full last page, one that holds them all) and the largest: past them all, every
    # size reads the same single page.
    for limit in [*range(1, len(names) + 2), MAX_PAGE]:
        seen: list[str] = []
        url: str | None = f"/admin/users?limit={limit}"
        while url is not None:
            response = client.http.get(url, headers=bearer(token))
            assert response.status_code == 200, (limit, url, response.body)
            page = json_body(response)
            assert len(page) <= limit
            assert all(set(user) == LISTED_FIELDS for user in page)
            seen += [user["username"] for user in page]
            url = next_link(response)
        assert sorted(seen) == sorted(names), limit  # users only, each once
