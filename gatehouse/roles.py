"""What a role name may be: one rule for the admin CLI, the token issuer and the verifier.

Roles travel in the access token and, comma-joined, in the authorizer's
context (API Gateway passes context values only as strings), so a comma in a
role would split it in two on the way to a view.
"""

from __future__ import annotations

MAX_ROLE_LENGTH = 64
MAX_ROLES = 32
DEFAULT_ROLES = ("user",)
ADMIN = "admin"


def is_valid_role(role: object) -> bool:
    return (
        isinstance(role, str) and 0 < len(role) <= MAX_ROLE_LENGTH and "," not in role and role.isprintable()
    )
