"""Gatehouse's errors: one root, a stable code each, and no HTTP anywhere.

Every error Gatehouse raises on purpose derives from :class:`GatehouseError`.
It carries a stable machine-readable ``code`` and a human ``message`` that
never holds a password, hash, code, key or token.  What an error means over
HTTP (its status, its RFC 6749 code, its headers) is decided in one table at
the web edge (:mod:`gatehouse.web.responses`), so the accounts,
token and storage layers stay usable from the admin CLI and from tests
without a web framework.
"""

from __future__ import annotations


class GatehouseError(Exception):
    code = "internal_error"
    default_message = "The server could not complete the request."
    # Whether ``message`` may be shown to the client (else ``default_message``).
    public = True

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


# -- configuration: the operator's to fix ---------------------------------------------


class ConfigError(GatehouseError):
    code = "server_misconfigured"
    default_message = "Gatehouse is misconfigured; the server log says how."
    # The detail names settings and values: for the operator's log, not for clients.
    public = False


# -- requests the client can fix ----------------------------------------------------------


class InvalidRequest(GatehouseError):
    code = "invalid_request"
    default_message = "The request is not valid."


class UnsupportedMediaType(InvalidRequest):
    code = "unsupported_media_type"
    default_message = "Send the body as application/json."


class LookAlikeName(InvalidRequest):
    """A new name that reads like an existing account's (the same confusable skeleton): refused
    with the code of the other names a reader would mistake for another's, ``invalid_request``."""

    default_message = "That username looks too much like an existing one; choose another."


class PayloadTooLarge(InvalidRequest):
    code = "payload_too_large"
    default_message = "The request body is too large."


class NotFound(GatehouseError):
    code = "not_found"
    default_message = "Not found."


class NoSuchUser(NotFound):
    default_message = "No such user."


class NoSuchSession(NotFound):
    default_message = "No such session."


class MethodNotAllowed(GatehouseError):
    code = "method_not_allowed"
    default_message = "That method is not allowed on this resource."


class Forbidden(GatehouseError):
    code = "forbidden"
    default_message = "You may not do this."


class SignupDisabled(Forbidden):
    code = "signup_disabled"
    default_message = "Sign-up is disabled on this server."


class Conflict(GatehouseError):
    code = "conflict"
    default_message = "The request conflicts with the current state."


class UsernameTaken(Conflict):
    code = "username_taken"
    default_message = "That username is taken."


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "That email address belongs to another account."


class NothingToVerify(Conflict):
    """A new verification code was asked for, but the account has no address waiting for one."""

    code = "nothing_to_verify"
    default_message = "This account has no unverified email address; set one with POST /auth/email."


class LastAdmin(Conflict):
    """The change would leave no active administrator (nobody could manage users any more)."""

    code = "last_admin"
    default_message = "This is the last active admin account; make another admin first."


class InvalidCode(InvalidRequest):
    """A mailed code (email verification, password reset) that is wrong, used, expired or spent.

    One answer for all of these, so the response never says which.
    """

    code = "invalid_code"
    default_message = "The code is wrong or no longer valid. Request a new one."


class WrongSecondFactor(InvalidCode):
    """A TOTP or recovery code that is wrong, already used or outside its time window (one answer)."""

    default_message = "The code is wrong or was already used."


class FactorExists(Conflict):
    code = "mfa_already_enabled"
    default_message = "This account already has a second factor; remove it first."


class NoFactor(Conflict):
    code = "mfa_not_enabled"
    default_message = "This account has no second factor."


class NoPendingEnrolment(Conflict):
    code = "mfa_not_started"
    default_message = "Start again with POST /auth/mfa/totp: no enrolment is waiting (or it expired)."


class InsufficientUserAuthentication(GatehouseError):
    """The token is valid but its login had no second factor, and this route needs one (RFC 9470)."""

    code = "insufficient_user_authentication"
    default_message = "This needs a login with a second factor: sign in again with your code."
    www_authenticate = (
        'Bearer error="insufficient_user_authentication", '
        'error_description="A login with a second factor is required"'
    )


class InvalidGrant(GatehouseError):
    code = "invalid_grant"
    default_message = "The username or password is wrong."


class AccountGone(GatehouseError):
    """The caller's account no longer exists (its name may belong to a later account now).

    A token of a deleted account can still pass the authorizer within the
    revocation bound; the views that read the account answer it like an
    invalid token, and never act on whoever holds the name now.
    """

    code = "invalid_token"
    default_message = "The access token is missing, malformed, expired or revoked."


class UnsupportedGrantType(GatehouseError):
    code = "unsupported_grant_type"
    default_message = (
        "grant_type must be password, refresh_token, urn:gatehouse:grant-type:mfa-otp "
        "or urn:gatehouse:grant-type:mfa-recovery-code."
    )


class WrongPassword(InvalidRequest):
    """The current password given to confirm a change is wrong."""

    default_message = "The current password is wrong."


class TooManyAttempts(GatehouseError):
    code = "too_many_attempts"
    default_message = "Too many failed attempts for this account. Try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# -- storage: nothing the client can fix ---------------------------------------------------


class StoreError(GatehouseError):
    """The data store failed in a way the client cannot fix."""

    code = "storage_error"
    default_message = "The data store failed."


class StoreUnavailable(StoreError):
    """Throttled or unreachable: worth retrying shortly."""

    code = "service_unavailable"
    default_message = "The service is busy. Try again shortly."
    retry_after = 1
