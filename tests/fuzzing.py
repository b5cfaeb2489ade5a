"""What the property-based fuzz tests share: the world they poke at, the property every answer
must have, and the strategies that draw requests.

Every text strategy draws from the whole code-point range, lone surrogates
(U+D800 to U+DFFF) included, which ``st.text()`` never makes: such a string
sent in a JSON body (as a ``\\ud800`` escape), a form body, a path or a query
parameter must be a 400, never a 5xx.  Header values stay in what HTTP can carry.

The tests: tests/test_fuzz.py (public routes) and tests/test_fuzz_protected.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from app import notes_table
from chalicelib.notes.repository import Note, NoteRepository, new_note_id
from gatehouse.accounts import sessions as lifecycle
from gatehouse.dev import gateway
from gatehouse.errors import GatehouseError, TooManyAttempts
from gatehouse.services import Services
from gatehouse.storage.users import User
from gatehouse.web.responses import rendering_of
from tests.conftest import DEFAULT_PASSWORD

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
OAUTH_PATHS = frozenset({"/auth/token", "/auth/revoke"})
# A character no route has any reason to send back: a password holding it must never come back,
# however short.  (Bodies are checked after JSON decoding, so an escaped echo is caught too.)
CANARY = "\u2603"


def _codes(cls: type[GatehouseError] = GatehouseError) -> set[str]:
    own = {cls.code, rendering_of(cls()).oauth_code} if cls is not TooManyAttempts else {cls.code}
    return own.union(*(_codes(sub) for sub in cls.__subclasses__()))


# Every error code a client may see: Gatehouse's own and the gateway's (401/403 before any view).
ERROR_CODES = frozenset(
    _codes()
    | {
        kind[1]["error"]
        for kind in (gateway.MISSING_TOKEN, gateway.INVALID_TOKEN, gateway.INSUFFICIENT_SCOPE)
    }
)

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- the world the fuzzer pokes at --------------------------------------------------------


@dataclass
class World:
    client: Any
    rt: Services
    user: User
    admin: User
    clock: Any
    password: str = DEFAULT_PASSWORD
    tokens: dict[bool, str] = field(default_factory=dict)
    note: str | None = None

    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.tokens.clear()  # expired now

    def _fresh(self, username: str) -> User:
        # Read again: an example may have changed the password (a new credential
        # version), and a session opens only for the user as it is now.
        user = self.rt.users.get(username)
        assert user is not None
        return user

    def token(self, *, admin: bool = False) -> str:
        """A valid access token; a new session only once an example may have ended the last one."""
        if admin not in self.tokens:
            name = self.admin.username if admin else self.user.username
            self.tokens[admin] = lifecycle.open_session(self.rt, self._fresh(name), "fuzz").access_token
        return self.tokens[admin]

    def refresh_token(self) -> str:
        # Another account's: its sessions past the per-user cap end the oldest,
        # which must never be the ones ``token`` keeps.
        return lifecycle.open_session(self.rt, self._fresh("fuzz-other"), "fuzz").refresh_token

    def note_id(self) -> str:
        """One of the fuzz user's own notes, so the note views get past their lookup (kept to one,
        so listing stays cheap)."""
        if self.note is None:
            self.note = new_note_id(int(self.rt.clock() * 1000))
            now = self.rt.now()
            NoteRepository(notes_table.table()).create(
                Note(self.user.username, self.note, "a note", now, now)
            )
        return self.note

    def send(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        passwords: Iterable[Any] = (),
    ) -> Any:
        response = self.client.http.request(method, path, headers=headers or {}, body=body)
        check(response, oauth=path in OAUTH_PATHS, passwords=passwords)
        if response.status_code < 300 and method != "GET" and not path.startswith("/notes"):
            self.tokens.clear()  # sessions may have ended: revoke, log out, password change, disable
        if response.status_code == 204 and method == "DELETE" and path == f"/notes/{self.note}":
            self.note = None
        return response


def cheap_runtime(make_runtime: Callable[..., Services]) -> Services:
    # Password hashing strength is not under test: the cheapest argon2 keeps
    # hundreds of examples inside the budget.
    return make_runtime(argon2_time_cost=1, argon2_memory_kib=64)


def make_world(rt: Services, client: Any, make_user: Callable[..., Any], clock: Any) -> World:
    make_user("fuzz-user")
    make_user("fuzz-admin", roles=("admin", "user"))
    make_user("fuzz-other")
    user, admin = rt.users.get("fuzz-user"), rt.users.get("fuzz-admin")
    assert user is not None
    assert admin is not None
    return World(client, rt, user, admin, clock)


# -- the property ----------------------------------------------------------------------------


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _leaks(password: Any, text: str, echoed: str) -> bool:
    if not isinstance(password, str) or not password or password in echoed:
        return False  # an echoed username that holds the password says nothing
    if CANARY in password:
        return CANARY in text and CANARY not in echoed
    return len(password) >= 12 and password in text  # shorter ones could be any word of a message


def check(response: Any, *, oauth: bool, passwords: Iterable[Any] = (), echoed: str = "") -> None:
    raw = response.body if isinstance(response.body, bytes) else str(response.body).encode()
    text = raw.decode("utf-8", "replace")
    status = response.status_code
    event(f"status {status}")  # the spread shows with --hypothesis-show-statistics
    assert status < 500, text
    assert "Traceback" not in text
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError:
        decoded = None
    everything = "\n".join([text, *_strings(decoded)])
    leaked = [p for p in passwords if _leaks(p, everything, echoed)]
    assert not leaked, f"a password came back in the body: {text}"
    if 200 <= status < 300:
        if status == 204:
            assert raw == b""
        elif str(response.headers.get("Content-Type", JSON)).startswith(JSON):
            json.loads(raw)
        return
    assert isinstance(decoded, dict), text
    assert str(response.headers.get("Content-Type", "")).startswith(JSON), response.headers
    expected = {"error", "error_description"} if oauth else {"error", "message"}
    assert set(decoded) == expected, text
    assert decoded["error"] in ERROR_CODES, text
    assert all(isinstance(value, str) and value for value in decoded.values()), text


# -- strategies ----------------------------------------------------------------------------------

# Every code point, lone surrogates included (``st.text()`` alone never draws them).
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=())
texts = st.text(ANY_CHARACTER, max_size=40) | st.builds(
    lambda a, s, b: a + s + b, st.text(max_size=8), SURROGATES, st.text(max_size=8)
)
# What an HTTP header can carry (the test client refuses anything else before sending it).
header_texts = st.text(max_size=40)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | texts
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=8,
)
# Fields are string strategies; JSON bodies also get any other JSON value in their place.
password_texts = st.one_of(
    st.builds(lambda a, b: a + CANARY + b, st.text(ANY_CHARACTER, max_size=8), st.text(max_size=8)),
    texts,
    st.just(DEFAULT_PASSWORD),
    st.text(ANY_CHARACTER, min_size=129, max_size=300),
)
username_texts = st.one_of(
    st.sampled_from(["fuzz-user", " FUZZ-User ", "fuzz-admin", "demo"]),
    st.from_regex(r"[a-z0-9][a-z0-9_.-]{2,20}", fullmatch=True),
    texts,
)
content_types = st.one_of(
    st.sampled_from(
        [
            JSON,
            FORM,
            f"{JSON}; charset=utf-8",
            f"{FORM}; charset=ISO-8859-1",
            "APPLICATION/JSON",
            "application/vnd.api+json",
            "text/plain, application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/octet-stream",
            "*/*",
            "",
            ";",
        ]
    ),
    header_texts,
)


@st.composite
def raw_bodies(draw: st.DrawFn) -> bytes:
    """A body that is not what the route wants: junk, huge, deeply nested, non-UTF-8, not an object."""
    kind = draw(st.sampled_from(["binary", "text", "deep", "huge", "bignum", "repeated", "json"]))
    if kind == "binary":
        return draw(st.binary(max_size=64))
    if kind == "text":  # a lone surrogate goes out as the three bytes UTF-8 forbids
        return draw(texts).encode("utf-8", "surrogatepass")
    if kind == "repeated":  # a repeated key: which one would "win" is not for the server to guess
        key = json.dumps(draw(st.sampled_from(["username", "password", "text", "grant_type"]) | texts))
        return f'{{{key}: {json.dumps(draw(json_values))}, {key}: "second"}}'.encode()
    if kind == "deep":
        depth = draw(st.integers(1, 50_000))
        return b"[" * depth + b"]" * depth
    if kind == "huge":
        return b'{"text": "' + b"x" * draw(st.integers(60_000, 70_000)) + b'"}'
    if kind == "bignum":  # past Python's 4300-digit int parsing limit
        return b'{"text": 1' + b"0" * draw(st.integers(4_000, 5_000)) + b"}"
    return json.dumps(draw(json_values)).encode()


Fields = dict[str, st.SearchStrategy[str]]


def json_body(draw: st.DrawFn, fields: Fields, *, careful: bool = False) -> tuple[bytes, dict[str, Any]]:
    """A JSON object and the object sent.

    Careless (the default): some of ``fields``, at times any JSON value in their
    place, extra members, and in one case of five a raw body instead.  Careful:
    every field, as its strategy draws it, and nothing else.
    """
    if not careful and draw(st.integers(0, 4)) == 0:
        return draw(raw_bodies()), {}
    body: dict[str, Any] = {} if careful else draw(st.dictionaries(texts, json_values, max_size=2))
    for name, values in fields.items():
        if careful:
            body[name] = draw(values)
        elif draw(st.integers(0, 3)):
            body[name] = draw(values | json_values) if draw(st.integers(0, 3)) == 0 else draw(values)
    return json.dumps(body).encode(), body


def form_body(
    draw: st.DrawFn, fields: Fields, *, careful: bool = False
) -> tuple[bytes, list[tuple[str, str]]]:
    """A form body and the pairs sent; careless ones drop fields, add and repeat some, or are binary."""
    if careful:
        pairs = [(name, draw(values)) for name, values in fields.items()]
        return urlencode(pairs, errors="surrogatepass").encode(), pairs
    pairs = [(name, draw(values)) for name, values in fields.items() if draw(st.integers(0, 3))]
    pairs += draw(st.lists(st.tuples(texts, texts), max_size=2))
    if pairs and draw(st.integers(0, 4)) == 0:
        pairs.append(pairs[0])
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=64)), pairs  # not even a form
    return urlencode(pairs, errors="surrogatepass").encode(), pairs


def request_headers(draw: st.DrawFn, default: str, *, careful: bool = False) -> dict[str, str]:
    """Mostly the right Content-Type; sometimes none, sometimes anything; sometimes an Authorization."""
    if careful:
        return {"Content-Type": default}
    headers: dict[str, str] = {}
    choice = draw(st.integers(0, 5))
    if choice > 1:
        headers["Content-Type"] = default
    elif choice == 1:
        headers["Content-Type"] = draw(content_types)
    if draw(st.integers(0, 3)) == 0:
        headers["Authorization"] = draw(authorization_values)
    return headers


authorization_values = st.one_of(
    header_texts,
    st.builds(lambda t: "Bearer " + t, header_texts),
    st.builds(lambda a, b, c: f"Bearer {a}.{b}.{c}", header_texts, header_texts, header_texts),
    st.sampled_from(["Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "bearer a.b.c", "Bearer  x", "Bearer\tx"]),
)


def mutated(token: str, draw: st.DrawFn) -> str:
    """A real token with a slice replaced by fuzz."""
    start = draw(st.integers(0, len(token)))
    end = draw(st.integers(start, min(len(token), start + 8)))
    return token[:start] + draw(st.text(max_size=8)) + token[end:]


# Careful requests are well formed, so the success paths get fuzzed as well as the refusals.
good_passwords = st.builds(
    lambda a, b: a + CANARY + b, st.text(min_size=4, max_size=8), st.text(min_size=4, max_size=30)
)
