"""What ``GET /me`` says of the caller: read from the caller's own account incarnation only."""

from __future__ import annotations

from typing import Any

from gatehouse.accounts.ports import AccountServices
from gatehouse.authorizer.identity import Identity
from gatehouse.errors import AccountGone


def me(rt: AccountServices, identity: Identity) -> dict[str, Any]:
    """The caller's name, id and roles, and the address of *their* account, if any.

    Read only while the row still is the caller's account (its id): a token
    of a deleted account, still inside the revocation bound, is
    ``AccountGone`` and never shows a later account of the same name.
    """
    if rt.users.get_account(identity.username, identity.account_id) is None:
        raise AccountGone()
    answer: dict[str, Any] = {
        "username": identity.username,
        "account_id": identity.account_id,
        "roles": list(identity.roles),
    }
    contact = rt.account_email.contact(identity.username, identity.account_id)
    if contact is not None:
        answer.update(email=contact.email, email_verified=contact.verified)
    return answer
