"""The stack ``make run`` starts, on a free port, and the accounts the API fuzz test calls it as.

Only ``make test-api`` runs these tests (marker ``api``, deselected by default).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.live_stack import ADMIN_PASSWORD, ROOT, LiveStack, live_stack

SERVER_LOG = ROOT / "build" / "test-api-server.log"
# Every account the fuzz test registers for itself gets this password.
USER_PASSWORD = "Juniper-Socket-81-gravel"


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LiveStack]:
    """``python -m gatehouse.dev.run --port <free>``, as ``make run`` starts it, with its default settings."""
    with live_stack() as stack:
        try:
            yield stack
        finally:
            # The server's request log of the run, to read after a failure (build/ is ignored by git).
            SERVER_LOG.parent.mkdir(exist_ok=True)
            SERVER_LOG.write_text(stack.output(), encoding="utf-8")


class Accounts:
    """Registers accounts and logs them (or the seeded admin) in, over HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only, never through a proxy the environment names

    def _post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(self.base_url + path, json=body, timeout=30)

    def login(self, username: str, password: str) -> str:
        reply = self._post(
            "/auth/token", {"grant_type": "password", "username": username, "password": password}
        )
        if reply.status_code != 200:
            raise RuntimeError(f"login as {username!r}: {reply.status_code} {reply.text}")
        return str(reply.json()["access_token"])

    def new_user(self) -> str:
        """Register an account nobody else knows of and return its name."""
        username = f"fuzz-{secrets.token_hex(6)}"
        reply = self._post("/auth/register", {"username": username, "password": USER_PASSWORD})
        if reply.status_code != 201:
            raise RuntimeError(f"register {username!r}: {reply.status_code} {reply.text}")
        return username

    def user_token(self) -> str:
        """The token of an account registered for the caller alone."""
        return self.login(self.new_user(), USER_PASSWORD)

    def admin_token(self) -> str:
        return self.login("admin", ADMIN_PASSWORD)


class Tokens:
    """The bearer header for each request: the seeded admin's token on admin routes, a user's elsewhere.

    A token is kept until a request sent with it gets 401 (the fuzzer ended
    that session, changed the password, disabled the account...).  The next
    request then logs the same account in again; if that fails too (the
    account is disabled or locked out) and ``may_switch_user`` allows it, a
    newly registered user takes over.  Sequences pass ``may_switch_user``
    only on their first step: a note created by one user is another user's
    404, and Schemathesis would rightly call that a lost resource.
    """

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self._tokens: dict[str, str] = {}
        self._user: str | None = None
        self._dead: set[str] = set()

    @staticmethod
    def kind(path: str) -> str:
        return "admin" if path.startswith("/admin/") else "user"

    def _fetch(self, kind: str, may_switch_user: bool) -> str | None:
        if kind == "admin":
            return self.accounts.admin_token()
        if self._user is not None:
            try:
                return self.accounts.login(self._user, USER_PASSWORD)
            except RuntimeError:
                if not may_switch_user:
                    return None
        self._user = self.accounts.new_user()
        return self.accounts.login(self._user, USER_PASSWORD)

    def headers(self, path: str, *, may_switch_user: bool = True) -> dict[str, str]:
        kind = self.kind(path)
        if kind not in self._tokens or kind in self._dead:
            token = self._fetch(kind, may_switch_user)
            if token is not None:
                self._tokens[kind] = token
                self._dead.discard(kind)
        return {"Authorization": f"Bearer {self._tokens[kind]}"}

    def saw(self, path: str, status: int, sent: str | None) -> None:
        kind = self.kind(path)
        if status == 401 and sent is not None and sent == f"Bearer {self._tokens.get(kind)}":
            self._dead.add(kind)


@pytest.fixture(scope="session")
def tokens(accounts: Accounts) -> Tokens:
    return Tokens(accounts)


@pytest.fixture(scope="session")
def accounts(local_stack: LiveStack) -> Iterator[Accounts]:
    made = Accounts(local_stack.base_url)
    yield made
    made.http.close()
