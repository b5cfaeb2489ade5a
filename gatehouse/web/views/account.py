"""The signed-in caller's own account: profile, sessions, password, address, deletion.

Each view gets the caller's :class:`~gatehouse.authorizer.identity.Identity`
(the component checked the token's claims) and calls one use case.
"""

from __future__ import annotations

from chalice.app import Response

from gatehouse.accounts import activity, deletion, email_address, login, profile
from gatehouse.accounts import sessions as lifecycle
from gatehouse.accounts.email_syntax import MAX_EMAIL_INPUT
from gatehouse.accounts.passwords import MAX_PASSWORD_LENGTH
from gatehouse.authorizer.identity import Identity
from gatehouse.web.bodies import read_body, required_str
from gatehouse.web.views.common import Gate, json_response, next_link, no_content, paging, source_of


def me(gate: Gate, identity: Identity) -> Response:
    return json_response(profile.me(gate.services(), identity))


def list_sessions(gate: Gate, identity: Identity) -> Response:
    limit, cursor = paging(gate)
    page, following = lifecycle.list_sessions(gate.services(), identity, limit, cursor)
    return json_response(page, headers=next_link(gate, "/auth/sessions", limit, following))


def end_all_sessions(gate: Gate, identity: Identity) -> Response:
    lifecycle.sign_out_everywhere(gate.services(), identity)
    return no_content()


def end_session(gate: Gate, identity: Identity, session_id: str) -> Response:
    lifecycle.end_session(gate.services(), identity, session_id)
    return no_content()


def list_events(gate: Gate, identity: Identity) -> Response:
    limit, cursor = paging(gate)
    page, following = activity.own_events(gate.services(), identity, limit, cursor)
    return json_response(page, headers=next_link(gate, "/auth/events", limit, following))


def change_password(gate: Gate, identity: Identity) -> Response:
    body = read_body(gate.request())
    login.change_password(
        gate.services(),
        identity,
        required_str(body, "current_password", max_length=MAX_PASSWORD_LENGTH),
        required_str(body, "new_password", max_length=MAX_PASSWORD_LENGTH),
    )
    return no_content()


def change_email(gate: Gate, identity: Identity) -> Response:
    body = read_body(gate.request())
    email_address.change_email(
        gate.services(),
        identity,
        required_str(body, "current_password", max_length=MAX_PASSWORD_LENGTH),
        required_str(body, "email", max_length=MAX_EMAIL_INPUT),
        source_of(gate),
    )
    return no_content()


def resend_email_code(gate: Gate, identity: Identity) -> Response:
    # No body: the address is the one on the caller's account.
    email_address.resend_verification(gate.services(), identity, source_of(gate))
    return no_content()


def delete_account(gate: Gate, identity: Identity) -> Response:
    body = read_body(gate.request())
    deletion.delete_own_account(
        gate.services(),
        identity,
        required_str(body, "current_password", max_length=MAX_PASSWORD_LENGTH),
        gate.account_deleted_hooks,
    )
    return no_content()
