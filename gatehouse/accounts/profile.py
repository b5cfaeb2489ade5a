"""What an account holder may read about their own account (``GET /me``)."""

from __future__ import annotations

from typing import Any

from gatehouse.storage.account_email import AccountEmailRepository
from gatehouse.verify.identity import Identity


def profile(contacts: AccountEmailRepository, identity: Identity) -> dict[str, Any]:
    """Name and roles as the token says, the address and its state as the table says."""
    answer: dict[str, Any] = {"username": identity.username, "roles": list(identity.roles)}
    contact = contacts.contact(identity.username)
    if contact is not None:
        answer.update(email=contact.email, email_verified=contact.verified)
    return answer
