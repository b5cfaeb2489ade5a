"""The second factor's routes: enrol, confirm, new recovery codes, remove, and the admin reset.

Short views over :mod:`gatehouse.accounts.mfa`; the token endpoint's
second-factor grants are with the other grants in :mod:`gatehouse.web.routes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from gatehouse import runtime
from gatehouse.accounts import mfa
from gatehouse.accounts.passwords import MAX_PASSWORD_LENGTH
from gatehouse.accounts.recovery_codes import MAX_RECOVERY_CODE_INPUT
from gatehouse.accounts.totp import MAX_CODE_INPUT
from gatehouse.errors import NoFactor
from gatehouse.roles import ADMIN
from gatehouse.verify.identity import Identity
from gatehouse.web.bodies import optional_str, read_body, required_str
from gatehouse.web.responses import JSON, NO_STORE

if TYPE_CHECKING:
    from gatehouse.component import Gatehouse


def _json(body: object) -> Response:
    return Response(body=body, status_code=200, headers={"Content-Type": JSON, **NO_STORE})


def register(gate: Gatehouse, *, admin_routes: bool) -> None:
    protected = gate.route

    @protected("/auth/mfa/totp", methods=["POST"])
    def mfa_enrol(identity: Identity) -> Response:
        body = read_body(gate.request())
        password = required_str(body, "current_password", max_length=MAX_PASSWORD_LENGTH)
        return _json(mfa.enrol(runtime.current(), identity, password).body())

    @protected("/auth/mfa/totp/confirm", methods=["POST"])
    def mfa_confirm(identity: Identity) -> Response:
        body = read_body(gate.request())
        code = required_str(body, "code", max_length=MAX_CODE_INPUT)
        return _json({"recovery_codes": mfa.confirm(runtime.current(), identity, code)})

    @protected("/auth/mfa/recovery-codes", methods=["POST"])
    def mfa_recovery_codes(identity: Identity) -> Response:
        body = read_body(gate.request())
        code = required_str(body, "code", max_length=MAX_CODE_INPUT)
        return _json({"recovery_codes": mfa.replace_recovery_codes(runtime.current(), identity, code)})

    @protected("/auth/mfa/totp/remove", methods=["POST"])
    def mfa_remove(identity: Identity) -> Response:
        body = read_body(gate.request())
        code = optional_str(body, "code", max_length=MAX_CODE_INPUT) or None
        recovery_code = optional_str(body, "recovery_code", max_length=MAX_RECOVERY_CODE_INPUT) or None
        mfa.remove(runtime.current(), identity, code, recovery_code)
        return Response(body="", status_code=204, headers=dict(NO_STORE))

    if admin_routes:

        @protected("/admin/users/{username}/mfa/reset", methods=["POST"], role=ADMIN, mfa=None)
        def admin_mfa_reset(identity: Identity, username: str) -> Response:
            if not mfa.admin_reset(runtime.current(), username):
                raise NoFactor()
            return Response(body="", status_code=204, headers=dict(NO_STORE))
