"""Email addresses, mailed codes and account removal, on the users table.

Besides one item per user, the table holds one *claim* item per email
address in use (key ``email#<address, lower-cased>``; attribute ``owner``, the
owning account's id, and ``owner_name``, its username, to find its row).
A claim is written, moved and deleted in the same transaction as the user
item that names the address, with conditions on both, so two accounts can
never hold one address, however their requests interleave.

A claim of an address nobody has verified yet carries ``unverified_until``
(its first code's expiry, ``GATEHOUSE_EMAIL_CODE_TTL`` after the claim):
past it, the claim no longer keeps the address from anyone else.  Another
account's sign-up or address change then takes it over in one transaction
that also takes the address off the lapsed claimant's user item (on the
condition that it is still unverified there), so the address is never held
by two accounts, not even unverified.  Verifying removes
``unverified_until`` in the same transaction that marks the user verified,
so a verification and a takeover cannot both succeed.  A later code for the
same claim (a resend) does not lengthen the claim's life, and neither does
moving off the address and back: an account that moves off an unverified
address leaves its claim item behind *released* (``released``, no owner, its
life kept), and the next claim of the address gets only what is left of it.

Mailed codes live on the user item as SHA-256 digests only.  The
verification code (``email_code_*``) has its expiry; a wrong guess writes
nothing (guesses are counted per source address, by the caller), and
verifying spends the code on the condition that it is still the one read
and unexpired.  Password reset codes are a map
``reset_codes`` from digest to expiry: every mailed code is its own entry,
added by one update that touches no other live entry, so no later request
replaces a code and no wrong guess kills one; spending any of them sets the
password and removes them all in one conditional write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatehouse.errors import Conflict, EmailTaken, LookAlikeName, StoreError, UsernameTaken
from gatehouse.storage.failures import store_call, transact
from gatehouse.storage.users import skeleton_claim

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# The claim attribute that says until when an unverified claim keeps the address.
UNTIL = "unverified_until"
# Marks the claim item of an address released unverified: no owner, its life kept.
RELEASED = "released"
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
class EmailCode:
    """A pending verification code: whose, for which address, its digest and expiry."""

    owner: ClaimOwner
    email: str
    digest: str
    expires: int


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
    codes: dict[str, int] | None  # the reset codes' digests and expiries (None: no map on the item)


@dataclass(frozen=True)
class ResetCodes:
    """What ``POST /auth/password/reset`` reads: the same request, and shape, for every name."""

    account_id: str  # empty when no account has the name
    codes: dict[str, int]


class _Lost(StoreError):
    """A conditional write found the item changed or absent (internal signal, never rendered)."""


class AccountEmailRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    # -- the address ------------------------------------------------------------------

    def create_user_with_email(
        self, user_item: dict[str, Any], email: str, code_hash: str, expires: int, now: int
    ) -> None:
        """Add a user and claim its address and its name's skeleton in one transaction
        (``UsernameTaken`` / ``LookAlikeName`` / ``EmailTaken``); the address's claim lives
        unverified until ``expires``, and may take over a lapsed one."""
        item = {
            **user_item,
            "email": email,
            "email_verified": False,
            "email_code_hash": code_hash,
            "email_code_expires": expires,
        }
        claim = self._claim_items(
            email, ClaimOwner(str(item["account_id"]), str(item["username"])), expires, now
        )
        failed = transact(
            self._table.meta.client,
            "users.create_with_email",
            {
                "user": self._put(item, "attribute_not_exists(username)"),
                **claim,
                "skeleton": self._put(skeleton_claim(item), "attribute_not_exists(username)"),
            },
        )
        if "user" in failed:
            raise UsernameTaken()
        if "skeleton" in failed:
            raise LookAlikeName()
        if failed:
            raise EmailTaken()

    def _claim_items(self, email: str, owner: ClaimOwner, expires: int, now: int) -> dict[str, Any]:
        """Transaction items that claim ``email`` for ``owner``, unverified until ``expires``: a put
        on a free key or, when the current claim is another account's and has lapsed unverified,
        its takeover with the address taken off that account's user item."""
        key = claim_key(email)
        with store_call("users.claim_of"):
            current = self._table.get_item(Key={"username": key}, ConsistentRead=True).get("Item")
        new = {**_claim(email, {"username": owner.username, "account_id": owner.account_id}), UNTIL: expires}
        if current is not None and current.get(RELEASED) is True and "owner" not in current:
            # Released unverified: the next claim lives only as long as the released one would
            # have (a full life once that has lapsed), and only if nobody else took it meanwhile.
            left = int(str(current.get(UNTIL, 0)))
            condition = "attribute_not_exists(#o) AND #r = :t"
            put = self._put({**new, UNTIL: left if left > now else expires}, condition)
            put["Put"] |= {
                "ExpressionAttributeNames": {"#o": "owner", "#r": RELEASED},
                "ExpressionAttributeValues": {":t": True},
            }
            return {"claim": put}
        previous = str(current.get("owner", "")) if current else ""
        if current is None or previous in ("", owner.account_id) or "owner_name" not in current:
            return {"claim": self._put(new, "attribute_not_exists(username)")}
        holder = str(current["owner_name"])
        if UNTIL in current:
            lapsed = int(str(current[UNTIL])) <= now
            claim_condition, holder_condition = "#u <= :now", "account_id = :old AND email_verified = :f"
        else:
            # A claim written before claims carried their life: it lapses with its holder's code.
            lapsed = self._unverified_code_expired(holder, previous, now)
            claim_condition = "attribute_not_exists(#u)"
            holder_condition = "account_id = :old AND email_verified = :f AND email_code_expires <= :now"
        if not lapsed:
            return {"claim": self._put(new, "attribute_not_exists(username)")}
        put = self._put(new, f"#o = :old AND {claim_condition}")
        put["Put"] |= {
            "ExpressionAttributeNames": {"#o": "owner", "#u": UNTIL},
            "ExpressionAttributeValues": {":old": previous} | ({":now": now} if UNTIL in current else {}),
        }
        holder_values: dict[str, Any] = {":old": previous, ":f": False}
        if UNTIL not in current:
            holder_values[":now"] = now
        return {
            "claim": put,
            # The lapsed claimant keeps its account but not the address it never proved.
            "lapsed": self._update(
                holder,
                "REMOVE email, email_verified, email_code_hash, email_code_expires, email_code_failures",
                holder_condition,
                holder_values,
            ),
        }

    def _unverified_code_expired(self, username: str, account_id: str, now: int) -> bool:
        with store_call("users.claim_holder"):
            item = self._table.get_item(
                Key={"username": username},
                ConsistentRead=True,
                ProjectionExpression="account_id, email_verified, email_code_expires",
            ).get("Item")
        return bool(
            item
            and item.get("account_id") == account_id
            and not item.get("email_verified", False)
            and int(str(item.get("email_code_expires", now + 1))) <= now
        )

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
        self,
        owner: ClaimOwner,
        old: str | None,
        new: str,
        code_hash: str,
        expires: int,
        now: int,
        *,
        old_verified: bool = True,
    ) -> None:
        """Set a new, unverified address; its claim moves from the old one in the same transaction
        (the old one's claim is released, keeping its life, when ``old_verified`` is False)."""
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
                "email_code_hash = :ch, email_code_expires = :cx "
                # A reset code mailed to the old address must not outlive the change
                # (email_code_failures: what codes that died of wrong guesses once counted).
                "REMOVE reset_codes, email_code_failures",
                condition,
                values,
            )
        }
        moved = old is None or claim_key(old) != claim_key(new)
        if moved:
            items |= self._claim_items(new, owner, expires, now)
        if moved and old is not None:
            items["old_claim"] = self.claim_removal(old, owner.account_id, verified=old_verified)
        failed = transact(self._table.meta.client, "users.change_email", items)
        if "user" in failed or "old_claim" in failed:
            raise Conflict("The account changed meanwhile; try again.")
        # "claim" or "lapsed": the address is held (or its lapsed claim was verified meanwhile).
        if failed:
            raise EmailTaken()

    def mark_verified(self, owner: ClaimOwner, email: str, code_hash: str, now: int) -> bool:
        """Mark the address verified, spending the code, and make its claim permanent, in one
        transaction; False if the code changed or expired, or the claim was taken over meanwhile."""
        claim = {
            "Update": {
                "TableName": self._table.name,
                "Key": {"username": claim_key(email)},
                "UpdateExpression": "REMOVE #u",
                "ConditionExpression": "#o = :aid",
                "ExpressionAttributeNames": {"#o": "owner", "#u": UNTIL},
                "ExpressionAttributeValues": {":aid": owner.account_id},
            }
        }
        user = self._update(
            owner.username,
            "SET email_verified = :t REMOVE email_code_hash, email_code_expires, email_code_failures",
            "attribute_exists(password_hash) AND account_id = :aid AND email = :e AND email_code_hash = :h "
            "AND email_code_expires > :now",
            {":t": True, ":h": code_hash, ":aid": owner.account_id, ":e": email, ":now": now},
        )
        return not transact(self._table.meta.client, "users.mark_verified", {"user": user, "claim": claim})

    def renew_email_code(self, owner: ClaimOwner, email: str, code_hash: str, expires: int) -> bool:
        """A new verification code for ``email``, the old one gone; False if the address is
        no longer this one, unverified, of this account (changed, verified or deleted meanwhile:
        nothing is written)."""
        return self._conditional(
            "users.renew_email_code",
            owner.username,
            "SET email_code_hash = :ch, email_code_expires = :cx REMOVE email_code_failures",
            "account_id = :aid AND email = :e AND email_verified = :f",
            {":aid": owner.account_id, ":e": email, ":f": False, **_code_values(code_hash, expires)},
        )

    # -- mailed codes -----------------------------------------------------------------

    def email_code(self, username: str) -> EmailCode | None:
        """The pending verification code of ``username`` (None: no such user, or no code).

        A read: a guess, right or wrong, writes nothing here, so no number of wrong
        guesses can spend the owner's code.
        """
        with store_call("users.email_code"):
            item = self._table.get_item(
                Key={"username": username},
                ConsistentRead=True,
                # Never the password hash: created_at alone tells a user from an email claim.
                ProjectionExpression="account_id, created_at, email, email_code_hash, email_code_expires",
            ).get("Item")
        if not item or "created_at" not in item or "email_code_hash" not in item:
            return None
        return EmailCode(
            owner=ClaimOwner(str(item["account_id"]), username),
            email=str(item.get("email", "")),
            digest=str(item["email_code_hash"]),
            expires=int(str(item.get("email_code_expires", 0))),
        )

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
                "reset_codes",
            ).get("Item")
        if not item or "created_at" not in item or "account_id" not in item:
            return None
        return ResetState(
            username=str(item["username"]),
            account_id=str(item["account_id"]),
            email=str(item.get("email", "")),
            verified=bool(item.get("email_verified", False)),
            disabled=bool(item.get("disabled", False)),
            codes=_codes(item.get("reset_codes")),
        )

    def add_reset_code(self, state: ResetState, code_hash: str, expires: int, now: int) -> bool:
        """Add a reset code beside the live ones (expired ones go), unless the account's verified
        address changed since ``state`` was read; False when nothing was stored.

        An existing map gets one new entry (``SET reset_codes.#new``): concurrent requests each
        add their own and none replaces another.  Without a map, the first write makes it; a
        request that lost that race adds its entry to the map the winner made.
        """
        values: dict[str, Any] = {":aid": state.account_id, ":e": state.email, ":t": True}
        same_address = "account_id = :aid AND email = :e AND email_verified = :t"
        if state.codes is None and self._conditional(
            "users.add_reset_code",
            state.username,
            "SET reset_codes = :first",
            f"{same_address} AND attribute_not_exists(reset_codes)",
            {**values, ":first": {code_hash: expires}},
        ):
            return True
        names = {"#new": code_hash}
        expired = [h for h, x in (state.codes or {}).items() if x <= now and h != code_hash]
        names |= {f"#old{n}": h for n, h in enumerate(expired)}
        removal = (
            " REMOVE " + ", ".join(f"reset_codes.#old{n}" for n in range(len(expired))) if expired else ""
        )
        return self._conditional(
            "users.add_reset_code",
            state.username,
            "SET reset_codes.#new = :x" + removal,
            f"{same_address} AND attribute_exists(reset_codes)",
            {**values, ":x": expires},
            names=names,
        )

    def store_nothing(self, key: str) -> None:
        """The same request as :meth:`add_reset_code`, with a condition that never holds.

        ``POST /auth/password/forgot`` makes it when no code is to be stored,
        so an unknown account costs the same DynamoDB requests as a known one.
        """
        self._conditional(
            "users.add_reset_code",
            key,
            "SET reset_version = :never",
            "reset_version = :never",
            {":never": _NEVER},
        )

    def reset_codes(self, username: str) -> ResetCodes:
        """The reset codes of ``username`` (none when there is no such account), by one GetItem
        whose shape is the same for every name, with or without a pending code."""
        with store_call("users.reset_codes"):
            item = self._table.get_item(
                Key={"username": username},
                ConsistentRead=True,
                ProjectionExpression="account_id, created_at, reset_codes",
            ).get("Item")
        if not item or "created_at" not in item or "account_id" not in item:
            return ResetCodes("", {})
        return ResetCodes(str(item["account_id"]), _codes(item.get("reset_codes")) or {})

    def spend_reset_code(
        self, username: str, account_id: str, code_hash: str, now: int, password_hash: str
    ) -> bool:
        """Spend the reset code ``code_hash`` if it is still live on the incarnation ``account_id``
        and set ``password_hash`` (bumping the credential version) in the same write, which
        removes every other reset code too: exactly one caller can spend a code, and only on the
        account it was mailed for."""
        return self._conditional(
            "users.spend_reset_code",
            username,
            "SET password_hash = :ph ADD cred_version :one REMOVE reset_codes",
            "account_id = :aid AND reset_codes.#h > :now "
            "AND (attribute_not_exists(disabled) OR disabled = :f)",
            {":now": now, ":f": False, ":aid": account_id, ":ph": password_hash, ":one": 1},
            names={"#h": code_hash},
        )

    # -- removal -------------------------------------------------------------------------

    def claim_removal(self, email: str, account_id: str, *, verified: bool = True) -> dict[str, Any]:
        """A transaction item that removes ``email``'s claim, if it is still ``account_id``'s.

        A claim never verified is released, not deleted: its item stays without an owner and
        keeps ``unverified_until``, so whoever claims the address next gets only what is left
        of that life (see :meth:`_claim_items`).  Otherwise moving off an address and back, or
        deleting the account and signing up again, would give a squatter a new life each time.
        """
        if not verified:
            return {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"username": claim_key(email)},
                    "UpdateExpression": "SET #r = :t REMOVE #o, owner_name",
                    "ConditionExpression": "attribute_not_exists(#o) OR #o = :aid",
                    "ExpressionAttributeNames": {"#o": "owner", "#r": RELEASED},
                    "ExpressionAttributeValues": {":aid": account_id, ":t": True},
                }
            }
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
        self,
        operation: str,
        username: str,
        update: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> bool:
        extra: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        try:
            with store_call(operation, _Lost()):
                self._table.update_item(
                    Key={"username": username},
                    UpdateExpression=update,
                    ConditionExpression=f"attribute_exists(password_hash) AND {condition}",
                    ExpressionAttributeValues=values,
                    **extra,
                )
        except _Lost:
            return False
        return True


def _codes(stored: Any) -> dict[str, int] | None:
    """The ``reset_codes`` map as digest -> expiry (None when the item has no map)."""
    if not isinstance(stored, dict):
        return None
    return {str(digest): int(expires) for digest, expires in stored.items()}


def _claim(email: str, user: dict[str, Any]) -> dict[str, Any]:
    return {"username": claim_key(email), "owner": user["account_id"], "owner_name": user["username"]}


def _code_values(code_hash: str, expires: int) -> dict[str, Any]:
    return {":ch": code_hash, ":cx": expires}
