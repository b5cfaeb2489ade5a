"""The users table: one item per canonical username.

Each item also holds the account's ``account_id``: 128 random bits drawn when
the account is created and never changed.  A name can be deleted and taken
again; the id cannot, so everything that must belong to one incarnation of
an account (sessions, refresh and device tokens, codes, email claims, the
app's data) is keyed or bound by the id, and every write here that acts for
such a thing is conditioned on it.  A row without an id or a credential
version is an error, never read as a default.

Beside the users the table holds one *skeleton claim* per account (key
``skeleton#<skeleton>``, attributes ``owner`` and ``owner_name`` as on an
email claim): the name's confusable skeleton
(:func:`gatehouse.accounts.usernames.skeleton`), written in the same
transaction as the user item (which keeps it as ``name_skeleton``) and
removed with it.  So two names a reader takes one for the other ("admin",
"adrnin") can never both be created, however the sign-ups interleave.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatehouse.errors import LookAlikeName, NoSuchUser, StoreError, UsernameTaken
from gatehouse.roles import ADMIN
from gatehouse.storage.failures import all_items, store_call, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


# 32 lower-case hex digits: 128 random bits, never reused.
ACCOUNT_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
# The credential version of a new account (a missing one is an error, never 0).
FIRST_CRED_VERSION = 1
# Items the table holds for one account: its row, its skeleton claim, its email claim.
ITEMS_PER_USER = 3


# What a listing reads of a user: never the hash, never a sealed secret (``mfa_since`` only
# says that a factor is on).
LISTED = "username, account_id, cred_version, #r, created_at, disabled, mfa_since"


def new_account_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class AccountKey:
    """One incarnation of an account: its row's key and its id."""

    username: str
    account_id: str


@dataclass(frozen=True)
class User:
    username: str
    account_id: str
    password_hash: str
    roles: tuple[str, ...]
    created_at: int
    disabled: bool = False
    # Bumped by every change that must end the sessions of logins that read the user before it
    # (and the device tokens issued before it).
    cred_version: int = FIRST_CRED_VERSION
    # The account's address as read with the user (a login's new-device notice needs no other read).
    email: str = ""
    email_verified: bool = False
    # The name's confusable skeleton, whose claim item this account holds ("": none, an
    # account made before skeletons were claimed and not yet given one by ``claim-skeletons``).
    name_skeleton: str = ""
    # A confirmed second factor (storage/factors.py keeps its state on this row).
    has_factor: bool = False

    def public(self) -> dict[str, Any]:
        """What may leave the server: everything but the hash."""
        return {
            "username": self.username,
            "account_id": self.account_id,
            "roles": list(self.roles),
            "created_at": self.created_at,
            "disabled": self.disabled,
            "mfa": self.has_factor,
        }


def user_item(user: User) -> dict[str, Any]:
    """The table item of a new user."""
    item: dict[str, Any] = {
        "username": user.username,
        "account_id": user.account_id,
        "cred_version": user.cred_version,
        "password_hash": user.password_hash,
        "created_at": user.created_at,
        "disabled": user.disabled,
    }
    if user.roles:
        item["roles"] = set(user.roles)
    if user.name_skeleton:
        item["name_skeleton"] = user.name_skeleton
    return item


def skeleton_key(skeleton: str) -> str:
    """The users-table key that reserves a name's confusable skeleton for one account.

    Usernames are ``[a-z0-9_.-]`` only, so a key with ``#`` can never be a user.
    """
    return "skeleton#" + skeleton


def skeleton_claim(item: dict[str, Any]) -> dict[str, Any]:
    """The claim item of the skeleton of the new user ``item`` (which must name one)."""
    if not item.get("name_skeleton"):
        raise StoreError("A new user needs its name's skeleton.")
    return {
        "username": skeleton_key(item["name_skeleton"]),
        "owner": item["account_id"],
        "owner_name": item["username"],
    }


def _from_item(item: dict[str, Any]) -> User:
    if "account_id" not in item or "cred_version" not in item:
        # Never a default: a version read as 0 would match a row written without one.
        raise StoreError("A user item has no account_id or cred_version.")
    return User(
        username=str(item["username"]),
        account_id=str(item["account_id"]),
        password_hash=str(item.get("password_hash", "")),
        roles=tuple(sorted(str(r) for r in item.get("roles", ()))),
        created_at=int(item.get("created_at", 0)),
        disabled=bool(item.get("disabled", False)),
        cred_version=int(item["cred_version"]),
        email=str(item.get("email", "")),
        email_verified=bool(item.get("email_verified", False)),
        name_skeleton=str(item.get("name_skeleton", "")),
        has_factor="mfa_since" in item,
    )


def same_account(account_id: str) -> tuple[str, dict[str, Any]]:
    """A condition (and its value) that holds only on the incarnation ``account_id``."""
    return "account_id = :aid", {":aid": account_id}


class UserRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    @property
    def table_name(self) -> str:
        return self._table.name

    def create(self, user: User) -> None:
        """Add ``user`` and claim its skeleton in one transaction: ``UsernameTaken`` if the name
        exists, else ``LookAlikeName`` if another account holds the skeleton (race-safe)."""
        failed = transact(
            self._table.meta.client,
            "users.create",
            {
                "user": self._put_new(user_item(user)),
                "skeleton": self._put_new(skeleton_claim(user_item(user))),
            },
        )
        if "user" in failed:
            raise UsernameTaken()
        if failed:
            raise LookAlikeName()

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(username)",
            }
        }

    def skeleton_holder(self, skeleton: str) -> AccountKey | None:
        """The account that holds ``skeleton``'s claim, or None."""
        with store_call("users.skeleton_holder"):
            item = self._table.get_item(Key={"username": skeleton_key(skeleton)}, ConsistentRead=True)
        claim = item.get("Item")
        if not claim or "owner" not in claim:
            return None
        return AccountKey(str(claim.get("owner_name", "")), str(claim["owner"]))

    def claim_skeleton(self, user: User, skeleton: str) -> bool:
        """Give an account made before skeletons were claimed the claim of ``skeleton``, in one
        transaction with the row's ``name_skeleton``; False when another account holds the
        skeleton or the row is no longer that incarnation without a skeleton."""
        condition, values = same_account(user.account_id)
        claim = skeleton_claim(
            {"username": user.username, "account_id": user.account_id, "name_skeleton": skeleton}
        )
        row = {
            "Update": {
                "TableName": self._table.name,
                "Key": {"username": user.username},
                "UpdateExpression": "SET name_skeleton = :s",
                "ConditionExpression": (
                    f"attribute_exists(password_hash) AND {condition} AND attribute_not_exists(name_skeleton)"
                ),
                "ExpressionAttributeValues": {":s": skeleton, **values},
            }
        }
        failed = transact(
            self._table.meta.client, "users.claim_skeleton", {"user": row, "skeleton": self._put_new(claim)}
        )
        return not failed

    def get(self, username: str) -> User | None:
        with store_call("users.get"):
            item = self._table.get_item(Key={"username": username}, ConsistentRead=True).get("Item")
        return _from_item(item) if item and "password_hash" in item else None

    def get_account(self, username: str, account_id: str) -> User | None:
        """The user ``username`` if it is still the incarnation ``account_id`` (else None)."""
        user = self.get(username)
        return user if user is not None and user.account_id == account_id else None

    def set_password_hash(self, username: str, account_id: str, password_hash: str) -> None:
        """Replace the hash and bump the credential version, in one write.

        A login that read the old credentials then fails its session write
        (see :meth:`unchanged_since`), however slow its password check was.
        Only on the incarnation ``account_id``: a later account of the name is
        ``NoSuchUser``.
        """
        condition, values = same_account(account_id)
        with store_call("users.set_password_hash", NoSuchUser()):
            self._table.update_item(
                Key={"username": username},
                # Pending reset codes die with the old password: they were for that one.
                UpdateExpression="SET password_hash = :h ADD cred_version :one REMOVE reset_codes",
                ConditionExpression=f"attribute_exists(password_hash) AND {condition}",
                ExpressionAttributeValues={":h": password_hash, ":one": 1, **values},
            )

    def bump_cred_version(self, username: str, account_id: str) -> bool:
        """End the validity of every login (and device token) that read the account before now;
        False if the account is gone."""
        condition, values = same_account(account_id)
        try:
            with store_call("users.bump_cred_version", _NoSuchUser()):
                self._table.update_item(
                    Key={"username": username},
                    UpdateExpression="ADD cred_version :one",
                    ConditionExpression=f"attribute_exists(password_hash) AND {condition}",
                    ExpressionAttributeValues={":one": 1, **values},
                )
        except _NoSuchUser:
            return False
        return True

    def unchanged_since(self, user: User, new_hash: str | None = None) -> dict[str, Any]:
        """A transaction item: the user is still the incarnation ``user`` was read from, is not
        disabled and has the credential version it was read with (and, with ``new_hash``, gets
        that hash as an upgrade)."""
        body: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": {"username": user.username},
            "ConditionExpression": (
                "account_id = :aid AND cred_version = :cv "
                "AND (attribute_not_exists(disabled) OR disabled = :false)"
            ),
            "ExpressionAttributeValues": {":aid": user.account_id, ":cv": user.cred_version, ":false": False},
        }
        if new_hash is None:
            return {"ConditionCheck": body}
        body["UpdateExpression"] = "SET password_hash = :h"
        body["ExpressionAttributeValues"][":h"] = new_hash
        return {"Update": body}

    def set_roles(self, user: User, roles: tuple[str, ...], *, witness: str | None = None) -> bool:
        """Replace the roles of the incarnation ``user``; False when it is gone.

        With ``witness``, only while that other user is still an active admin
        (else :class:`WitnessGone`): see :mod:`gatehouse.accounts.admin`.
        """
        condition, values = same_account(user.account_id)
        update: dict[str, Any] = {
            "Key": {"username": user.username},
            "ConditionExpression": f"attribute_exists(password_hash) AND {condition}",
            "ExpressionAttributeNames": {"#r": "roles"},
            "ExpressionAttributeValues": dict(values),
        }
        if roles:
            update["UpdateExpression"] = "SET #r = :r"
            update["ExpressionAttributeValues"][":r"] = set(roles)
        else:
            update["UpdateExpression"] = "REMOVE #r"  # DynamoDB has no empty sets
        return self._guarded("users.set_roles", user, {"Update": update}, witness, ADMIN not in roles)

    def set_disabled(self, user: User, disabled: bool, *, witness: str | None = None) -> bool:
        """False when the incarnation ``user`` is gone.  Disabling also bumps the credential
        version, so a login that read the user before cannot open a session after it."""
        condition, values = same_account(user.account_id)
        update: dict[str, Any] = {
            "Key": {"username": user.username},
            "UpdateExpression": "SET disabled = :d" + (" ADD cred_version :one" if disabled else ""),
            "ConditionExpression": f"attribute_exists(password_hash) AND {condition}",
            "ExpressionAttributeValues": {":d": disabled, **values, **({":one": 1} if disabled else {})},
        }
        return self._guarded("users.set_disabled", user, {"Update": update}, witness, disabled)

    def delete_item(self, user: User, email: str | None) -> dict[str, Any]:
        """A transaction item that deletes the incarnation ``user`` (holding ``email``, or none)."""
        condition, values = same_account(user.account_id)
        if email:
            condition += " AND email = :e"
            values = {**values, ":e": email}
        else:
            condition += " AND attribute_not_exists(email)"
        # The skeleton claim removed with it is the one the row names (see :meth:`delete`).
        if user.name_skeleton:
            condition += " AND name_skeleton = :sk"
            values = {**values, ":sk": user.name_skeleton}
        else:
            condition += " AND attribute_not_exists(name_skeleton)"
        return {
            "Delete": {
                "TableName": self._table.name,
                "Key": {"username": user.username},
                "ConditionExpression": f"attribute_exists(password_hash) AND {condition}",
                "ExpressionAttributeValues": values,
            }
        }

    def _guarded(
        self, operation: str, user: User, change: dict[str, Any], witness: str | None, ends_admin: bool
    ) -> bool:
        """Apply one change item to ``user``; False when that incarnation is gone.

        A change that would end an active admin (``ends_admin``) is made either
        in one transaction with a check that the ``witness``, another user, is
        still an active admin (else :class:`WitnessGone`), or, without one, only
        while the user is no active admin (else :class:`NowAnAdmin`).  Either
        way DynamoDB decides, so no interleaving of such changes (and of
        promotions, enables) ever leaves no active admin: two admins demoting
        each other at once conflict here, and one of them loses.
        """
        [(kind, body)] = change.items()
        body = {"TableName": self._table.name, **body}
        guarded = ends_admin and witness is None
        if guarded:
            body = _with_condition(body, *_NOT_AN_ACTIVE_ADMIN)
        items: dict[str, dict[str, Any]] = {"user": {kind: body}}
        if ends_admin and witness is not None:
            items["witness"] = {"ConditionCheck": self._active_admin_check(witness)}
        failed = transact(self._table.meta.client, operation, items)
        if "user" in failed:
            if guarded and self._is_active_admin(user):
                raise NowAnAdmin()
            return False
        if "witness" in failed:
            raise WitnessGone()
        return True

    def _is_active_admin(self, user: User) -> bool:
        """Whether the incarnation ``user`` is an active admin now (after a guard failed)."""
        now = self.get_account(user.username, user.account_id)
        return now is not None and ADMIN in now.roles and not now.disabled

    def delete(
        self, user: User, email: str | None, also: dict[str, Any] | None = None, *, witness: str | None = None
    ) -> frozenset[str]:
        """Delete the incarnation ``user`` (holding ``email``) with the transaction item ``also``
        (its email claim's removal), in one transaction; given a ``witness``, only while that other
        user is still an active admin.  The names of what failed: ``user`` (changed or gone),
        ``also``, ``witness``; empty when it is done."""
        deletion = self.delete_item(user, email)
        if witness is None:  # then only while the user is no active admin (else NowAnAdmin)
            deletion = {"Delete": _with_condition(deletion["Delete"], *_NOT_AN_ACTIVE_ADMIN)}
        items: dict[str, dict[str, Any]] = {"user": deletion}
        if user.name_skeleton:
            # The name's skeleton is free again with the name (only this account's claim).
            items["skeleton"] = {
                "Delete": {
                    "TableName": self._table.name,
                    "Key": {"username": skeleton_key(user.name_skeleton)},
                    "ConditionExpression": "attribute_not_exists(#o) OR #o = :owner",
                    "ExpressionAttributeNames": {"#o": "owner"},
                    "ExpressionAttributeValues": {":owner": user.account_id},
                }
            }
        if also is not None:
            items["also"] = also
        if witness is not None:
            items["witness"] = {"ConditionCheck": self._active_admin_check(witness)}
        failed = transact(self._table.meta.client, "users.delete_account", items)
        if "user" in failed and witness is None and self._is_active_admin(user):
            raise NowAnAdmin()
        return failed

    def _active_admin_check(self, witness: str) -> dict[str, Any]:
        return {
            "TableName": self._table.name,
            "Key": {"username": witness},
            "ConditionExpression": (
                "contains(#wr, :admin) AND (attribute_not_exists(disabled) OR disabled = :wfalse)"
            ),
            "ExpressionAttributeNames": {"#wr": "roles"},
            "ExpressionAttributeValues": {":admin": ADMIN, ":wfalse": False},
        }

    def active_admins(self) -> list[str]:
        """The usernames of every enabled user with the admin role (a strongly consistent scan)."""
        items = all_items(
            "users.admins",
            self._table.scan,
            ProjectionExpression="username",
            FilterExpression="attribute_exists(password_hash) AND contains(#r, :admin) "
            "AND (attribute_not_exists(disabled) OR disabled = :false)",
            ExpressionAttributeNames={"#r": "roles"},
            ExpressionAttributeValues={":admin": ADMIN, ":false": False},
            ConsistentRead=True,
        )
        return sorted(str(item["username"]) for item in items)

    def list_page(self, limit: int, after: str | None = None) -> tuple[list[User], str | None]:
        """Up to ``limit`` users after the username ``after`` (table order), without ever reading
        the hashes out of the table, and the username to continue from (or None).

        The table also holds claim items (email addresses, name skeletons: keys
        with ``#``, no ``password_hash``): DynamoDB's ``Limit`` counts items
        before the filter drops them, so a page is filled by reading on, and the
        cursor is always the last *user* returned, never another record's key
        (a page read past ``limit`` users is cut there, and goes on after it).
        """
        users: list[User] = []
        start = after
        while True:
            kwargs: dict[str, Any] = {
                "ProjectionExpression": LISTED,
                "FilterExpression": "attribute_exists(password_hash)",
                "ExpressionAttributeNames": {"#r": "roles"},
                # Each user has up to ITEMS_PER_USER items: one read usually fills the page.
                "Limit": (limit - len(users)) * ITEMS_PER_USER,
            }
            if start is not None:
                kwargs["ExclusiveStartKey"] = {"username": start}
            with store_call("users.list"):
                page = self._table.scan(**kwargs)
            users += [_from_item(i) for i in page.get("Items", [])]
            last = page.get("LastEvaluatedKey")
            if len(users) > limit or (len(users) == limit and last):
                users = users[:limit]
                return users, users[-1].username
            if not last:
                return users, None
            start = str(last["username"])

    def without_skeleton(self) -> list[User]:
        """Every user whose row names no skeleton (made before skeletons were claimed), oldest first."""
        users = all_items(
            "users.without_skeleton",
            self._table.scan,
            ProjectionExpression="username, account_id, cred_version, created_at",
            FilterExpression="attribute_exists(password_hash) AND attribute_not_exists(name_skeleton)",
            ConsistentRead=True,
        )
        return sorted((_from_item(item) for item in users), key=lambda u: (u.created_at, u.username))

    def list(self) -> list[User]:
        """Every user, without ever reading the hashes out of the table."""
        users = all_items(
            "users.list",
            self._table.scan,
            ProjectionExpression=LISTED,
            FilterExpression="attribute_exists(password_hash)",
            ExpressionAttributeNames={"#r": "roles"},
        )
        return sorted((_from_item(item) for item in users), key=lambda u: u.username)


# A condition (its names and values) that holds while a user item is no active admin.
_NOT_AN_ACTIVE_ADMIN: tuple[str, dict[str, str], dict[str, Any]] = (
    "NOT (contains(#gr, :gadmin) AND (attribute_not_exists(disabled) OR disabled = :gfalse))",
    {"#gr": "roles"},
    {":gadmin": ADMIN, ":gfalse": False},
)


def _with_condition(
    body: dict[str, Any], condition: str, names: dict[str, str], values: dict[str, Any]
) -> dict[str, Any]:
    """A transaction item's body with ``condition`` added to its own."""
    return {
        **body,
        "ConditionExpression": f"({body['ConditionExpression']}) AND {condition}",
        "ExpressionAttributeNames": {**body.get("ExpressionAttributeNames", {}), **names},
        "ExpressionAttributeValues": {**body.get("ExpressionAttributeValues", {}), **values},
    }


class NowAnAdmin(StoreError):
    """A change made without a witness found its user an active admin (promoted or enabled
    meanwhile): it needs a witness after all."""


class WitnessGone(StoreError):
    """The admin a guarded change relied on stopped being an active admin meanwhile."""


class _NoSuchUser(StoreError):
    """A conditional update found no user (internal signal, never rendered)."""
