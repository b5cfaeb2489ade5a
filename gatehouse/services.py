"""What the handlers depend on, built lazily: settings, clock, keys, repositories.

A Lambda builds one :class:`Services` per cold start and only what a request
touches: the authorizer path never creates a boto3 object or reads the
private key.  Tests build their own with a fake clock and moto tables and
install it with :func:`install`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from gatehouse.accounts.passwords import Hasher, HashParams
from gatehouse.authorizer.session_check import SessionCheck
from gatehouse.errors import ConfigError
from gatehouse.jose.access_tokens import TokenRules
from gatehouse.jose.keys import (
    KeySet,
    SigningKey,
    choose_signing_key,
    load_keyset,
    load_signing_keys,
)
from gatehouse.mail import Mailer
from gatehouse.settings import Settings, token_rules
from gatehouse.storage import aws
from gatehouse.storage.account_email import AccountEmailRepository
from gatehouse.storage.attempts import AttemptRepository, LockoutRules
from gatehouse.storage.events import EventRepository
from gatehouse.storage.mail_quota import MailQuotaRepository
from gatehouse.storage.sessions import SID_PATTERN, Session, SessionRepository, read_session
from gatehouse.storage.users import UserRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table

Clock = Callable[[], float]


def read_signing_key_from_ssm(parameter: str) -> str:
    from gatehouse.storage.failures import store_call

    try:
        with store_call("ssm.get_parameter"):
            answer = aws.ssm().get_parameter(Name=parameter, WithDecryption=True)
    except Exception:
        raise ConfigError(
            f"The signing key could not be read from the SSM parameter {parameter!r} "
            "(GATEHOUSE_SIGNING_KEY_PARAM); see Keys in docs/DESIGN.md."
        ) from None
    return answer["Parameter"]["Value"]


class Services:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = time.time,
        table: Callable[[str], Table] | None = None,
        signing_key_source: Callable[[str], str] = read_signing_key_from_ssm,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._table_factory = table
        self._signing_key_source = signing_key_source
        self._tables: dict[str, Table] = {}
        # The app's own mail template directories, searched before the package's
        # (``gate.mail_templates``): this Gatehouse's, never another's in the process.
        self.mail_templates: tuple[str, ...] = ()

    def now(self) -> int:
        return int(self.clock())

    def table(self, name: str) -> Table:
        """A DynamoDB table through the one shared, lazily created boto3 resource."""
        if name not in self._tables:
            if self._table_factory is not None:
                self._tables[name] = self._table_factory(name)
            else:
                self._tables[name] = self._dynamodb.Table(name)
        return self._tables[name]

    @cached_property
    def _dynamodb(self) -> DynamoDBServiceResource:
        # One resource (one HTTP connection pool) for every table.
        return aws.dynamodb()

    @cached_property
    def rules(self) -> TokenRules:
        return token_rules(self.settings)

    @cached_property
    def keyset(self) -> KeySet:
        if not self.settings.jwks:
            raise ConfigError("GATEHOUSE_JWKS is not set: it must hold the public key set.")
        return load_keyset(self.settings.jwks)

    @cached_property
    def signing_keys(self) -> tuple[SigningKey, ...]:
        """Every stored private key, newest first: read once per cold start."""
        return load_signing_keys(self._signing_key_source(self.settings.signing_key_param))

    @property
    def signing_key(self) -> SigningKey:
        # Chosen again for every token (cheap: a few comparisons) so that a
        # warm Lambda switches to a rotated key at its ``nbf``, not at its
        # next cold start, and retiring the old key can be timed.
        return choose_signing_key(self.signing_keys, self.keyset, self.now())

    @cached_property
    def hasher(self) -> Hasher:
        s = self.settings
        return Hasher(HashParams(s.argon2_time_cost, s.argon2_memory_kib, s.argon2_parallelism))

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.table(self.settings.users_table))

    @cached_property
    def account_email(self) -> AccountEmailRepository:
        """Email addresses, mailed codes and account removal (on the users table)."""
        return AccountEmailRepository(self.table(self.settings.users_table))

    @cached_property
    def mailer(self) -> Mailer:
        return Mailer(self.settings)

    @cached_property
    def sessions(self) -> SessionRepository:
        return SessionRepository(self.table(self.settings.sessions_table))

    @cached_property
    def session_check(self) -> SessionCheck:
        return SessionCheck(self._session_of, self.settings.session_cache_seconds)

    def _session_of(self, account_id: str, sid: str) -> Session | None:
        # Only a sid of ours can name a row; anything else (a forged token's) is no session,
        # and is never sent to DynamoDB as a key it might refuse.
        if not SID_PATTERN.fullmatch(sid):
            return None
        if self._table_factory is not None:  # tables given (in-memory fakes): read through them
            return self.sessions.get(account_id, sid)
        return read_session(self.session_client, self.settings.sessions_table, account_id, sid)

    @cached_property
    def session_client(self) -> DynamoDBClient:
        """The session check's low-level client: botocore only, no boto3 resource layer."""
        return aws.dynamodb_client()

    @cached_property
    def attempts(self) -> AttemptRepository:
        return AttemptRepository(self.table(self.settings.attempts_table))

    @cached_property
    def mail_quota(self) -> MailQuotaRepository:
        """Mail counters per address, account and source (on the attempts table)."""
        return MailQuotaRepository(self.table(self.settings.attempts_table))

    @cached_property
    def events(self) -> EventRepository:
        return EventRepository(self.table(self.settings.events_table))

    @cached_property
    def lockout(self) -> LockoutRules:
        s = self.settings
        return LockoutRules(
            s.lockout_threshold,
            s.lockout_base_seconds,
            max(s.lockout_max_seconds, s.lockout_base_seconds),
            s.lockout_window_seconds,
            s.lockout_max_consecutive,
        )
