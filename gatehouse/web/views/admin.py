"""The admin routes (``/admin/users...``, role ``admin``): list accounts, unlock, disable, enable."""

from __future__ import annotations

from chalice.app import Response

from gatehouse.accounts import admin
from gatehouse.verify.identity import Identity
from gatehouse.web.views.common import Gate, json_response, next_link, no_content, paging


def list_users(gate: Gate, identity: Identity) -> Response:
    limit, cursor = paging(gate)
    page, following = admin.list_users(gate.services().users, limit, cursor)
    return json_response(page, headers=next_link(gate, "/admin/users", limit, following))


def unlock_user(gate: Gate, identity: Identity, username: str) -> Response:
    admin.unlock(gate.services(), username)
    return no_content()


def disable_user(gate: Gate, identity: Identity, username: str) -> Response:
    admin.set_disabled(gate.services(), username, True)
    return no_content()


def enable_user(gate: Gate, identity: Identity, username: str) -> Response:
    admin.set_disabled(gate.services(), username, False)
    return no_content()
