"""The client: login, requests with transparent refresh, logout."""

from __future__ import annotations

import json as jsonlib
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

# Renew a little before the server would refuse the token, not after.
EXPIRY_MARGIN = 5.0
_INVALID_TOKEN = re.compile(r'\berror="invalid_token"')


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float  # seconds since the epoch, by this machine's clock

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


class GatehouseError(Exception):
    """An error answer (``code`` is the API's stable code), or ``network_error`` with status 0."""

    def __init__(
        self, message: str, *, status: int = 0, code: str = "network_error", retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after

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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would repeat the Authorization header to wherever a redirect
    # points; the API never redirects, so a redirect is answered as it is.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


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
    """

    def __init__(
        self,
        base_url: str,
        *,
        tokens: Tokens | None = None,
        on_tokens: Callable[[Tokens | None], None] | None = None,
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

    # -- session ---------------------------------------------------------------

    def login(self, username: str, password: str, device: str | None = None) -> Tokens:
        """Password grant; raises :class:`GatehouseError` (``invalid_grant``, ``too_many_attempts``, ...)."""
        form = {"grant_type": "password", "username": username, "password": password}
        if device:
            form["device"] = device
        with self._refresh_lock:
            tokens = self._token_request(form)
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
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise GatehouseError(f"{self.base_url} could not be reached: {reason}") from None

    def _post_form(self, path: str, form: Mapping[str, str]) -> Reply:
        data = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self._send("POST", self.base_url + path, data, headers, None)

    def _token_request(self, form: Mapping[str, str]) -> Tokens:
        reply = self._post_form("/auth/token", form)
        if not reply.ok:
            raise GatehouseError.from_reply(reply)
        return Tokens.from_response(reply.json(), self._clock())

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
            tokens = self._token_request(
                {"grant_type": "refresh_token", "refresh_token": current.refresh_token}
            )
        except GatehouseError as error:
            if error.code != "invalid_grant":
                raise  # unreachable, 5xx, 429: the session may well be fine
            self._set(None)  # the server ended the session: log in again
            return None
        self._set(tokens)
        return tokens

    def _set(self, tokens: Tokens | None) -> None:
        self._tokens = tokens
        if self._on_tokens is not None:
            self._on_tokens(tokens)
