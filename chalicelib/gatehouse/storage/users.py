"""The users table: one item per username."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.gatehouse.accounts.lockout import LockoutRules, Refused, admission, refusal
from chalicelib.gatehouse.errors import NoSuchUser, StoreError, UsernameTaken
from chalicelib.gatehouse.storage.failures import all_items, store_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str
    roles: tuple[str, ...]
    created_at: int
    disabled: bool = False

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
        """Replace the hash; the failed-attempt count starts again from zero."""
        with store_call("users.set_password_hash", NoSuchUser()):
            self._table.update_item(
                Key={"username": username},
                UpdateExpression="SET password_hash = :h, failures = :zero",
                ConditionExpression="attribute_exists(password_hash)",
                ExpressionAttributeValues={":h": password_hash, ":zero": 0},
            )

    def reserve_login(self, username: str, now: int, rules: LockoutRules) -> User | Refused | None:
        """Count a login attempt and return the user to check it against.

        ``Refused`` during the back-off window; None when there is no such user
        (the caller then counts the attempt in the attempts table instead).
        """
        condition, values = admission(rules, now)
        try:
            with store_call("users.reserve_login", reraise_conditions=True):
                result = self._table.update_item(
                    Key={"username": username},
                    UpdateExpression="ADD failures :one SET last_attempt_at = :now",
                    ConditionExpression=f"attribute_exists(password_hash) AND {condition}",
                    ExpressionAttributeValues={**values, ":one": 1, ":now": now},
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except Exception as exc:
            old = getattr(exc, "response", {}).get("Item") or {}
            refused = refusal(exc, rules, now)
            return refused if "password_hash" in old else None
        return _from_item(result["Attributes"])

    def record_failure(self, username: str, now: int) -> None:
        with store_call("users.record_failure", _NoSuchUser()):
            self._table.update_item(
                Key={"username": username},
                UpdateExpression="SET last_failed_at = :now",
                ConditionExpression="attribute_exists(password_hash)",
                ExpressionAttributeValues={":now": now},
            )

    def login_succeeded(self, username: str, new_hash: str | None) -> dict[str, Any]:
        """A transaction item that resets the attempt count (and upgrades the hash)."""
        update = "SET failures = :zero" + (", password_hash = :h" if new_hash else "")
        values: dict[str, Any] = {":zero": 0}
        if new_hash:
            values[":h"] = new_hash
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": {"username": username},
                "UpdateExpression": update,
                "ConditionExpression": "attribute_exists(password_hash)",
                "ExpressionAttributeValues": values,
            }
        }

    def set_roles(self, username: str, roles: tuple[str, ...]) -> bool:
        """Replace the roles; False when there is no such user."""
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
        try:
            with store_call("users.set_roles", _NoSuchUser()):
                self._table.update_item(**update)
        except _NoSuchUser:
            return False
        return True

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """False when there is no such user."""
        try:
            with store_call("users.set_disabled", _NoSuchUser()):
                self._table.update_item(
                    Key={"username": username},
                    UpdateExpression="SET disabled = :d",
                    # Users only: the table also holds email claims (keys with "#").
                    ConditionExpression="attribute_exists(password_hash)",
                    ExpressionAttributeValues={":d": disabled},
                )
        except _NoSuchUser:
            return False
        return True

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


class _NoSuchUser(StoreError):
    """A conditional update found no user (internal signal, never rendered)."""
