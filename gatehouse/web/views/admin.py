"""The admin routes (``/admin/users...``, role ``admin``): list accounts, read an account's
security events, unlock, disable, enable, remove a second factor."""

from __future__ import annotations

from urllib.parse import quote

from chalice.app import Response

from gatehouse.accounts import activity, admin, mfa
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import NoFactor
from gatehouse.web.views.common import Gate, json_response, next_link, no_content, paging


def list_users(gate: Gate, identity: Identity) -> Response:
    limit, cursor = paging(gate)
    page, following = admin.list_users(gate.services().users, limit, cursor)
    return json_response(page, headers=next_link(gate, "/admin/users", limit, following))


def user_events(gate: Gate, identity: Identity, username: str) -> Response:
    limit, cursor = paging(gate)
    page, following = activity.events_of(gate.services(), username, limit, cursor)
    path = f"/admin/users/{quote(username, safe='')}/events"
    return json_response(page, headers=next_link(gate, path, limit, following))


def unlock_user(gate: Gate, identity: Identity, username: str) -> Response:
    admin.unlock(gate.services(), username, actor=identity.username)
    return no_content()


def disable_user(gate: Gate, identity: Identity, username: str) -> Response:
    admin.set_disabled(gate.services(), username, True, actor=identity.username)
    return no_content()


def enable_user(gate: Gate, identity: Identity, username: str) -> Response:
    admin.set_disabled(gate.services(), username, False, actor=identity.username)
    return no_content()


def reset_mfa(gate: Gate, identity: Identity, username: str) -> Response:
    if not mfa.admin_reset(gate.services(), username, actor=identity.username):
        raise NoFactor()
    return no_content()
