"""The client: login, requests with transparent refresh, logout, and the account's own calls."""

from __future__ import annotations

import http.client
import json as jsonlib
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from email.message import Message
from typing import Any

# Renew a little before the server would refuse the token, not after.
EXPIRY_MARGIN = 5.0
_INVALID_TOKEN = re.compile(r'\berror="invalid_token"')
_STEP_UP = re.compile(r'\berror="insufficient_user_authentication"')
OTP_GRANT = "urn:gatehouse:grant-type:mfa-otp"
RECOVERY_CODE_GRANT = "urn:gatehouse:grant-type:mfa-recovery-code"


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float  # seconds since the epoch, by this machine's clock
    # Who logged in, as typed: which device token to forget when the account is deleted.
    username: str | None = None

    @classmethod
    def from_response(cls, body: Mapping[str, Any], now: float) -> Tokens:
        return cls(str(body["access_token"]), str(body["refresh_token"]), now + float(body["expires_in"]))


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return jsonlib.loads(self.body) if self.body else None

    @property
    def invalid_token(self) -> bool:
        """A 401 saying the token is no good: the only case worth a refresh (RFC 6750 section 3.1)."""
        return self.status == 401 and bool(_INVALID_TOKEN.search(self.headers.get("WWW-Authenticate", "")))

    @property
    def needs_second_factor(self) -> bool:
        """A 401 saying this route needs a login with a second factor (RFC 9470): log in again
        with the code; a refresh would not help (it keeps the login's level)."""
        return self.status == 401 and bool(_STEP_UP.search(self.headers.get("WWW-Authenticate", "")))


# Why a server could not be reached (GatehouseError.network), so that a front end
# can say what to do about it: start the server, fix the URL, or wait.
REFUSED = "refused"
NAME_NOT_FOUND = "name_not_found"
TIMED_OUT = "timed_out"
NOT_HTTP = "not_http"
UNREACHABLE = "unreachable"


class GatehouseError(Exception):
    """An error answer (``code`` is the API's stable code), or ``network_error`` with status 0.

    ``network`` says why a server could not be reached (``refused``,
    ``name_not_found``, ``timed_out``, ``not_http``, ``unreachable``); it is
    ``None`` for an answer from the server and for ``not_logged_in``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "network_error",
        retry_after: int | None = None,
        network: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.network = network

    @classmethod
    def from_reply(cls, reply: Reply) -> GatehouseError:
        try:
            body = reply.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        retry = reply.headers.get("Retry-After", "")
        return cls(
            str(body.get("error_description") or body.get("message") or f"HTTP {reply.status}"),
            status=reply.status,
            code=str(body.get("error") or "http_error"),
            retry_after=int(retry) if retry.isdigit() else None,
        )


class MfaRequired(GatehouseError):
    """The password was right; the account has a second factor.  Finish the login with
    :meth:`GatehouseClient.login_with_otp` or :meth:`GatehouseClient.login_with_recovery_code`
    (within 5 minutes; the challenge works once)."""

    def __init__(self, mfa_token: str, username: str, device: str | None) -> None:
        super().__init__("this account needs its second factor: send a code", status=403, code="mfa_required")
        self.mfa_token = mfa_token
        self.username = username
        self.device = device


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would repeat the Authorization header to wherever a redirect
    # points; the API never redirects, so a redirect is answered as it is.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def device_key(username: str) -> str:
    """The name a device token is kept under: the username as the server compares names.

    A mismatch only means that a device token is not sent (the login then counts
    against the name), never that one user's token goes with another's login.
    """
    return username.strip().lower()


def _network_error(base_url: str, timeout: float, error: BaseException) -> GatehouseError:
    reason = getattr(error, "reason", error)
    if isinstance(reason, ConnectionRefusedError):
        message, kind = f"nothing is listening at {base_url} (connection refused)", REFUSED
    elif isinstance(reason, socket.gaierror):
        message, kind = f"the host of {base_url} was not found", NAME_NOT_FOUND
    elif isinstance(reason, TimeoutError):
        message, kind = f"{base_url} did not answer within {timeout:g} s", TIMED_OUT
    elif isinstance(reason, http.client.HTTPException | ConnectionResetError):
        message, kind = f"{base_url} did not answer as an HTTP server does", NOT_HTTP
    else:
        message, kind = f"{base_url} could not be reached: {reason}", UNREACHABLE
    return GatehouseError(message, network=kind)


def _opener(use_env_proxies: bool) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
    if not use_env_proxies:
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


class GatehouseClient:
    """One user's session against one Gatehouse API; safe to share between threads.

    ``on_tokens`` is called with the new tokens after every login and refresh,
    and with ``None`` when they are forgotten (logout, or the server ended the
    session): the hook to persist them, e.g. with :class:`TokenFile`.

    Device tokens (one per user who logged in here, keyed by :func:`device_key`)
    let this device keep logging in while someone else hammers the same name
    with wrong passwords.  They belong to the device, not to a session: a logout
    keeps them, and only deleting the account forgets its user's token.
    ``on_device_token(key, token)`` is called when one arrives or (with
    ``None``) is forgotten: the hook to persist them.
    """

    def __init__(
        self,
        base_url: str,
        *,
        tokens: Tokens | None = None,
        on_tokens: Callable[[Tokens | None], None] | None = None,
        device_tokens: Mapping[str, str] | None = None,
        on_device_token: Callable[[str, str | None], None] | None = None,
        timeout: float = 10.0,
        use_env_proxies: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._on_tokens = on_tokens
        self._device_tokens = dict(device_tokens or {})
        self._on_device_token = on_device_token
        self._timeout = timeout
        self._opener = _opener(use_env_proxies)
        self._clock = clock
        # Held for every change of the tokens, refreshes included: a thread that
        # waited for it finds the new token afterwards instead of refreshing again,
        # and a logout cannot interleave with a refresh.
        self._refresh_lock = threading.Lock()

    @property
    def tokens(self) -> Tokens | None:
        return self._tokens

    @property
    def logged_in(self) -> bool:
        return self._tokens is not None

    @property
    def device_tokens(self) -> dict[str, str]:
        return dict(self._device_tokens)

    # -- session ---------------------------------------------------------------

    def login(self, username: str, password: str, device: str | None = None) -> Tokens:
        """Password grant; raises :class:`GatehouseError` (``invalid_grant``, ``too_many_attempts``, ...).

        Sends this device's token for ``username`` when it has one, and keeps
        the one the answer brings.  For an account with a second factor it
        raises :class:`MfaRequired` (unless this device is remembered): pass
        it to :meth:`login_with_otp` or :meth:`login_with_recovery_code`.
        """
        form = {"grant_type": "password", "username": username, "password": password}
        if device:
            form["device"] = device
        return self._grant(form, username)

    def login_with_otp(self, challenge: MfaRequired, otp: str, *, remember_device: bool = True) -> Tokens:
        """Finish a login with the authenticator app's code; ``invalid_grant`` if it is wrong or used."""
        form = {"grant_type": OTP_GRANT, "mfa_token": challenge.mfa_token, "otp": otp}
        return self._grant(_remember(form, remember_device), challenge.username)

    def login_with_recovery_code(
        self, challenge: MfaRequired, recovery_code: str, *, remember_device: bool = True
    ) -> Tokens:
        """Finish a login with one of the recovery codes (it is spent)."""
        form = {
            "grant_type": RECOVERY_CODE_GRANT,
            "mfa_token": challenge.mfa_token,
            "recovery_code": recovery_code,
        }
        return self._grant(_remember(form, remember_device), challenge.username)

    def _grant(self, form: dict[str, str], username: str) -> Tokens:
        key = device_key(username)
        with self._refresh_lock:
            if self._device_tokens.get(key):
                form["device_token"] = self._device_tokens[key]
            tokens, body = self._token_request(form)
            device_token = body.get("device_token")
            if isinstance(device_token, str) and device_token:
                self._keep_device_token(key, device_token)
            tokens = replace(tokens, username=username)
            self._set(tokens)
        return tokens

    def refresh(self) -> Tokens | None:
        """Use the refresh token now; ``None`` (tokens forgotten) if the session has ended."""
        with self._refresh_lock:
            return self._refresh_locked()

    def logout(self) -> None:
        """Revoke this session's refresh token (RFC 7009) and forget the tokens."""
        with self._refresh_lock:
            tokens = self._tokens
            self._set(None)
        if tokens is not None:
            reply = self._post_form("/auth/revoke", {"token": tokens.refresh_token})
            if not reply.ok:
                raise GatehouseError.from_reply(reply)

    def logout_everywhere(self) -> None:
        """End every session of this user (DELETE /auth/sessions) and forget the tokens."""
        reply = self.delete("/auth/sessions")
        # 401: this session had already ended, which is what was asked.
        if not reply.ok and reply.status != 401:
            raise GatehouseError.from_reply(reply)
        with self._refresh_lock:
            self._set(None)

    # -- the account ---------------------------------------------------------------

    def register(self, username: str, password: str, email: str | None = None) -> dict[str, Any]:
        """Create an account (POST /auth/register); with an email, a verification code is mailed.

        Does not log in.  Returns the server's answer (``{"username": ...}``).
        """
        body = {"username": username, "password": password}
        if email is not None:
            body["email"] = email
        reply = self._post_public("/auth/register", body)
        try:
            answer = reply.json()
        except ValueError:
            answer = None  # created all the same: the status says so
        return answer if isinstance(answer, dict) else {}

    def verify_email(self, username: str, code: str) -> None:
        """Confirm the address with the code mailed to it; a wrong one raises ``invalid_code``."""
        self._post_public("/auth/email/verify", {"username": username, "code": code})

    def change_email(self, current_password: str, email: str) -> None:
        """Change this user's address (it must be verified again: a code is mailed to it)."""
        self._post_bearer("/auth/email", {"current_password": current_password, "email": email})

    def resend_email_code(self) -> None:
        """Mail a new code to this user's unverified address (the previous one stops working).

        An account with no address waiting for verification raises ``nothing_to_verify``.
        """
        self._post_bearer("/auth/email/resend", {})

    def forgot_password(self, username: str | None = None, email: str | None = None) -> None:
        """Ask for a reset code by name or by address (exactly one).

        The server answers the same whether or not the account exists, so
        success only means the request was taken.  By name, this device's token
        for that name goes along when it has one: the server then counts the
        mail against the account's own device budget, which strangers asking
        for codes cannot spend.
        """
        if (username is None) == (email is None):
            raise ValueError("forgot_password takes exactly one of username or email")
        body = {"username": username} if username is not None else {"email": str(email)}
        if username is not None and self._device_tokens.get(device_key(username)):
            body["device_token"] = self._device_tokens[device_key(username)]
        self._post_public("/auth/password/forgot", body)

    def reset_password(self, username: str, code: str, new_password: str) -> None:
        """Set a new password with the mailed code; every session of the user ends."""
        self._post_public(
            "/auth/password/reset", {"username": username, "code": code, "new_password": new_password}
        )

    def delete_account(self, current_password: str) -> None:
        """Delete this user (POST /auth/account/delete) and forget its tokens, device token included."""
        username = self._tokens.username if self._tokens is not None else None
        self._post_bearer("/auth/account/delete", {"current_password": current_password})
        with self._refresh_lock:
            self._set(None)
            # The server deleted it with the account; a stale copy has no use.
            # Said to the hook even if this object never held it: the store may.
            if username is not None:
                self._keep_device_token(device_key(username), None)

    # -- the second factor ---------------------------------------------------------

    def start_totp(self, current_password: str) -> dict[str, str]:
        """Begin adding an authenticator app: ``{"secret", "otpauth_uri", "qr_svg"}`` (shown once)."""
        answer = self._post_bearer("/auth/mfa/totp", {"current_password": current_password}).json()
        return {k: str(answer[k]) for k in ("secret", "otpauth_uri", "qr_svg")}

    def confirm_totp(self, code: str) -> list[str]:
        """Turn the app on with its first code; returns the ten recovery codes (shown only now)."""
        return [
            str(c)
            for c in self._post_bearer("/auth/mfa/totp/confirm", {"code": code}).json()["recovery_codes"]
        ]

    def new_recovery_codes(self, code: str) -> list[str]:
        """Ten new recovery codes for a code from the app (the old ones stop working)."""
        return [
            str(c)
            for c in self._post_bearer("/auth/mfa/recovery-codes", {"code": code}).json()["recovery_codes"]
        ]

    def remove_totp(self, *, code: str | None = None, recovery_code: str | None = None) -> None:
        """Remove the app with one of its codes or a recovery code (exactly one)."""
        if (code is None) == (recovery_code is None):
            raise ValueError("remove_totp takes exactly one of code or recovery_code")
        body = {"code": code} if code is not None else {"recovery_code": str(recovery_code)}
        self._post_bearer("/auth/mfa/totp/remove", body)

    # -- requests ----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """``path`` is under the API ('/notes'), or an absolute URL under ``base_url``.

        Returns every answer, errors included (check ``reply.ok``); raises
        :class:`GatehouseError` only when the server could not be reached.
        """
        url = self._url(path)
        sent = dict(headers or {})
        if json is not None:
            data = jsonlib.dumps(json).encode()
            sent.setdefault("Content-Type", "application/json")
        token = self._usable_access_token()
        reply = self._send(method, url, data, sent, token)
        if reply.invalid_token:
            fresh = self._token_newer_than(token)
            if fresh is not None:
                reply = self._send(method, url, data, sent, fresh)
        return reply

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)

    # -- internals ---------------------------------------------------------------

    def _url(self, path: str) -> str:
        if path.startswith("/") and not path.startswith("//"):
            return self.base_url + path
        if path == self.base_url or path.startswith(self.base_url + "/"):
            return path
        raise ValueError(f"the token is only sent to {self.base_url}, not to {path!r}")

    def _send(
        self, method: str, url: str, data: bytes | None, headers: Mapping[str, str], token: str | None
    ) -> Reply:
        sent = dict(headers)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310 (http(s) only, checked in __init__)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, error.headers, error.read())
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            raise _network_error(self.base_url, self._timeout, error) from None

    def _post_form(self, path: str, form: Mapping[str, str]) -> Reply:
        data = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self._send("POST", self.base_url + path, data, headers, None)

    def _post_public(self, path: str, body: Mapping[str, str]) -> Reply:
        # No bearer token: these routes do not need one, so it is not handed out.
        data = jsonlib.dumps(body).encode()
        reply = self._send("POST", self.base_url + path, data, {"Content-Type": "application/json"}, None)
        if not reply.ok:
            raise GatehouseError.from_reply(reply)
        return reply

    def _post_bearer(self, path: str, body: Mapping[str, str]) -> Reply:
        if self._tokens is None:
            raise GatehouseError("not logged in: log in first", code="not_logged_in")
        reply = self.post(path, json=body)
        if not reply.ok:
            raise GatehouseError.from_reply(reply)
        return reply

    def _token_request(self, form: Mapping[str, str]) -> tuple[Tokens, dict[str, Any]]:
        reply = self._post_form("/auth/token", form)
        if reply.status == 403:
            challenge = _mfa_token(reply)
            if challenge is not None:
                raise MfaRequired(challenge, str(form.get("username", "")), form.get("device"))
        if not reply.ok:
            raise GatehouseError.from_reply(reply)
        try:
            body = reply.json()
            return Tokens.from_response(body, self._clock()), body
        except (ValueError, KeyError, TypeError):
            raise GatehouseError(
                f"{self.base_url} answered the token request without tokens: is it a Gatehouse API?",
                status=reply.status,
                code="invalid_response",
            ) from None

    def _fresh(self, tokens: Tokens | None) -> bool:
        return tokens is not None and self._clock() < tokens.expires_at - EXPIRY_MARGIN

    def _usable_access_token(self) -> str | None:
        tokens = self._tokens
        if tokens is None or self._fresh(tokens):
            return tokens.access_token if tokens else None
        # Expired by our clock: refresh first (unless someone just did).
        with self._refresh_lock:
            tokens = self._tokens if self._fresh(self._tokens) else self._refresh_locked()
        return tokens.access_token if tokens else None

    def _token_newer_than(self, used: str | None) -> str | None:
        with self._refresh_lock:
            current = self._tokens
            if current is None:
                return None
            if current.access_token != used:
                return current.access_token  # refreshed by another thread meanwhile
            fresh = self._refresh_locked()
        return fresh.access_token if fresh else None

    def _refresh_locked(self) -> Tokens | None:
        current = self._tokens
        if current is None:
            return None
        try:
            tokens, _ = self._token_request(
                {"grant_type": "refresh_token", "refresh_token": current.refresh_token}
            )
        except GatehouseError as error:
            if error.code != "invalid_grant":
                raise  # unreachable, 5xx, 429: the session may well be fine
            self._set(None)  # the server ended the session: log in again
            return None
        tokens = replace(tokens, username=current.username)
        self._set(tokens)
        return tokens

    def _set(self, tokens: Tokens | None) -> None:
        self._tokens = tokens
        if self._on_tokens is not None:
            self._on_tokens(tokens)

    def _keep_device_token(self, key: str, token: str | None) -> None:
        if token is None:
            self._device_tokens.pop(key, None)
        else:
            self._device_tokens[key] = token
        if self._on_device_token is not None:
            self._on_device_token(key, token)


def _mfa_token(reply: Reply) -> str | None:
    """The ``mfa_token`` of an ``mfa_required`` answer, else None."""
    try:
        body = reply.json()
    except ValueError:
        return None
    if (
        isinstance(body, dict)
        and body.get("error") == "mfa_required"
        and isinstance(body.get("mfa_token"), str)
    ):
        return str(body["mfa_token"])
    return None


def _remember(form: dict[str, str], remember_device: bool) -> dict[str, str]:
    if not remember_device:
        form["remember_device"] = "false"
    return form
