"""Email addresses, mailed codes and account removal, on the users table.

Besides one item per user, the table holds one *claim* item per email
address in use (key ``email#<address, lower-cased>``; attribute ``owner``, the
owning account's id, and ``owner_name``, its username, to find its row).
A claim is written, moved and deleted in the same transaction as the user
item that names the address, with conditions on both, so two accounts can
never hold one address, however their requests interleave.

Mailed codes live on the user item as SHA-256 digests only, each with its
expiry and a count of wrong guesses (``email_code_*`` for verification,
``reset_*`` for a password reset).  A guess is counted *before* it is
compared, by one conditional update whose condition is "not expired and
fewer than 5 failures", so concurrent guesses cannot exceed the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatehouse.errors import Conflict, EmailTaken, LookAlikeName, StoreError, UsernameTaken
from gatehouse.storage.failures import store_call, transact
from gatehouse.storage.users import skeleton_claim

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

EMAIL_CODE = "email_code"
RESET = "reset"
# A value no item ever holds: the condition of a write meant to change nothing.
_NEVER = -1


def claim_key(email: str) -> str:
    """The users-table key that reserves ``email`` for one account.

    Usernames are ``[a-z0-9_.-]`` only, so a key with ``#`` can never be a user.
    Uniqueness is decided on the fully lower-cased address.
    """
    return "email#" + email.lower()


@dataclass(frozen=True)
class Contact:
    email: str
    verified: bool


@dataclass(frozen=True)
class ClaimOwner:
    """Who holds an address: the account's id, and its username (the key of its row)."""

    account_id: str
    username: str


@dataclass(frozen=True)
class ResetState:
    """What ``POST /auth/password/forgot`` needs to know about an account."""

    username: str
    account_id: str
    email: str
    verified: bool
    disabled: bool
    requested: tuple[int, ...]  # when the recent reset requests came
    version: int  # bumped by every stored reset code: the optimistic lock


class _Lost(StoreError):
    """A conditional write found the item changed or absent (internal signal, never rendered)."""


class AccountEmailRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    # -- the address ------------------------------------------------------------------

    def create_user_with_email(
        self, user_item: dict[str, Any], email: str, code_hash: str, expires: int
    ) -> None:
        """Add a user and claim its address and its name's skeleton in one transaction
        (``UsernameTaken`` / ``LookAlikeName`` / ``EmailTaken``)."""
        item = {
            **user_item,
            "email": email,
            "email_verified": False,
            **_code_fields(EMAIL_CODE, code_hash, expires),
        }
        failed = transact(
            self._table.meta.client,
            "users.create_with_email",
            {
                "user": self._put(item, "attribute_not_exists(username)"),
                "claim": self._put(_claim(email, item), "attribute_not_exists(username)"),
                "skeleton": self._put(skeleton_claim(item), "attribute_not_exists(username)"),
            },
        )
        if "user" in failed:
            raise UsernameTaken()
        if "skeleton" in failed:
            raise LookAlikeName()
        if failed:
            raise EmailTaken()

    def contact(self, username: str, account_id: str) -> Contact | None:
        """The address of the incarnation ``account_id`` of ``username`` (None: none, or gone)."""
        with store_call("users.contact"):
            item = self._table.get_item(
                Key={"username": username},
                ConsistentRead=True,
                ProjectionExpression="account_id, email, email_verified",
            ).get("Item")
        if not item or "email" not in item or item.get("account_id") != account_id:
            return None
        return Contact(str(item["email"]), bool(item.get("email_verified", False)))

    def change_email(
        self, owner: ClaimOwner, old: str | None, new: str, code_hash: str, expires: int
    ) -> None:
        """Set a new, unverified address; its claim moves from the old one in the same transaction."""
        username = owner.username
        values: dict[str, Any] = {
            ":e": new,
            ":f": False,
            ":aid": owner.account_id,
            **_code_values(code_hash, expires),
        }
        condition = "attribute_exists(password_hash) AND account_id = :aid AND "
        if old is None:
            condition += "attribute_not_exists(email)"
        else:
            condition += "email = :old"
            values[":old"] = old
        items = {
            "user": self._update(
                username,
                "SET email = :e, email_verified = :f, "
                "email_code_hash = :ch, email_code_expires = :cx, email_code_failures = :c0 "
                # A reset code mailed to the old address must not outlive the change.
                "REMOVE reset_hash, reset_expires, reset_failures",
                condition,
                values,
            )
        }
        moved = old is None or claim_key(old) != claim_key(new)
        if moved:
            new_claim = _claim(new, {"username": username, "account_id": owner.account_id})
            items["claim"] = self._put(new_claim, "attribute_not_exists(username)")
        if moved and old is not None:
            items["old_claim"] = self.claim_removal(old, owner.account_id)
        failed = transact(self._table.meta.client, "users.change_email", items)
        if "user" in failed or "old_claim" in failed:
            raise Conflict("The account changed meanwhile; try again.")
        if failed:
            raise EmailTaken()

    def mark_verified(self, username: str, code_hash: str) -> bool:
        """Mark the address verified, spending the code; False if the code changed meanwhile."""
        return self._conditional(
            "users.mark_verified",
            username,
            "SET email_verified = :t REMOVE email_code_hash, email_code_expires, email_code_failures",
            "email_code_hash = :h",
            {":t": True, ":h": code_hash},
        )

    def renew_email_code(self, owner: ClaimOwner, email: str, code_hash: str, expires: int) -> bool:
        """A new verification code for ``email``, the old one gone; False if the address is
        no longer this one, unverified, of this account (changed, verified or deleted meanwhile:
        nothing is written)."""
        return self._conditional(
            "users.renew_email_code",
            owner.username,
            "SET email_code_hash = :ch, email_code_expires = :cx, email_code_failures = :c0",
            "account_id = :aid AND email = :e AND email_verified = :f",
            {":aid": owner.account_id, ":e": email, ":f": False, **_code_values(code_hash, expires)},
        )

    # -- mailed codes -----------------------------------------------------------------

    def reserve_guess(self, username: str, kind: str, now: int, max_failures: int) -> dict[str, Any] | None:
        """Count one guess at the ``kind`` code and return the item; None if it may not be guessed.

        None covers no such user, no code, an expired code and a code that
        has had its 5 wrong guesses: the caller answers all alike.
        """
        try:
            with store_call(f"users.reserve_{kind}_guess", _Lost()):
                result = self._table.update_item(
                    Key={"username": username},
                    UpdateExpression="ADD #n :one",
                    ConditionExpression=(
                        "attribute_exists(password_hash) AND attribute_exists(#h) AND #x > :now AND #n < :max"
                    ),
                    ExpressionAttributeNames={
                        "#h": f"{kind}_hash",
                        "#x": f"{kind}_expires",
                        "#n": f"{kind}_failures",
                    },
                    ExpressionAttributeValues={":one": 1, ":now": now, ":max": max_failures},
                    ReturnValues="ALL_NEW",
                )
        except _Lost:
            return None
        return dict(result["Attributes"])

    # -- password reset -----------------------------------------------------------------

    def owner_of(self, email: str) -> ClaimOwner | None:
        with store_call("users.owner_of"):
            item = self._table.get_item(Key={"username": claim_key(email)}, ConsistentRead=True).get("Item")
        if not item or "owner" not in item or "owner_name" not in item:
            return None
        return ClaimOwner(str(item["owner"]), str(item["owner_name"]))

    def reset_state(self, username: str) -> ResetState | None:
        with store_call("users.reset_state"):
            item: dict[str, Any] | None = self._table.get_item(
                Key={"username": username},
                ConsistentRead=True,
                # Never the password hash: created_at alone tells a user from an email claim.
                ProjectionExpression="username, account_id, created_at, email, email_verified, disabled, "
                "reset_requested, reset_version",
            ).get("Item")
        if not item or "created_at" not in item or "account_id" not in item:
            return None
        return ResetState(
            username=str(item["username"]),
            account_id=str(item["account_id"]),
            email=str(item.get("email", "")),
            verified=bool(item.get("email_verified", False)),
            disabled=bool(item.get("disabled", False)),
            requested=tuple(int(t) for t in item.get("reset_requested", ())),
            version=int(item.get("reset_version", 0)),
        )

    def store_reset_code(
        self, state: ResetState, requested: Sequence[int], code_hash: str, expires: int
    ) -> bool:
        """Replace any earlier reset code, unless the account changed since ``state`` was read."""
        return self._conditional(
            "users.store_reset_code",
            state.username,
            "SET reset_hash = :h, reset_expires = :x, reset_failures = :zero, "
            "reset_requested = :r, reset_version = :next",
            "account_id = :aid AND email = :e AND email_verified = :t "
            "AND (attribute_not_exists(reset_version) OR reset_version = :v)",
            {
                ":aid": state.account_id,
                ":h": code_hash,
                ":x": expires,
                ":zero": 0,
                ":r": list(requested),
                ":next": state.version + 1,
                ":e": state.email,
                ":t": True,
                ":v": state.version,
            },
        )

    def store_nothing(self, key: str) -> None:
        """The same request as :meth:`store_reset_code`, with a condition that never holds.

        ``POST /auth/password/forgot`` makes it when no code is to be stored,
        so an unknown account costs the same DynamoDB requests as a known one.
        """
        self._conditional(
            "users.store_reset_code",
            key,
            "SET reset_version = :never",
            "reset_version = :never",
            {":never": _NEVER},
        )

    def spend_reset_code(self, username: str, account_id: str, code_hash: str, password_hash: str) -> bool:
        """Spend the reset code if it is still ``code_hash`` on the incarnation ``account_id`` and
        set ``password_hash`` (bumping the credential version) in the same write: exactly one
        caller can spend a code, and only on the account it was mailed for."""
        return self._conditional(
            "users.spend_reset_code",
            username,
            "SET password_hash = :ph ADD cred_version :one REMOVE reset_hash, reset_expires, reset_failures",
            "account_id = :aid AND reset_hash = :h AND (attribute_not_exists(disabled) OR disabled = :f)",
            {":h": code_hash, ":f": False, ":aid": account_id, ":ph": password_hash, ":one": 1},
        )

    # -- removal -------------------------------------------------------------------------

    def claim_removal(self, email: str, account_id: str) -> dict[str, Any]:
        """A transaction item that removes ``email``'s claim, if it is still ``account_id``'s."""
        return {
            "Delete": {
                "TableName": self._table.name,
                "Key": {"username": claim_key(email)},
                "ConditionExpression": "attribute_not_exists(#o) OR #o = :aid",
                "ExpressionAttributeNames": {"#o": "owner"},
                "ExpressionAttributeValues": {":aid": account_id},
            }
        }

    # -- helpers ------------------------------------------------------------------------

    def _put(self, item: dict[str, Any], condition: str) -> dict[str, Any]:
        return {"Put": {"TableName": self._table.name, "Item": item, "ConditionExpression": condition}}

    def _update(self, username: str, update: str, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": {"username": username},
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }

    def _conditional(
        self, operation: str, username: str, update: str, condition: str, values: dict[str, Any]
    ) -> bool:
        try:
            with store_call(operation, _Lost()):
                self._table.update_item(
                    Key={"username": username},
                    UpdateExpression=update,
                    ConditionExpression=f"attribute_exists(password_hash) AND {condition}",
                    ExpressionAttributeValues=values,
                )
        except _Lost:
            return False
        return True


def _claim(email: str, user: dict[str, Any]) -> dict[str, Any]:
    return {"username": claim_key(email), "owner": user["account_id"], "owner_name": user["username"]}


def _code_values(code_hash: str, expires: int) -> dict[str, Any]:
    return {":ch": code_hash, ":cx": expires, ":c0": 0}


def _code_fields(kind: str, code_hash: str, expires: int) -> dict[str, Any]:
    return {f"{kind}_hash": code_hash, f"{kind}_expires": expires, f"{kind}_failures": 0}
