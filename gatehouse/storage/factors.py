"""A user's second factor, kept on the user's own row: it lives and dies with the account.

Every read and write names the account incarnation (its ``account_id``): a
read of a row that a later account of the same name now holds is "no such
account", and every write is conditioned on the id, so a factor, a step, a
recovery code or a remembered device of a deleted account can never land on,
or be spent against, a later account of the name.

Attributes (all absent for an account without a factor):

* ``mfa_pending`` / ``mfa_pending_until``: the sealed secret of an enrolment
  not confirmed yet (it is no factor: login ignores it);
* ``mfa_totp``: the sealed TOTP secret (:mod:`gatehouse.accounts.factor_key`),
  ``mfa_since``: when it was confirmed (the flag listings read, so that a
  listing never reads a secret out of the table);
* ``mfa_step``: the last time step whose code was accepted.  Every use of a
  code is one conditional write that raises it: a second use of the same
  code, in parallel or later, fails that condition;
* ``mfa_recovery``: the digests of the unused recovery codes; spending one is
  a conditional ``DELETE`` of its digest, so two uses give one success;
* ``mfa_remembered``: device id -> [until, credential version], the devices
  that may skip the second factor; a credential or factor change bumps the
  version and so ends all of them.

Adding or removing the factor bumps ``cred_version`` in the same write, so a
login that read the user before cannot open a session after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from gatehouse.errors import StoreError
from gatehouse.storage.failures import store_call
from gatehouse.storage.users import same_account

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

MFA_ATTRIBUTES = (
    "mfa_pending",
    "mfa_pending_until",
    "mfa_totp",
    "mfa_since",
    "mfa_step",
    "mfa_recovery",
    "mfa_remembered",
)
# Remembered devices one account keeps (the oldest go first).
MAX_REMEMBERED = 20


class AccountKey(Protocol):
    """One incarnation of an account (a user as read, a caller's identity): its row and its id."""

    @property
    def username(self) -> str: ...

    @property
    def account_id(self) -> str: ...


@dataclass(frozen=True)
class FactorState:
    pending: str | None = None
    pending_until: int = 0
    sealed_secret: str | None = None
    since: int = 0
    last_step: int | None = None
    recovery: frozenset[str] = frozenset()
    remembered: dict[str, tuple[int, int]] = field(default_factory=dict)
    cred_version: int = 0

    @property
    def active(self) -> bool:
        return self.sealed_secret is not None


def _state(item: dict[str, Any]) -> FactorState:
    remembered = {str(k): (int(v[0]), int(v[1])) for k, v in dict(item.get("mfa_remembered") or {}).items()}
    step = item.get("mfa_step")
    return FactorState(
        pending=str(item["mfa_pending"]) if "mfa_pending" in item else None,
        pending_until=int(item.get("mfa_pending_until", 0)),
        sealed_secret=str(item["mfa_totp"]) if "mfa_totp" in item else None,
        since=int(item.get("mfa_since", 0)),
        last_step=int(step) if step is not None else None,
        recovery=frozenset(str(d) for d in item.get("mfa_recovery", ())),
        remembered=remembered,
        cred_version=int(item["cred_version"]),
    )


class _Refused(StoreError):
    """A conditional write's condition did not hold (internal signal)."""


class FactorRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, account: AccountKey) -> FactorState | None:
        """The factor state of the incarnation ``account`` (None: gone), strongly consistent."""
        with store_call("factors.get"):
            item = self._table.get_item(
                Key={"username": account.username},
                ConsistentRead=True,
                ProjectionExpression=", ".join(("username", "account_id", "cred_version", *MFA_ATTRIBUTES)),
            ).get("Item")
        if not item or item.get("account_id") != account.account_id:
            return None
        return _state(item)

    def _update(
        self, operation: str, account: AccountKey, condition: str, values: dict[str, Any], **update: Any
    ) -> bool:
        """One conditional update of ``account``'s row, also conditioned on its incarnation."""
        same, ids = same_account(account.account_id)
        try:
            with store_call(operation, _Refused()):
                self._table.update_item(
                    Key={"username": account.username},
                    ConditionExpression=f"{same} AND {condition}",
                    ExpressionAttributeValues={**values, **ids},
                    **update,
                )
        except _Refused:
            return False
        return True

    def start_enrolment(self, account: AccountKey, sealed: str, until: int) -> bool:
        """Keep a new secret awaiting confirmation (replacing an earlier unconfirmed one);
        False when the account has an active factor (remove it first) or is gone."""
        return self._update(
            "factors.start_enrolment",
            account,
            "attribute_exists(password_hash) AND attribute_not_exists(mfa_totp)",
            {":p": sealed, ":u": until},
            UpdateExpression="SET mfa_pending = :p, mfa_pending_until = :u",
        )

    def confirm(self, account: AccountKey, pending: str, step: int, digests: list[str], now: int) -> bool:
        """The pending secret becomes the factor (its first code's step spent, the codes stored),
        and the credential version moves on; False if the pending secret changed meanwhile."""
        return self._update(
            "factors.confirm",
            account,
            "mfa_pending = :p AND attribute_not_exists(mfa_totp)",
            {":p": pending, ":s": step, ":r": set(digests), ":now": now, ":one": 1},
            UpdateExpression=(
                "SET mfa_totp = :p, mfa_step = :s, mfa_recovery = :r, mfa_since = :now "
                "ADD cred_version :one REMOVE mfa_pending, mfa_pending_until, mfa_remembered"
            ),
        )

    def accept_step(self, account: AccountKey, sealed: str, step: int) -> bool:
        """Spend the code of ``step``: True for exactly one caller, only if no later or equal
        step was accepted before and the factor is still the one that was read."""
        return self._update(
            "factors.accept_step",
            account,
            "mfa_totp = :t AND (attribute_not_exists(mfa_step) OR mfa_step < :s)",
            {":s": step, ":t": sealed},
            UpdateExpression="SET mfa_step = :s",
        )

    def spend_recovery_code(self, account: AccountKey, digest: str) -> bool:
        """Remove one recovery code: True for exactly one caller, if the account had it."""
        return self._update(
            "factors.spend_recovery_code",
            account,
            "attribute_exists(mfa_totp) AND contains(mfa_recovery, :c)",
            {":d": {digest}, ":c": digest},
            UpdateExpression="DELETE mfa_recovery :d",
        )

    def replace_recovery_codes(self, account: AccountKey, sealed: str, digests: list[str]) -> bool:
        return self._update(
            "factors.replace_recovery_codes",
            account,
            "mfa_totp = :t",
            {":r": set(digests), ":t": sealed},
            UpdateExpression="SET mfa_recovery = :r",
        )

    def remove(self, account: AccountKey) -> bool:
        """Remove the factor (and everything about it), ending remembered devices and the
        logins in flight; False if there was none."""
        return self._update(
            "factors.remove",
            account,
            "attribute_exists(mfa_totp)",
            {":one": 1},
            UpdateExpression="ADD cred_version :one REMOVE " + ", ".join(MFA_ATTRIBUTES),
        )

    def remember(self, account: AccountKey, state: FactorState, device_id: str, until: int, now: int) -> bool:
        """Let ``device_id`` skip the second factor until ``until`` (while the credential version
        stays ``state.cred_version``); False if the credentials or the factor changed meanwhile."""
        live = {d: v for d, v in state.remembered.items() if v[0] > now and v[1] == state.cred_version}
        live[device_id] = (until, state.cred_version)
        newest = sorted(live.items(), key=lambda kv: kv[1][0])[-MAX_REMEMBERED:]
        return self._update(
            "factors.remember",
            account,
            "mfa_totp = :t AND cred_version = :cv",
            {
                ":m": {d: [u, cv] for d, (u, cv) in newest},
                ":t": state.sealed_secret,
                ":cv": state.cred_version,
            },
            UpdateExpression="SET mfa_remembered = :m",
        )
