"""The users table: one item per username."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatehouse.errors import NoSuchUser, StoreError, UsernameTaken
from gatehouse.roles import ADMIN
from gatehouse.storage.failures import all_items, failed_conditions, store_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str
    roles: tuple[str, ...]
    created_at: int
    disabled: bool = False
    # Bumped by every change that must end the sessions of logins that read the user before it.
    cred_version: int = 0
    # The account's address as read with the user (a login's new-device notice needs no other read).
    email: str = ""
    email_verified: bool = False

    def public(self) -> dict[str, Any]:
        """What may leave the server: everything but the hash."""
        return {
            "username": self.username,
            "roles": list(self.roles),
            "created_at": self.created_at,
            "disabled": self.disabled,
        }


def user_item(user: User) -> dict[str, Any]:
    """The table item of a new user."""
    item: dict[str, Any] = {
        "username": user.username,
        "password_hash": user.password_hash,
        "created_at": user.created_at,
        "disabled": user.disabled,
    }
    if user.roles:
        item["roles"] = set(user.roles)
    return item


def _from_item(item: dict[str, Any]) -> User:
    return User(
        username=str(item["username"]),
        password_hash=str(item.get("password_hash", "")),
        roles=tuple(sorted(str(r) for r in item.get("roles", ()))),
        created_at=int(item.get("created_at", 0)),
        disabled=bool(item.get("disabled", False)),
        cred_version=int(item.get("cred_version", 0)),
        email=str(item.get("email", "")),
        email_verified=bool(item.get("email_verified", False)),
    )


class UserRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, user: User) -> None:
        """Add ``user``; ``UsernameTaken`` if the name exists (race-safe)."""
        with store_call("users.create", UsernameTaken()):
            self._table.put_item(Item=user_item(user), ConditionExpression="attribute_not_exists(username)")

    def get(self, username: str) -> User | None:
        with store_call("users.get"):
            item = self._table.get_item(Key={"username": username}, ConsistentRead=True).get("Item")
        return _from_item(item) if item else None

    def set_password_hash(self, username: str, password_hash: str) -> None:
        """Replace the hash and bump the credential version, in one write.

        A login that read the old credentials then fails its session write
        (see :meth:`unchanged_since`), however slow its password check was.
        """
        with store_call("users.set_password_hash", NoSuchUser()):
            self._table.update_item(
                Key={"username": username},
                # A pending reset code dies with the old password: it was for that one.
                UpdateExpression="SET password_hash = :h ADD cred_version :one "
                "REMOVE reset_hash, reset_expires, reset_failures",
                ConditionExpression="attribute_exists(password_hash)",
                ExpressionAttributeValues={":h": password_hash, ":one": 1},
            )

    def bump_cred_version(self, username: str) -> bool:
        """End the validity of every login that read the user before now; False if no such user."""
        try:
            with store_call("users.bump_cred_version", _NoSuchUser()):
                self._table.update_item(
                    Key={"username": username},
                    UpdateExpression="ADD cred_version :one",
                    ConditionExpression="attribute_exists(password_hash)",
                    ExpressionAttributeValues={":one": 1},
                )
        except _NoSuchUser:
            return False
        return True

    def unchanged_since(self, user: User, new_hash: str | None = None) -> dict[str, Any]:
        """A transaction item: the user still exists, is not disabled and has the credential
        version ``user`` was read with (and, with ``new_hash``, gets that hash as an upgrade)."""
        version = (
            "cred_version = :cv"
            if user.cred_version
            else "(attribute_not_exists(cred_version) OR cred_version = :cv)"
        )
        body: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": {"username": user.username},
            "ConditionExpression": (
                f"attribute_exists(password_hash) AND {version} "
                "AND (attribute_not_exists(disabled) OR disabled = :false)"
            ),
            "ExpressionAttributeValues": {":cv": user.cred_version, ":false": False},
        }
        if new_hash is None:
            return {"ConditionCheck": body}
        body["UpdateExpression"] = "SET password_hash = :h"
        body["ExpressionAttributeValues"][":h"] = new_hash
        return {"Update": body}

    def set_roles(self, username: str, roles: tuple[str, ...], *, witness: str | None = None) -> bool:
        """Replace the roles; False when there is no such user.

        With ``witness``, only while that other user is still an active admin
        (else :class:`WitnessGone`): see :mod:`gatehouse.accounts.admin`.
        """
        update: dict[str, Any] = {
            "Key": {"username": username},
            "ConditionExpression": "attribute_exists(password_hash)",
            "ExpressionAttributeNames": {"#r": "roles"},
        }
        if roles:
            update["UpdateExpression"] = "SET #r = :r"
            update["ExpressionAttributeValues"] = {":r": set(roles)}
        else:
            update["UpdateExpression"] = "REMOVE #r"  # DynamoDB has no empty sets
        return self._guarded_update("users.set_roles", update, witness)

    def set_disabled(self, username: str, disabled: bool, *, witness: str | None = None) -> bool:
        """False when there is no such user.  Disabling also bumps the credential version, so a
        login that read the user before cannot open a session after it."""
        update: dict[str, Any] = {
            "Key": {"username": username},
            "UpdateExpression": "SET disabled = :d" + (" ADD cred_version :one" if disabled else ""),
            "ConditionExpression": "attribute_exists(password_hash)",
            "ExpressionAttributeValues": {":d": disabled, **({":one": 1} if disabled else {})},
        }
        return self._guarded_update("users.set_disabled", update, witness)

    def _guarded_update(self, operation: str, update: dict[str, Any], witness: str | None) -> bool:
        if witness is None:
            try:
                with store_call(operation, _NoSuchUser()):
                    self._table.update_item(**update)
            except _NoSuchUser:
                return False
            return True
        # One transaction: the change, and a check that another active admin remains.
        # Two admins demoting each other at once conflict here; one of them loses.
        check = {
            "TableName": self._table.name,
            "Key": {"username": witness},
            "ConditionExpression": (
                "contains(#wr, :admin) AND (attribute_not_exists(disabled) OR disabled = :wfalse)"
            ),
            "ExpressionAttributeNames": {"#wr": "roles"},
            "ExpressionAttributeValues": {":admin": ADMIN, ":wfalse": False},
        }
        try:
            with store_call(operation, reraise_conditions=True):
                items: list[Any] = [
                    {"Update": {"TableName": self._table.name, **update}},
                    {"ConditionCheck": check},
                ]
                self._table.meta.client.transact_write_items(TransactItems=items)
        except Exception as exc:
            failed = failed_conditions(exc)
            if failed is None:
                raise
            if 0 in failed:
                return False
            raise WitnessGone() from None
        return True

    def active_admins(self) -> list[str]:
        """The usernames of every enabled user with the admin role (a strongly consistent scan)."""
        items = all_items(
            "users.admins",
            self._table.scan,
            ProjectionExpression="username",
            FilterExpression="contains(#r, :admin) AND (attribute_not_exists(disabled) OR disabled = :false)",
            ExpressionAttributeNames={"#r": "roles"},
            ExpressionAttributeValues={":admin": ADMIN, ":false": False},
            ConsistentRead=True,
        )
        return sorted(str(item["username"]) for item in items)

    def list_page(self, limit: int, after: str | None = None) -> tuple[list[User], str | None]:
        """Up to ``limit`` users after the username ``after`` (table order), without ever reading
        the hashes out of the table, and the username to continue from (or None)."""
        kwargs: dict[str, Any] = {
            "ProjectionExpression": "username, #r, created_at, disabled",
            # Users only: the table also holds email claims (keys with "#").
            "FilterExpression": "attribute_exists(password_hash)",
            "ExpressionAttributeNames": {"#r": "roles"},
            "Limit": limit,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {"username": after}
        with store_call("users.list"):
            page = self._table.scan(**kwargs)
        last = page.get("LastEvaluatedKey")
        return [_from_item(i) for i in page.get("Items", [])], (str(last["username"]) if last else None)

    def list(self) -> list[User]:
        """Every user, without ever reading the hashes out of the table."""
        users = all_items(
            "users.list",
            self._table.scan,
            ProjectionExpression="username, #r, created_at, disabled",
            ExpressionAttributeNames={"#r": "roles"},
        )
        # The table also holds email claims, whose keys ("email#...") no username can have.
        accounts = (_from_item(item) for item in users if "#" not in str(item["username"]))
        return sorted(accounts, key=lambda u: u.username)


class WitnessGone(StoreError):
    """The admin a guarded change relied on stopped being an active admin meanwhile."""


class _NoSuchUser(StoreError):
    """A conditional update found no user (internal signal, never rendered)."""
