"""Gatehouse: the routes and the custom authorizer.  Views stay thin."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import AuthRequest, AuthResponse, Chalice, Request, Response

from chalicelib import accounts, cors, lifecycle, logs, runtime
from chalicelib.bodies import FORM, JSON, optional_str, read_body, required_str
from chalicelib.config import authorizer_ttl, cors_origin, load_settings
from chalicelib.errors import (
    Forbidden,
    GatehouseError,
    InvalidRequest,
    NotFound,
    UnsupportedGrantType,
    UnsupportedMediaType,
    from_chalice_body,
    render,
)
from chalicelib.notes import NOTE_ID_PATTERN, Note, new_note_id
from chalicelib.passwords import MAX_PASSWORD_LENGTH
from chalicelib.policy import Identity, ProtectedRoute, Unauthorized, auth_response, bearer_token
from chalicelib.sessions import MAX_DEVICE_LENGTH
from chalicelib.tokens import AccessClaims, TokenError, verify_access_token
from chalicelib.users import MAX_USERNAME_INPUT

app = Chalice(app_name="gatehouse")
OAUTH_PATHS = frozenset({"/auth/token", "/auth/revoke"})
MAX_TOKEN_INPUT = 16 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Routes that read no body take any Content-Type: Chalice checks it on every
# method, and would answer 415 to a GET that happens to carry text/plain.
NO_BODY = ["*/*"]
MAX_PAGE = 100

# CORS for pages on another origin (GATEHOUSE_CORS_ORIGIN, read at import like
# the authorizer TTL).  Before the first route and before the error middleware,
# so that it wraps that middleware: error responses get the headers too.
cors.install(app, cors_origin(os.environ))


# -- errors and request logs: the one place errors become responses -----------


@app.middleware("http")
def error_responses(request: Request, get_response: Callable[[Request], Response]) -> Response:
    oauth = request.path in OAUTH_PATHS
    error: GatehouseError | None = None
    try:
        response = get_response(request)
        error = from_chalice_body(response.body) if response.status_code >= 400 else None
        if error is not None:
            error.status = response.status_code
            if "Allow" in response.headers:
                error.headers["Allow"] = str(response.headers["Allow"])
            if isinstance(error, UnsupportedMediaType):
                accepted = app.routes[request.path][request.method].content_types
                error.message = f"Send the body as {' or '.join(accepted)}."
            response = render(error, oauth=oauth)
    except GatehouseError as raised:
        error = raised
        response = render(error, oauth=oauth)
    authorizer = request.context.get("authorizer") or {}
    logs.event(
        "request",
        method=request.method,
        route=request.path,
        status=response.status_code,
        user=authorizer.get("username"),
        error=error.code if error else None,
        detail=error.message if error and error.status >= 500 else None,
        request_id=request.context.get("requestId"),
    )
    return response


# -- the authorizer -------------------------------------------------------------


@app.authorizer(ttl_seconds=authorizer_ttl(os.environ))
def gatehouse_auth(auth_request: AuthRequest) -> AuthResponse:
    where = _route_of(auth_request.method_arn)
    try:
        token = bearer_token(auth_request.token)
        rt = runtime.current()
        now = rt.now()
        claims = verify_access_token(token, rt.keyset, rt.rules, now=now)
        if rt.settings.check_sessions and not _session_is_live(rt, claims, now):
            raise Unauthorized("session_ended")
    except Unauthorized as denied:
        logs.event("authorizer", outcome="deny", reason=denied.reason, route=where)
        raise
    except TokenError as invalid:
        logs.event("authorizer", outcome="deny", reason=invalid.reason, route=where)
        raise Unauthorized(invalid.reason) from None
    except Exception as failure:  # fail closed, whatever went wrong
        logs.event(
            "authorizer", outcome="deny", reason="authorizer_error", error=type(failure).__name__, route=where
        )
        raise Unauthorized("authorizer_error") from None
    logs.event("authorizer", outcome="allow", user=claims.sub, route=where)
    return auth_response(claims, protected_routes())


def _route_of(method_arn: str) -> str | None:
    """``GET /notes/abc`` from ``arn:aws:execute-api:region:acct:api/stage/GET/notes/abc``."""
    parts = str(method_arn).split(":", 5)[-1].split("/", 3)
    if len(parts) < 3:
        return None
    return f"{parts[2]} /{parts[3] if len(parts) > 3 else ''}"[:256]


def _session_is_live(rt: runtime.Runtime, claims: AccessClaims, now: int) -> bool:
    try:
        return rt.session_check.is_live(claims, now)
    except Exception:
        # Fail closed: if the session store cannot be read, nobody gets in.
        raise Unauthorized("session_check_failed") from None


# An alias, not an inline annotation: Chalice's policy generator (chalice package
# with autogen_policy) crashes on annotated module-level assignments.
RouteRoles = dict[tuple[str, str], str | None]
_ROUTE_ROLES: RouteRoles = {}


@functools.cache
def protected_routes() -> tuple[ProtectedRoute, ...]:
    """Every route behind the authorizer, with the role it needs (built once)."""
    table = []
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if entry.authorizer is gatehouse_auth:
                table.append(ProtectedRoute(path, (method,), _ROUTE_ROLES.get((path, method))))
    return tuple(table)


def protected(
    path: str, methods: list[str], role: str | None = None, *, body: bool = False
) -> Callable[..., Any]:
    """A route behind the authorizer; the view gets the caller's ``Identity`` first."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def guarded(**params: str) -> Response:
            identity = current_identity()
            # The gateway already enforced the role; checking again keeps a
            # mis-cached or hand-written policy from opening an admin route.
            if role is not None and role not in identity.roles:
                raise Forbidden()
            return view(identity, **params)

        for method in methods:
            _ROUTE_ROLES[(path, method)] = role
        content_types = [JSON] if body else NO_BODY
        app.route(path, methods=methods, authorizer=gatehouse_auth, content_types=content_types)(guarded)
        return view

    return decorate


def current_request() -> Request:
    request = app.current_request
    assert request is not None
    return request


def current_identity() -> Identity:
    try:
        return Identity.from_context(current_request().context["authorizer"])
    except (KeyError, TypeError):
        # Reached only if a route was deployed without the authorizer.
        raise Forbidden() from None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": JSON, **(headers or {})})


# -- public routes ----------------------------------------------------------------


@app.route("/auth/register", methods=["POST"])
def register() -> Response:
    rt = runtime.current()
    accounts.ensure_signup_open(rt)
    body = read_body(current_request())
    user = accounts.create_user(
        rt,
        required_str(body, "username", max_length=MAX_USERNAME_INPUT),
        required_str(body, "password", max_length=MAX_PASSWORD_LENGTH),
        accounts.DEFAULT_ROLES,
    )
    return json_response({"username": user.username}, 201, NO_STORE)


@app.route("/auth/token", methods=["POST"], content_types=[JSON, FORM])
def token() -> Response:
    rt = runtime.current()
    body = read_body(current_request(), allow_form=True)
    grant_type = required_str(body, "grant_type", max_length=64)
    if grant_type == "password":
        grant = accounts.password_login(
            rt,
            required_str(body, "username", max_length=MAX_USERNAME_INPUT),
            # Length past the policy maximum cannot match; refusing it early
            # also keeps huge inputs away from argon2.
            required_str(body, "password", max_length=MAX_PASSWORD_LENGTH),
            optional_str(body, "device", max_length=MAX_DEVICE_LENGTH) or "",
        )
    elif grant_type == "refresh_token":
        grant = lifecycle.refresh(rt, required_str(body, "refresh_token", max_length=MAX_TOKEN_INPUT))
    else:
        raise UnsupportedGrantType()
    return json_response(grant.body(), 200, NO_STORE)


@app.route("/auth/revoke", methods=["POST"], content_types=[JSON, FORM])
def revoke() -> Response:
    body = read_body(current_request(), allow_form=True)
    value = required_str(body, "token", max_length=MAX_TOKEN_INPUT)
    optional_str(body, "token_type_hint", max_length=64)  # a hint only (RFC 7009 section 2.1)
    lifecycle.revoke(runtime.current(), value)
    return json_response({}, 200, NO_STORE)


@app.route("/.well-known/jwks.json", methods=["GET"], content_types=NO_BODY)
def jwks() -> Response:
    return json_response(runtime.current().keyset.jwks(), 200, {"Cache-Control": "public, max-age=300"})


# -- protected routes ---------------------------------------------------------------


@protected("/me", methods=["GET"])
def me(identity: Identity) -> Response:
    return json_response({"username": identity.username, "roles": list(identity.roles)})


def _note_text(rt: runtime.Runtime) -> str:
    body = read_body(current_request())
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest("text is required: a non-empty string.")
    if len(text) > rt.settings.max_note_length:
        raise InvalidRequest(f"text must be at most {rt.settings.max_note_length} characters.")
    return text


def _note_id(raw: str) -> str:
    # Anything that is not one of our ids cannot name a note: 404, like a
    # note that belongs to somebody else.
    if not NOTE_ID_PATTERN.fullmatch(raw):
        raise NotFound("No such note.")
    return raw


@protected("/notes", methods=["GET"])
def list_notes(identity: Identity) -> Response:
    # Pages keep every answer far below Lambda's 6 MB response limit
    # (100 notes of 10,000 characters are about 1 MB).
    params: Mapping[str, str] = current_request().query_params or {}
    limit = _page_limit(params.get("limit"))
    cursor = params.get("cursor")
    if cursor is not None and not NOTE_ID_PATTERN.fullmatch(cursor):
        raise InvalidRequest("cursor is not valid: use the one from the Link header.")
    notes, following = runtime.current().notes.list_page(identity.username, limit, cursor)
    headers = {}
    if following is not None:
        headers["Link"] = f'</notes?limit={limit}&cursor={following}>; rel="next"'
    return json_response([n.public() for n in notes], 200, headers)


def _page_limit(raw: str | None) -> int:
    if raw is None:
        return MAX_PAGE
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_PAGE}.")
    return int(raw)


@protected("/notes", methods=["POST"], body=True)
def create_note(identity: Identity) -> Response:
    rt = runtime.current()
    text = _note_text(rt)
    now = rt.clock()
    note = Note(
        owner=identity.username,
        note_id=new_note_id(int(now * 1000)),
        text=text,
        created_at=int(now),
        updated_at=int(now),
    )
    rt.notes.create(note)
    return json_response(note.public(), 201)


@protected("/notes/{note_id}", methods=["GET"])
def get_note(identity: Identity, note_id: str) -> Response:
    return json_response(runtime.current().notes.get(identity.username, _note_id(note_id)).public())


@protected("/notes/{note_id}", methods=["PUT"], body=True)
def update_note(identity: Identity, note_id: str) -> Response:
    rt = runtime.current()
    note_id = _note_id(note_id)
    note = rt.notes.update(identity.username, note_id, _note_text(rt), rt.now())
    return json_response(note.public())


@protected("/notes/{note_id}", methods=["DELETE"])
def delete_note(identity: Identity, note_id: str) -> Response:
    runtime.current().notes.delete(identity.username, _note_id(note_id))
    return Response(body="", status_code=204)


@protected("/auth/sessions", methods=["GET"])
def list_sessions(identity: Identity) -> Response:
    return json_response(lifecycle.list_sessions(runtime.current(), identity), 200, NO_STORE)


@protected("/auth/sessions", methods=["DELETE"])
def end_all_sessions(identity: Identity) -> Response:
    lifecycle.end_all_sessions(runtime.current(), identity.username)
    return Response(body="", status_code=204)


@protected("/auth/sessions/{session_id}", methods=["DELETE"])
def end_session(identity: Identity, session_id: str) -> Response:
    lifecycle.end_session(runtime.current(), identity, session_id)
    return Response(body="", status_code=204)


@protected("/auth/password", methods=["POST"], body=True)
def change_password(identity: Identity) -> Response:
    body = read_body(current_request())
    accounts.change_password(
        runtime.current(),
        identity,
        required_str(body, "current_password", max_length=MAX_PASSWORD_LENGTH),
        required_str(body, "new_password", max_length=MAX_PASSWORD_LENGTH),
    )
    return Response(body="", status_code=204)


@protected("/admin/users", methods=["GET"], role="admin")
def admin_users(identity: Identity) -> Response:
    return json_response([u.public() for u in runtime.current().users.list()])


@protected("/admin/users/{username}/disable", methods=["POST"], role="admin")
def admin_disable_user(identity: Identity, username: str) -> Response:
    accounts.set_disabled(runtime.current(), username, True)
    return Response(body="", status_code=204)


@protected("/admin/users/{username}/enable", methods=["POST"], role="admin")
def admin_enable_user(identity: Identity, username: str) -> Response:
    accounts.set_disabled(runtime.current(), username, False)
    return Response(body="", status_code=204)


# -- dev demo page: 404 unless GATEHOUSE_DEMO_PAGE is on (chalicelib/demo.py) --------


@app.route("/", methods=["GET"], content_types=NO_BODY)
def demo_page() -> Response:
    from chalicelib import demo  # dev only: keeps pathlib off the authorizer's cold start

    return demo.asset(runtime.current().settings, demo.INDEX)


@app.route("/client/{name}", methods=["GET"], content_types=NO_BODY)
def demo_asset(name: str) -> Response:
    from chalicelib import demo  # dev only: keeps pathlib off the authorizer's cold start

    return demo.asset(runtime.current().settings, name)


# The API handler sets GATEHOUSE_PRELOAD_SIGNING_KEY so that a key that cannot
# be loaded fails the cold start with a message naming the setting, instead of
# a 500 on every login.  The authorizer never sets it: it holds no private key.
# Settings are read here without caching them: `make run` imports this module
# before the local stack has published its keys.  Only inside Lambda: `chalice
# package` imports this module with the API handler's variables too.
if "AWS_LAMBDA_FUNCTION_NAME" in os.environ and load_settings(os.environ).preload_signing_key:
    runtime.current().signing_key  # noqa: B018

# Local development: the dev stage sets GATEHOUSE_EMBEDDED_AWS, so that plain
# `chalice local` gets the embedded AWS, tables, dev key, seeded users and gateway
# parity of `make run`.  Never inside Lambda, which does not ship gatehouse_dev.
if os.environ.get("GATEHOUSE_EMBEDDED_AWS") and "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
    from gatehouse_dev.embedded import start_if_wanted

    start_if_wanted(os.environ)


# -- the API description: openapi.yaml, shipped as chalicelib/openapi.json ----------


@app.route("/openapi.json", methods=["GET"], content_types=NO_BODY)
def openapi_description() -> Response:
    from chalicelib import openapi

    return Response(body=openapi.description_text(), status_code=200, headers=dict(openapi.HEADERS))
