"""Account administration the HTTP API does not offer: creating users with roles, changing roles.

Creating and disabling go through ``chalicelib.accounts`` so the password
policy, hashing and "disabling ends every session" are the API's own code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib import accounts, lifecycle
from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.runtime import Runtime
from chalicelib.users import User, normalize_username

if TYPE_CHECKING:
    pass

MAX_ROLE_LENGTH = 64


def check_roles(raw: list[str]) -> tuple[str, ...]:
    """Roles travel in the token and, comma-joined, in the authorizer context."""
    roles = tuple(sorted({r.strip() for r in raw if r.strip()}))
    for role in roles:
        if len(role) > MAX_ROLE_LENGTH or "," in role or not role.isprintable():
            raise InvalidRequest(f"Role {role!r} is not valid: at most 64 printable characters, no comma.")
    return roles


def create_user(rt: Runtime, username: str, password: str, roles: list[str]) -> User:
    return accounts.create_user(rt, username, password, check_roles(roles) or accounts.DEFAULT_ROLES)


@dataclass(frozen=True)
class RolesChanged:
    before: tuple[str, ...]
    after: tuple[str, ...]
    sessions_ended: int


def set_roles(rt: Runtime, raw_username: str, roles: list[str]) -> RolesChanged:
    """Replace a user's roles; taking a role away also ends the user's sessions.

    An access token carries the roles it was issued with, so a removed role
    would keep working until the token expires.  Ending the sessions makes
    the authorizer's session check refuse those tokens now.  An added role
    arrives with the next token (refresh reads the user again).
    """
    username = normalize_username(raw_username)
    wanted = check_roles(roles)
    user = rt.users.get(username)
    if user is None:
        raise NotFound("No such user.")
    if not rt.users.set_roles(username, wanted):
        raise NotFound("No such user.")
    ended = 0
    if set(user.roles) - set(wanted):
        ended = lifecycle.end_all_sessions(rt, username)
    return RolesChanged(user.roles, wanted, ended)


def set_disabled(rt: Runtime, username: str, disabled: bool) -> int:
    """Disabling ends every session at once (refresh tokens and, via the authorizer, access tokens)."""
    return accounts.set_disabled(rt, username, disabled)
