"""Signing up and in without a token: register, token, revoke, email and password recovery, JWKS.

Each view reads its input, calls one use case and shapes the answer; errors
are rendered by :mod:`gatehouse.web.responses`.
"""

from __future__ import annotations

from chalice.app import Response

from gatehouse.accounts import email_address, login, mfa_login, recovery, signup
from gatehouse.accounts import sessions as lifecycle
from gatehouse.accounts.codes import MAX_CODE_INPUT
from gatehouse.accounts.devices import MAX_DEVICE_TOKEN_INPUT
from gatehouse.accounts.email_syntax import MAX_EMAIL_INPUT
from gatehouse.accounts.passwords import MAX_PASSWORD_LENGTH
from gatehouse.accounts.recovery_codes import MAX_RECOVERY_CODE_INPUT
from gatehouse.accounts.totp import MAX_CODE_INPUT as MAX_OTP_INPUT
from gatehouse.accounts.usernames import MAX_USERNAME_INPUT
from gatehouse.errors import InvalidRequest, UnsupportedGrantType
from gatehouse.jose.jws import MAX_TOKEN_INPUT
from gatehouse.roles import DEFAULT_ROLES
from gatehouse.storage.challenges import MAX_MFA_TOKEN_INPUT
from gatehouse.storage.sessions import MAX_DEVICE_LENGTH
from gatehouse.web.bodies import JSON, optional_str, read_body, required_str
from gatehouse.web.views.common import Gate, json_response, no_content, source_of


def register_user(gate: Gate) -> Response:
    signup.ensure_signup_open(gate.signup_open())
    body = read_body(gate.request())
    username = required_str(body, "username", max_length=MAX_USERNAME_INPUT)
    password = required_str(body, "password", max_length=MAX_PASSWORD_LENGTH)
    # Present means given: null or "" is a malformed address, not "none".
    email = required_str(body, "email", max_length=MAX_EMAIL_INPUT) if "email" in body else None
    user = signup.create_user(
        gate.services(),
        username,
        password,
        DEFAULT_ROLES,
        email,
        source=source_of(gate),
        require_email=gate.settings.require_email,
    )
    return json_response({"username": user.username}, 201)


def verify_email(gate: Gate) -> Response:
    body = read_body(gate.request())
    email_address.verify_email(
        gate.services(),
        required_str(body, "username", max_length=MAX_USERNAME_INPUT),
        required_str(body, "code", max_length=MAX_CODE_INPUT),
        source=source_of(gate),
    )
    return no_content()


def forgot_password(gate: Gate) -> Response:
    body = read_body(gate.request())
    if ("username" in body) == ("email" in body):
        raise InvalidRequest("Send either username or email.")
    recovery.forgot_password(
        gate.services(),
        required_str(body, "username", max_length=MAX_USERNAME_INPUT) if "username" in body else None,
        required_str(body, "email", max_length=MAX_EMAIL_INPUT) if "email" in body else None,
        source=source_of(gate),
        # An unusable device token is no error: the request is then an anonymous one.
        device_token=optional_str(body, "device_token", max_length=MAX_DEVICE_TOKEN_INPUT),
    )
    return json_response({}, 202)


def reset_password(gate: Gate) -> Response:
    body = read_body(gate.request())
    recovery.reset_password(
        gate.services(),
        required_str(body, "username", max_length=MAX_USERNAME_INPUT),
        required_str(body, "code", max_length=MAX_CODE_INPUT),
        required_str(body, "new_password", max_length=MAX_PASSWORD_LENGTH),
        source=source_of(gate),
    )
    return no_content()


def token(gate: Gate) -> Response:
    body = read_body(gate.request(), allow_form=True)
    grant_type = required_str(body, "grant_type", max_length=64)
    device_token = optional_str(body, "device_token", max_length=MAX_DEVICE_TOKEN_INPUT)
    grant: lifecycle.TokenGrant | mfa_login.MfaRequired
    if grant_type == "password":
        grant = login.password_login(
            gate.services(),
            required_str(body, "username", max_length=MAX_USERNAME_INPUT),
            # Longer than the policy allows cannot match; refusing it early
            # also keeps huge inputs away from argon2.
            required_str(body, "password", max_length=MAX_PASSWORD_LENGTH),
            optional_str(body, "device", max_length=MAX_DEVICE_LENGTH) or "",
            # An unusable device token is no error: the attempt then counts against the name.
            device_token,
        )
    elif grant_type in (mfa_login.OTP_GRANT, mfa_login.RECOVERY_CODE_GRANT):
        mfa_token = required_str(body, "mfa_token", max_length=MAX_MFA_TOKEN_INPUT)
        remember = _remember_flag(optional_str(body, "remember_device", max_length=8))
        if grant_type == mfa_login.OTP_GRANT:
            otp = required_str(body, "otp", max_length=MAX_OTP_INPUT)
            grant = mfa_login.otp_login(gate.services(), mfa_token, otp, device_token, remember)
        else:
            code = required_str(body, "recovery_code", max_length=MAX_RECOVERY_CODE_INPUT)
            grant = mfa_login.recovery_code_login(gate.services(), mfa_token, code, device_token, remember)
    elif grant_type == "refresh_token":
        grant = lifecycle.refresh(
            gate.services(), required_str(body, "refresh_token", max_length=MAX_TOKEN_INPUT)
        )
    else:
        raise UnsupportedGrantType()
    if isinstance(grant, mfa_login.MfaRequired):
        # The password was right; the second factor is still owed (nothing else in the body).
        return json_response(grant.body(), 403)
    return json_response(grant.body())


def _remember_flag(raw: str | None) -> bool:
    """``remember_device`` of a second-factor grant: true (the default) or false."""
    if raw is None or raw == "true":
        return True
    if raw == "false":
        return False
    raise InvalidRequest("remember_device must be true or false.")


def revoke(gate: Gate) -> Response:
    body = read_body(gate.request(), allow_form=True)
    value = required_str(body, "token", max_length=MAX_TOKEN_INPUT)
    optional_str(body, "token_type_hint", max_length=64)  # a hint only (RFC 7009 section 2.1)
    lifecycle.revoke(gate.services(), value)
    return json_response({})


def jwks(gate: Gate) -> Response:
    return Response(
        body=login.published_keys(gate.services().keyset),
        status_code=200,
        headers={"Content-Type": JSON, "Cache-Control": "public, max-age=300"},
    )
