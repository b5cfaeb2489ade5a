"""Gatehouse's own HTTP routes: short views over the accounts layer.

Each view reads its input, calls one use case and shapes the answer; errors
are rendered by :mod:`gatehouse.web.responses`.  The component
(:class:`gatehouse.Gatehouse`) registers them on the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from chalice.app import Response

from gatehouse import runtime
from gatehouse.accounts import activity, admin, deletion, email_address, login, profile, recovery, signup
from gatehouse.accounts import sessions as lifecycle
from gatehouse.accounts.codes import MAX_CODE_INPUT
from gatehouse.accounts.devices import MAX_DEVICE_TOKEN_INPUT
from gatehouse.accounts.emails import MAX_EMAIL_INPUT
from gatehouse.accounts.passwords import MAX_PASSWORD_LENGTH
from gatehouse.accounts.usernames import MAX_USERNAME_INPUT, USERNAME_PATTERN
from gatehouse.errors import InvalidRequest, UnsupportedGrantType
from gatehouse.roles import ADMIN, DEFAULT_ROLES
from gatehouse.storage.sessions import MAX_DEVICE_LENGTH
from gatehouse.verify.identity import Identity
from gatehouse.verify.tokens import MAX_TOKEN_INPUT
from gatehouse.web.bodies import FORM, JSON, NO_BODY, optional_str, read_body, required_str
from gatehouse.web.responses import NO_STORE

if TYPE_CHECKING:
    from gatehouse.component import Gatehouse

MAX_PAGE = 100


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        body=body, status_code=status, headers={"Content-Type": JSON, **NO_STORE, **(headers or {})}
    )


def no_content() -> Response:
    return Response(body="", status_code=204, headers=dict(NO_STORE))


def register(gate: Gatehouse, *, admin_routes: bool) -> None:
    public = gate.public_route
    protected = gate.route

    @public("/auth/register", methods=["POST"])
    def register_user() -> Response:
        signup.ensure_signup_open(gate.signup_open())
        rt = runtime.current()
        body = read_body(gate.request())
        username = required_str(body, "username", max_length=MAX_USERNAME_INPUT)
        password = required_str(body, "password", max_length=MAX_PASSWORD_LENGTH)
        # Present means given: null or "" is a malformed address, not "none".
        email = required_str(body, "email", max_length=MAX_EMAIL_INPUT) if "email" in body else None
        if rt.settings.require_email and email is None:
            raise InvalidRequest("email is required.")
        user = signup.create_user(rt, username, password, DEFAULT_ROLES, email)
        return json_response({"username": user.username}, 201)

    @public("/auth/email/verify", methods=["POST"])
    def verify_email() -> Response:
        body = read_body(gate.request())
        email_address.verify_email(
            runtime.current(),
            required_str(body, "username", max_length=MAX_USERNAME_INPUT),
            required_str(body, "code", max_length=MAX_CODE_INPUT),
        )
        return no_content()

    @public("/auth/password/forgot", methods=["POST"])
    def forgot_password() -> Response:
        body = read_body(gate.request())
        if ("username" in body) == ("email" in body):
            raise InvalidRequest("Send either username or email.")
        recovery.forgot_password(
            runtime.current(),
            required_str(body, "username", max_length=MAX_USERNAME_INPUT) if "username" in body else None,
            required_str(body, "email", max_length=MAX_EMAIL_INPUT) if "email" in body else None,
        )
        return json_response({}, 202)

    @public("/auth/password/reset", methods=["POST"])
    def reset_password() -> Response:
        body = read_body(gate.request())
        recovery.reset_password(
            runtime.current(),
            required_str(body, "username", max_length=MAX_USERNAME_INPUT),
            required_str(body, "code", max_length=MAX_CODE_INPUT),
            required_str(body, "new_password", max_length=MAX_PASSWORD_LENGTH),
        )
        return no_content()

    @public("/auth/token", methods=["POST"], content_types=[JSON, FORM], oauth=True)
    def token() -> Response:
        rt = runtime.current()
        body = read_body(gate.request(), allow_form=True)
        grant_type = required_str(body, "grant_type", max_length=64)
        if grant_type == "password":
            grant = login.password_login(
                rt,
                required_str(body, "username", max_length=MAX_USERNAME_INPUT),
                # Longer than the policy allows cannot match; refusing it early
                # also keeps huge inputs away from argon2.
                required_str(body, "password", max_length=MAX_PASSWORD_LENGTH),
                optional_str(body, "device", max_length=MAX_DEVICE_LENGTH) or "",
                # An unusable device token is no error: the attempt then counts against the name.
                optional_str(body, "device_token", max_length=MAX_DEVICE_TOKEN_INPUT),
            )
        elif grant_type == "refresh_token":
            grant = lifecycle.refresh(rt, required_str(body, "refresh_token", max_length=MAX_TOKEN_INPUT))
        else:
            raise UnsupportedGrantType()
        return json_response(grant.body())

    @public("/auth/revoke", methods=["POST"], content_types=[JSON, FORM], oauth=True)
    def revoke() -> Response:
        body = read_body(gate.request(), allow_form=True)
        value = required_str(body, "token", max_length=MAX_TOKEN_INPUT)
        optional_str(body, "token_type_hint", max_length=64)  # a hint only (RFC 7009 section 2.1)
        lifecycle.revoke(runtime.current(), value)
        return json_response({})

    @public("/.well-known/jwks.json", methods=["GET"], content_types=NO_BODY)
    def jwks() -> Response:
        return Response(
            body=runtime.current().keyset.jwks(),
            status_code=200,
            headers={"Content-Type": JSON, "Cache-Control": "public, max-age=300"},
        )

    @protected("/me", methods=["GET"])
    def me(identity: Identity) -> Response:
        return json_response(profile.me(runtime.current(), identity))

    @protected("/auth/sessions", methods=["GET"])
    def list_sessions(identity: Identity) -> Response:
        limit, cursor = _paging(gate)
        page, following = lifecycle.list_sessions(runtime.current(), identity, limit, cursor)
        return json_response(page, headers=_next_link(gate, "/auth/sessions", limit, following))

    @protected("/auth/sessions", methods=["DELETE"])
    def end_all_sessions(identity: Identity) -> Response:
        lifecycle.sign_out_everywhere(runtime.current(), identity)
        return no_content()

    @protected("/auth/sessions/{session_id}", methods=["DELETE"])
    def end_session(identity: Identity, session_id: str) -> Response:
        lifecycle.end_session(runtime.current(), identity, session_id)
        return no_content()

    @protected("/auth/events", methods=["GET"])
    def list_events(identity: Identity) -> Response:
        limit, cursor = _paging(gate)
        page, following = activity.own_events(runtime.current(), identity, limit, cursor)
        return json_response(page, headers=_next_link(gate, "/auth/events", limit, following))

    @protected("/auth/password", methods=["POST"])
    def change_password(identity: Identity) -> Response:
        body = read_body(gate.request())
        login.change_password(
            runtime.current(),
            identity,
            required_str(body, "current_password", max_length=MAX_PASSWORD_LENGTH),
            required_str(body, "new_password", max_length=MAX_PASSWORD_LENGTH),
        )
        return no_content()

    @protected("/auth/email", methods=["POST"])
    def change_email(identity: Identity) -> Response:
        body = read_body(gate.request())
        email_address.change_email(
            runtime.current(),
            identity,
            required_str(body, "current_password", max_length=MAX_PASSWORD_LENGTH),
            required_str(body, "email", max_length=MAX_EMAIL_INPUT),
        )
        return no_content()

    @protected("/auth/account/delete", methods=["POST"])
    def delete_account(identity: Identity) -> Response:
        body = read_body(gate.request())
        deletion.delete_own_account(
            runtime.current(),
            identity,
            required_str(body, "current_password", max_length=MAX_PASSWORD_LENGTH),
            gate.account_deleted_hooks,
        )
        return no_content()

    if admin_routes:

        @protected("/admin/users", methods=["GET"], role=ADMIN)
        def admin_users(identity: Identity) -> Response:
            limit, cursor = _paging(gate)
            if cursor is not None and not USERNAME_PATTERN.fullmatch(cursor):
                raise InvalidRequest("cursor is not valid: use the one from the Link header.")
            page, following = runtime.current().users.list_page(limit, cursor)
            return json_response(
                [u.public() for u in page], headers=_next_link(gate, "/admin/users", limit, following)
            )

        @protected("/admin/users/{username}/events", methods=["GET"], role=ADMIN)
        def admin_user_events(identity: Identity, username: str) -> Response:
            limit, cursor = _paging(gate)
            page, following = activity.events_of(runtime.current(), username, limit, cursor)
            path = f"/admin/users/{quote(username, safe='')}/events"
            return json_response(page, headers=_next_link(gate, path, limit, following))

        @protected("/admin/users/{username}/unlock", methods=["POST"], role=ADMIN)
        def admin_unlock_user(identity: Identity, username: str) -> Response:
            admin.unlock(runtime.current(), username, actor=identity.username)
            return no_content()

        @protected("/admin/users/{username}/disable", methods=["POST"], role=ADMIN)
        def admin_disable_user(identity: Identity, username: str) -> Response:
            admin.set_disabled(runtime.current(), username, True, actor=identity.username)
            return no_content()

        @protected("/admin/users/{username}/enable", methods=["POST"], role=ADMIN)
        def admin_enable_user(identity: Identity, username: str) -> Response:
            admin.set_disabled(runtime.current(), username, False, actor=identity.username)
            return no_content()

    # The dev demo page: 404 unless it is turned on (GATEHOUSE_DEMO_PAGE, the dev stage).
    @public("/", methods=["GET"], content_types=NO_BODY)
    def demo_page() -> Response:
        from gatehouse.web import demo  # dev only: keeps pathlib off every cold start

        return demo.asset(gate.demo_page_on(), demo.INDEX)

    @public("/client/{name}", methods=["GET"], content_types=NO_BODY)
    def demo_asset(name: str) -> Response:
        from gatehouse.web import demo

        return demo.asset(gate.demo_page_on(), name)

    @public("/openapi.json", methods=["GET"], content_types=NO_BODY)
    def openapi_description() -> Response:
        from gatehouse.web import openapi

        return Response(body=openapi.description_text(), status_code=200, headers=dict(openapi.HEADERS))


def _paging(gate: Gatehouse) -> tuple[int, str | None]:
    """The ``limit`` and ``cursor`` query parameters (the cursor is checked by each route)."""
    params: Mapping[str, str] = gate.request().query_params or {}
    return page_limit(params.get("limit")), params.get("cursor")


def _next_link(gate: Gatehouse, path: str, limit: int, following: str | None) -> dict[str, str]:
    """The ``Link: <...>; rel="next"`` header of a page that has a next one (stage-aware)."""
    if following is None:
        return {}
    return {"Link": f'<{gate.url_for(path)}?{urlencode({"limit": limit, "cursor": following})}>; rel="next"'}


def page_limit(raw: str | None) -> int:
    """A ``limit`` query parameter: 1 to :data:`MAX_PAGE`, the maximum when absent."""
    if raw is None:
        return MAX_PAGE
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_PAGE}.")
    return int(raw)
