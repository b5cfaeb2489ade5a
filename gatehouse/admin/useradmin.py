"""Account administration the HTTP API does not offer: creating users with roles, changing roles.

Creating and disabling go through ``gatehouse.accounts`` so the password
policy, hashing and "disabling ends every session" are the API's own code.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from gatehouse.accounts import activity, admin, deletion, signup
from gatehouse.roles import DEFAULT_ROLES
from gatehouse.services import Services
from gatehouse.storage.users import User


def create_user(rt: Services, username: str, password: str, roles: list[str]) -> User:
    return signup.create_user(rt, username, password, admin.check_roles(roles) or DEFAULT_ROLES)


def set_roles(rt: Services, username: str, roles: list[str]) -> admin.RolesChanged:
    """Replace a user's roles; taking a role away also ends the user's sessions."""
    return admin.set_roles(rt, username, roles)


def unlock(rt: Services, username: str) -> int:
    """Clear the user's lockout counters; how many there were."""
    return admin.unlock(rt, username)


def set_disabled(rt: Services, username: str, disabled: bool) -> int:
    """Disabling ends every session at once (refresh tokens and, via the authorizer, access tokens)."""
    return admin.set_disabled(rt, username, disabled)


def app_hooks(module: str = "app") -> Sequence[deletion.Hook]:
    """The account-deleted hooks of the app's ``Gatehouse`` (``app.py``, imported as Chalice does)."""
    from gatehouse import component

    application = importlib.import_module(module).app
    return tuple(component.component_of(application).account_deleted_hooks)


def app_table_definitions(env: Mapping[str, str], module: str = "app") -> list[dict[str, Any]]:
    """``create_table`` arguments of the tables the app declared with ``gate.table(...)``."""
    from gatehouse.component import declared_tables

    application = importlib.import_module(module).app
    return [table.create_table_arguments(env) for table in declared_tables(application)]


def delete_user(rt: Services, username: str, hooks: Sequence[deletion.Hook]) -> deletion.Deleted:
    """What ``POST /auth/account/delete`` does, for any account (the last active admin excepted)."""
    return deletion.delete_user(rt, username, hooks)


MAX_EVENTS_PAGE = 100


def events(rt: Services, username: str | None, account_id: str | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` of an account's events, newest first: by username (an existing account)
    or by account id (also a deleted one's, until they expire)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) < limit:
        size = min(MAX_EVENTS_PAGE, limit - len(found))
        if account_id is not None:
            page, cursor = activity.events_of_account(rt, account_id, size, cursor)
        else:
            page, cursor = activity.events_of(rt, username or "", size, cursor)
        found += page
        if cursor is None:
            break
    return found
