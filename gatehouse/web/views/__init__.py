"""Gatehouse's own HTTP routes: which path and method runs which view.

The views are module-level functions, one module per audience: :mod:`.auth`
(no token yet), :mod:`.account` (the signed-in caller), :mod:`.mfa` (the
caller's second factor), :mod:`.admin` (role ``admin``) and :mod:`.pages`
(documents).  Each takes the app's
:class:`~gatehouse.Gatehouse` first, and for a route behind the authorizer
the caller's :class:`~gatehouse.authorizer.identity.Identity` next; it reads its
input, calls the accounts layer and shapes the answer.  :func:`register`,
called by the component, puts them on the app in this order.
"""

from __future__ import annotations

import functools
from typing import Any

from chalice.app import Response

from gatehouse.roles import ADMIN
from gatehouse.web.bodies import FORM, JSON, NO_BODY
from gatehouse.web.views import account, admin, auth, mfa, pages
from gatehouse.web.views.common import Gate, View


def register(gate: Gate, *, admin_routes: bool) -> None:
    def public(path: str, methods: list[str], view: View, **options: Any) -> None:
        gate.public_route(path, methods=methods, **options)(_bound(view, gate))

    def protected(path: str, methods: list[str], view: View, role: str | None = None) -> None:
        gate.route(path, methods=methods, role=role)(_bound(view, gate))

    def administer(path: str, methods: list[str], view: View) -> None:
        # mfa=None: a second factor is needed when GATEHOUSE_ADMIN_REQUIRES_MFA says so.
        gate.route(path, methods=methods, role=ADMIN, mfa=None)(_bound(view, gate))

    public("/auth/register", ["POST"], auth.register_user)
    public("/auth/email/verify", ["POST"], auth.verify_email)
    public("/auth/password/forgot", ["POST"], auth.forgot_password)
    public("/auth/password/reset", ["POST"], auth.reset_password)
    public("/auth/token", ["POST"], auth.token, content_types=[JSON, FORM], oauth=True)
    public("/auth/revoke", ["POST"], auth.revoke, content_types=[JSON, FORM], oauth=True)
    public("/.well-known/jwks.json", ["GET"], auth.jwks, content_types=NO_BODY)

    protected("/me", ["GET"], account.me)
    protected("/auth/sessions", ["GET"], account.list_sessions)
    protected("/auth/sessions", ["DELETE"], account.end_all_sessions)
    protected("/auth/sessions/{session_id}", ["DELETE"], account.end_session)
    protected("/auth/events", ["GET"], account.list_events)
    protected("/auth/password", ["POST"], account.change_password)
    protected("/auth/email", ["POST"], account.change_email)
    protected("/auth/email/resend", ["POST"], account.resend_email_code)
    protected("/auth/account/delete", ["POST"], account.delete_account)
    protected("/auth/mfa/totp", ["POST"], mfa.enrol)
    protected("/auth/mfa/totp/confirm", ["POST"], mfa.confirm)
    protected("/auth/mfa/recovery-codes", ["POST"], mfa.recovery_codes)
    protected("/auth/mfa/totp/remove", ["POST"], mfa.remove)

    if admin_routes:
        administer("/admin/users", ["GET"], admin.list_users)
        administer("/admin/users/{username}/events", ["GET"], admin.user_events)
        administer("/admin/users/{username}/unlock", ["POST"], admin.unlock_user)
        administer("/admin/users/{username}/disable", ["POST"], admin.disable_user)
        administer("/admin/users/{username}/enable", ["POST"], admin.enable_user)
        administer("/admin/users/{username}/mfa/reset", ["POST"], admin.reset_mfa)

    public("/", ["GET"], pages.demo_page, content_types=NO_BODY)
    public("/client/{name}", ["GET"], pages.demo_asset, content_types=NO_BODY)
    public("/openapi.json", ["GET"], pages.openapi_description, content_types=NO_BODY)


def _bound(view: View, gate: Gate) -> View:
    """``view`` with this app's ``gate`` as its first argument, keeping its name for Chalice."""

    @functools.wraps(view)
    def bound(*args: Any, **params: Any) -> Response:
        return view(gate, *args, **params)

    return bound
