"""Creating accounts: the username and password rules, then one transaction that claims the name
and its confusable skeleton (and the address, if one is given)."""

from __future__ import annotations

from gatehouse.accounts import email_address
from gatehouse.accounts.email_syntax import normalize_email
from gatehouse.accounts.passwords import check_password_policy
from gatehouse.accounts.ports import AccountServices
from gatehouse.accounts.usernames import check_username, skeleton
from gatehouse.errors import InvalidRequest, SignupDisabled
from gatehouse.storage.users import User, new_account_id


def ensure_signup_open(allowed: bool) -> None:
    if not allowed:
        raise SignupDisabled()


def create_user(
    rt: AccountServices,
    raw_username: str,
    password: str,
    roles: tuple[str, ...],
    email: str | None = None,
    *,
    source: str | None = None,
    require_email: bool = False,
) -> User:
    """A new account; with ``email``, the address is claimed with it and a verification code mailed.

    ``require_email`` is the deployment's rule that every self-service
    account has an address to recover by; an administrator's account may
    still be made without one (the admin CLI passes no address).
    """
    if require_email and email is None:
        raise InvalidRequest("email is required.")
    username = check_username(raw_username)
    check_password_policy(password, username)
    address = normalize_email(email) if email is not None else None
    user = User(
        username=username,
        account_id=new_account_id(),
        password_hash=rt.hasher.hash(password),
        roles=tuple(sorted(set(roles))),
        created_at=rt.now(),
        name_skeleton=skeleton(username),
    )
    if address is None:
        rt.users.create(user)
    else:
        email_address.create_with_email(rt, user, address, source)
    return user
