"""The second factor's routes (the signed-in caller): enrol, confirm, new recovery codes, remove.

Short views over :mod:`gatehouse.accounts.mfa`; the token endpoint's
second-factor grants are with the other grants in :mod:`.auth`, the admin
reset in :mod:`.admin`.
"""

from __future__ import annotations

from chalice.app import Response

from gatehouse.accounts import mfa
from gatehouse.accounts.passwords import MAX_PASSWORD_LENGTH
from gatehouse.accounts.recovery_codes import MAX_RECOVERY_CODE_INPUT
from gatehouse.accounts.totp import MAX_CODE_INPUT
from gatehouse.authorizer.identity import Identity
from gatehouse.web.bodies import optional_str, read_body, required_str
from gatehouse.web.views.common import Gate, json_response, no_content


def enrol(gate: Gate, identity: Identity) -> Response:
    body = read_body(gate.request())
    password = required_str(body, "current_password", max_length=MAX_PASSWORD_LENGTH)
    return json_response(mfa.enrol(gate.services(), identity, password).body())


def confirm(gate: Gate, identity: Identity) -> Response:
    body = read_body(gate.request())
    code = required_str(body, "code", max_length=MAX_CODE_INPUT)
    return json_response({"recovery_codes": mfa.confirm(gate.services(), identity, code)})


def recovery_codes(gate: Gate, identity: Identity) -> Response:
    body = read_body(gate.request())
    code = required_str(body, "code", max_length=MAX_CODE_INPUT)
    return json_response({"recovery_codes": mfa.replace_recovery_codes(gate.services(), identity, code)})


def remove(gate: Gate, identity: Identity) -> Response:
    body = read_body(gate.request())
    code = optional_str(body, "code", max_length=MAX_CODE_INPUT) or None
    recovery_code = optional_str(body, "recovery_code", max_length=MAX_RECOVERY_CODE_INPUT) or None
    mfa.remove(gate.services(), identity, code, recovery_code)
    return no_content()
