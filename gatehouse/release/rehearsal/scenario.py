"""The end-to-end scenario the rehearsal runs over HTTP against the local gateway.

A user's life, as a client sees it through the deployed API: register,
verify the address with the code SES delivered (read from moto's SES
backend), log in, use the example app's notes (when the API has them), refresh, list and end
sessions, be refused an admin route and let an admin use it, change the
password and the address, reset a forgotten password, log out everywhere,
delete the account (the app's hook must remove its notes), and the gateway's
own answers (401, 403, 404, CORS preflights).  Each step names what it
expects; the first surprise stops the scenario with a line saying which
step, what came back, and what the functions reported meanwhile.

Every Lambda route of the API the steps did not reach is then called once
more (path parameters filled in, an admin's token where the route is
protected): it must answer without a 5xx and without an IAM refusal.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

ORIGIN = "https://app.example.com"
PASSWORD = "Quiet-Harbor-31-lantern"  # noqa: S105 (the rehearsal user's, in moto only)
# Reset codes come grouped (XXXX-XXXX-XXXX); verification codes are one group.
CODE_IN_MAIL = re.compile(r"<strong>([0-9A-Z][0-9A-Z-]*)</strong>")


class ScenarioFailed(Exception):
    """A step got an answer it did not expect; the message names the step.

    Not a :class:`~gatehouse.errors.GatehouseError`: a build step's refusal, never a request's.
    """


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text.strip() else None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Http:
    base: str
    sent: list[str] = field(default_factory=list)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        url = urlsplit(self.base)
        connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
        sent = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        try:
            connection.request(method, url.path + path, body=payload, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            return Answer(response.status, dict(response.getheaders()), text)
        finally:
            connection.close()


class Mailbox:
    """What moto's SES backend sent (the moto server runs in this process)."""

    def __init__(self, account_id: str, region: str) -> None:
        from moto.ses.models import ses_backends

        self._backend = ses_backends[account_id][region]

    def last_code(self, address: str) -> str:
        messages = [
            m
            for m in self._backend.sent_messages
            if address in getattr(m, "destinations", {}).get("ToAddresses", ())
        ]
        if not messages:
            raise ScenarioFailed(
                f"no mail reached {address}: did the auth function send it (SES grant, sender)?"
            )
        found = CODE_IN_MAIL.search(messages[-1].body)
        if found is None:
            raise ScenarioFailed(f"the last mail to {address} holds no code")
        return found.group(1)


@dataclass
class Scenario:
    http: Http
    mailbox: Mailbox
    admin: tuple[str, str]  # the first admin the admin CLI made: username, password
    # Returns every item of the app's own tables (those not named by the auth function's variables).
    app_items: Callable[[], list[Mapping[str, Any]]]
    # Called after each step: raises ScenarioFailed with what the functions reported.
    after_step: Callable[[str], None]
    cors_on: bool = True
    notes_app: bool = True  # the API has the example app's /notes routes
    steps: int = 0

    def expect(self, step: str, answer: Answer, *statuses: int) -> Answer:
        self.steps += 1
        if answer.status not in statuses:
            raise ScenarioFailed(
                f"step '{step}': expected {' or '.join(map(str, statuses))}, "
                f"got {answer.status} {answer.text[:300]}"
            )
        self.after_step(step)
        return answer

    def login(self, username: str, password: str) -> dict[str, Any]:
        grant = {"grant_type": "password", "username": username, "password": password}
        tokens: dict[str, Any] = self.expect(
            f"log in as {username}", self.http.call("POST", "/auth/token", grant), 200
        ).json()
        return tokens

    def run(self) -> None:
        call, expect = self.http.call, self.expect
        # The gateway's own answers, before any function runs.
        missing = expect("no token on a protected route", call("GET", "/me"), 401)
        if "invalid_token" not in (missing.header("WWW-Authenticate") or ""):
            raise ScenarioFailed("step 'no token on a protected route': no WWW-Authenticate invalid_token")
        malformed = "not-a-token"
        expect("a malformed token", call("GET", "/me", token=malformed), 401)
        expect("a route that does not exist", call("GET", "/no/such/route"), 404, 403)
        if self.cors_on:
            preflight = expect(
                "CORS preflight from a listed origin",
                call(
                    "OPTIONS",
                    "/auth/token",
                    headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
                ),
                200,
                204,
            )
            if preflight.header("Access-Control-Allow-Origin") != ORIGIN:
                raise ScenarioFailed(
                    "CORS preflight: Access-Control-Allow-Origin is "
                    f"{preflight.header('Access-Control-Allow-Origin')!r}"
                )
            other = call("OPTIONS", "/auth/token", headers={"Origin": "https://evil.example"})
            if other.header("Access-Control-Allow-Origin"):
                raise ScenarioFailed("CORS preflight: an unlisted origin was allowed")
        expect("public keys", call("GET", "/.well-known/jwks.json"), 200)
        expect("the API description", call("GET", "/openapi.json"), 200)

        # A new user.
        user = "rehearsal-" + secrets.token_hex(3)
        address = f"{user}@example.com"
        expect(
            "register",
            call("POST", "/auth/register", {"username": user, "password": PASSWORD, "email": address}),
            201,
        )
        code = self.mailbox.last_code(address)
        expect(
            "verify the address", call("POST", "/auth/email/verify", {"username": user, "code": code}), 204
        )
        expect(
            "a wrong password",
            call(
                "POST",
                "/auth/token",
                {"grant_type": "password", "username": user, "password": "Not-the-password-1"},
            ),
            400,
        )
        tokens = self.login(user, PASSWORD)
        access = tokens["access_token"]
        me = expect("who am I", call("GET", "/me", token=access), 200).json()
        if me.get("username") != user:
            raise ScenarioFailed(f"step 'who am I': /me says {me!r}")

        # The example app's own protected routes (a project without them gets its routes probed).
        if self.notes_app:
            self._notes(access)

        # Refresh and sessions.
        refreshed = expect(
            "refresh",
            call(
                "POST",
                "/auth/token",
                {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            ),
            200,
        ).json()
        access = refreshed["access_token"]
        self.login(user, PASSWORD)  # a second device
        sessions = expect("list sessions", call("GET", "/auth/sessions", token=access), 200).json()
        others = [s["id"] for s in sessions if not s.get("current")]
        if not others:
            raise ScenarioFailed(f"step 'list sessions': no other session in {sessions!r}")
        expect("end another session", call("DELETE", f"/auth/sessions/{others[0]}", token=access), 204)

        # Roles: refused for a user, allowed for an admin.
        denied = expect("an admin route with a user's token", call("GET", "/admin/users", token=access), 403)
        if "insufficient_scope" not in (denied.header("WWW-Authenticate") or ""):
            raise ScenarioFailed("step 'an admin route with a user's token': no insufficient_scope challenge")
        admin_access = self.login(*self.admin)["access_token"]
        users = expect("list users as admin", call("GET", "/admin/users", token=admin_access), 200).json()
        if user not in json.dumps(users):
            raise ScenarioFailed(f"step 'list users as admin': {user} is not listed")
        expect("disable the user", call("POST", f"/admin/users/{user}/disable", token=admin_access), 204)
        expect(
            "a disabled user cannot log in",
            call("POST", "/auth/token", {"grant_type": "password", "username": user, "password": PASSWORD}),
            400,
            401,
            403,
        )
        expect("enable the user", call("POST", f"/admin/users/{user}/enable", token=admin_access), 204)
        expect("unlock the user", call("POST", f"/admin/users/{user}/unlock", token=admin_access), 204)

        # Password and address changes, a forgotten password.
        access = self.login(user, PASSWORD)["access_token"]
        changed = "Brisk-Meadow-77-copper"
        expect(
            "change the password",
            call("POST", "/auth/password", {"current_password": PASSWORD, "new_password": changed}, access),
            204,
        )
        access = self.login(user, changed)["access_token"]
        moved = f"{user}-moved@example.com"
        expect(
            "change the address",
            call("POST", "/auth/email", {"current_password": changed, "email": moved}, access),
            204,
        )
        code = self.mailbox.last_code(moved)
        expect(
            "verify the new address",
            call("POST", "/auth/email/verify", {"username": user, "code": code}),
            204,
        )
        expect("forgot the password", call("POST", "/auth/password/forgot", {"username": user}), 202)
        expect(
            "forgot, for nobody", call("POST", "/auth/password/forgot", {"email": "nobody@example.com"}), 202
        )
        reset = "Orchid-Canyon-31-harbor"
        code = self.mailbox.last_code(moved)
        expect(
            "reset the password",
            call("POST", "/auth/password/reset", {"username": user, "code": code, "new_password": reset}),
            204,
        )
        tokens = self.login(user, reset)
        expect(
            "revoke a refresh token", call("POST", "/auth/revoke", {"token": tokens["refresh_token"]}), 200
        )
        expect(
            "a revoked refresh token",
            call(
                "POST",
                "/auth/token",
                {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            ),
            400,
        )

        # Logging out everywhere ends every refresh token.
        tokens = self.login(user, reset)
        expect("log out everywhere", call("DELETE", "/auth/sessions", token=tokens["access_token"]), 204)
        expect(
            "refresh after logging out everywhere",
            call(
                "POST",
                "/auth/token",
                {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            ),
            400,
        )

        # A second factor: enrolled, asked for at login, reset by the admin.
        self._second_factor(user, reset, admin_access)

        # Deleting the account runs the app's hook: its notes go with it.
        access = self.login(user, reset)["access_token"]
        owner = {user, *(str(v) for k, v in me.items() if k in ("sub", "account_id"))}
        if self.notes_app and not self._mentions(owner):
            raise ScenarioFailed("before deleting the account: no item of the app's tables belongs to it")
        expect(
            "delete the account",
            call("POST", "/auth/account/delete", {"current_password": reset}, access),
            204,
        )
        left = self._mentions(owner)
        if left:
            raise ScenarioFailed(
                f"after deleting the account: {len(left)} item(s) of the app's tables still belong to it"
            )
        expect(
            "a deleted account cannot log in",
            call("POST", "/auth/token", {"grant_type": "password", "username": user, "password": reset}),
            400,
        )

    def _second_factor(self, user: str, password: str, admin_access: str) -> None:
        """The factor's routes through the deployed shape: the auth function reads the MFA data key
        (its role's grant), the password grant's 403 ``mfa_required`` passes the gateway as it is."""
        import pyotp  # the user's authenticator app, computing codes from the secret

        call, expect = self.http.call, self.expect
        access = self.login(user, password)["access_token"]
        enrolment = expect(
            "start adding a second factor",
            call("POST", "/auth/mfa/totp", {"current_password": password}, access),
            200,
        ).json()
        app = pyotp.TOTP(enrolment["secret"])
        codes = expect(
            "turn the second factor on",
            call("POST", "/auth/mfa/totp/confirm", {"code": app.now()}, access),
            200,
        ).json()["recovery_codes"]
        grant = {"grant_type": "password", "username": user, "password": password}
        challenge = expect("a password alone", call("POST", "/auth/token", grant), 403).json()
        if challenge.get("error") != "mfa_required" or set(challenge) != {"error", "mfa_token"}:
            raise ScenarioFailed(f"step 'a password alone': {sorted(challenge)} instead of the challenge")
        finished = expect(
            "finish the login with a code",
            call(
                "POST",
                "/auth/token",
                {
                    "grant_type": "urn:gatehouse:grant-type:mfa-otp",
                    "mfa_token": challenge["mfa_token"],
                    "otp": app.at(time.time() + 30),  # the next step's: this step's code is spent
                },
            ),
            200,
        ).json()
        expect("who am I after a second factor", call("GET", "/me", token=finished["access_token"]), 200)
        users = expect("list users as admin", call("GET", "/admin/users", token=admin_access), 200).json()
        if not any(u.get("username") == user and u.get("mfa") is True for u in users):
            raise ScenarioFailed(f"step 'list users as admin': {user} is not shown with a factor")
        expect(
            "an admin removes the second factor",
            call("POST", f"/admin/users/{user}/mfa/reset", token=admin_access),
            204,
        )
        if len(codes) != 10:
            raise ScenarioFailed(f"step 'turn the second factor on': {len(codes)} recovery codes")

    def _notes(self, access: str) -> None:
        call, expect = self.http.call, self.expect
        note = expect("create a note", call("POST", "/notes", {"text": "rehearsed"}, access), 201).json()
        note_id = note["id"]
        expect("list notes", call("GET", "/notes", token=access), 200)
        expect("read a note", call("GET", f"/notes/{note_id}", token=access), 200)
        expect("update a note", call("PUT", f"/notes/{note_id}", {"text": "again"}, access), 200)
        expect("delete a note", call("DELETE", f"/notes/{note_id}", token=access), 204)
        expect(
            "create the note that goes with the account",
            call("POST", "/notes", {"text": "mine"}, access),
            201,
        )

    def _mentions(self, owner: set[str]) -> list[Mapping[str, Any]]:
        return [item for item in self.app_items() if owner & {str(v) for v in item.values()}]

    def probe(
        self, routes: list[tuple[str, str]], admin_token: Callable[[], str], protected: set[tuple[str, str]]
    ) -> list[str]:
        """Call each route once more; returns the requests made."""
        made = []
        for method, path in routes:
            concrete = re.sub(r"\{[^}]+\}", "rehearsal", path)
            token = admin_token() if (method, path) in protected else None
            body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
            answer = self.http.call(method, concrete, body, token)
            self.expect(f"probe {method} {path}", answer, *[s for s in range(200, 500)])
            made.append(f"{method} {path} -> {answer.status}")
        return made
