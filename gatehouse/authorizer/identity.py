"""Who is calling, as the authorizer vouched for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Identity:
    """The caller of a protected route: what a view receives first.

    ``account_id`` is the account's immutable id: key the app's data by it,
    never by ``username``, which a deleted account frees for somebody else.
    ``session_id`` names the login (see ``GET /auth/sessions``); ``token_id``
    is the access token's ``jti``; ``amr`` how the login was made (RFC 8176:
    ``pwd``, ``otp``, ``mfa``) and ``aal`` its assurance level (2 after a
    second factor, else 1).
    """

    account_id: str
    username: str
    roles: tuple[str, ...]
    session_id: str
    token_id: str
    amr: tuple[str, ...] = ("pwd",)
    aal: int = 1

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Identity:
        """From the authorizer's context (API Gateway passes its values as strings)."""
        roles = str(context.get("roles", ""))
        return cls(
            account_id=str(context["account_id"]),
            username=str(context["username"]),
            roles=tuple(r for r in roles.split(",") if r),
            session_id=str(context["sid"]),
            token_id=str(context["jti"]),
            amr=tuple(m for m in str(context.get("amr", "pwd")).split(",") if m),
            # Anything but a clear 2 (absent, garbled) is the lower level: fail closed.
            aal=2 if str(context.get("aal", "1")) == "2" else 1,
        )
