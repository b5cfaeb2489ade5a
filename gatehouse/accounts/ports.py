"""What the use cases need from the deployment: settings, clock, keys and repositories.

A protocol, so that the accounts layer names its needs without importing the
container that builds them (:class:`gatehouse.services.Services`, which
imports this layer): the dependency points one way only.  Tests may pass
anything with these members.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from gatehouse.accounts.passwords import Hasher
from gatehouse.jose.access_tokens import TokenRules
from gatehouse.jose.keys import KeySet, SigningKey
from gatehouse.mail import Mailer
from gatehouse.settings import Settings
from gatehouse.storage.account_email import AccountEmailRepository
from gatehouse.storage.attempts import AttemptRepository, LockoutRules
from gatehouse.storage.challenges import ChallengeRepository
from gatehouse.storage.events import EventRepository
from gatehouse.storage.factors import FactorRepository
from gatehouse.storage.mail_quota import MailQuotaRepository
from gatehouse.storage.sessions import SessionRepository
from gatehouse.storage.users import UserRepository

if TYPE_CHECKING:
    from gatehouse.accounts.factor_key import DataKeys


class Account(Protocol):
    """One incarnation of an account: a user as read, a caller's identity, a session."""

    @property
    def username(self) -> str: ...

    @property
    def account_id(self) -> str: ...


class AccountServices(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Callable[[], float]: ...

    def now(self) -> int: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def account_email(self) -> AccountEmailRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def attempts(self) -> AttemptRepository: ...

    @property
    def lockout(self) -> LockoutRules: ...

    @property
    def hasher(self) -> Hasher: ...

    @property
    def mailer(self) -> Mailer: ...

    @property
    def mail_quota(self) -> MailQuotaRepository: ...

    @property
    def mail_templates(self) -> tuple[str, ...]: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def rules(self) -> TokenRules: ...

    @property
    def keyset(self) -> KeySet: ...

    @property
    def signing_key(self) -> SigningKey: ...

    @property
    def signing_keys(self) -> tuple[SigningKey, ...]: ...

    @property
    def factors(self) -> FactorRepository: ...

    @property
    def challenges(self) -> ChallengeRepository: ...

    @property
    def mfa_keys(self) -> DataKeys: ...
