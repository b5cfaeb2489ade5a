"""Time-based one-time passwords (RFC 6238), through pyotp: the parameters every authenticator app reads.

SHA-1, 6 digits, 30-second steps: what Google Authenticator, Authy, 1Password
and the rest accept from an ``otpauth://`` URI without asking.  A code is
accepted for its own step and one step either side (clock drift, the time it
takes to type), never for a step at or before the last one accepted: that
rule, kept by a conditional write on the account (see
:mod:`gatehouse.storage.factors`), makes each code usable once.

Nothing here reads a clock or stores anything: the time and the last
accepted step are arguments.  pyotp and segno are imported only by the auth
function's MFA paths, never by the authorizer.
"""

from __future__ import annotations

import hmac
import io
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyotp

DIGITS = 6
STEP_SECONDS = 30
# One step either side of now (RFC 6238 section 5.2 recommends at most one).
WINDOW = 1
# 160 bits, the length of a SHA-1 key (RFC 4226 section 4 asks for at least 128).
SECRET_BYTES = 20
# What a code field may hold before it is looked at: digits with spaces a user may type.
MAX_CODE_INPUT = 16
_CODE = re.compile(r"[0-9]{6}")


# pyotp and segno are imported inside the functions that use them: this module is
# reachable from the app's import, which the authorizer's cold start pays for.


def new_secret() -> str:
    """A fresh base32 secret from the operating system's CSPRNG (pyotp uses ``secrets``)."""
    import pyotp

    return pyotp.random_base32(length=SECRET_BYTES * 8 // 5)


def _totp(secret: str) -> pyotp.TOTP:
    import pyotp

    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app imports (what the QR code holds)."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an SVG QR code (error correction M), ready to put in a page as it is."""
    import segno

    out = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(out, kind="svg", scale=4, border=4, xmldecl=False)
    return out.getvalue().decode("ascii")


def normalize_code(raw: str) -> str | None:
    """Six ASCII digits (spaces removed: apps show ``123 456``), else None."""
    code = raw.replace(" ", "")
    return code if _CODE.fullmatch(code) else None


def step_of(now: float) -> int:
    return int(now) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    """The code of one time step (tests and the dev tools compute codes with it)."""
    return _totp(secret).at(step * STEP_SECONDS)


def matching_step(secret: str, raw_code: str, now: float, last_step: int | None) -> int | None:
    """The time step whose code ``raw_code`` is, within the window and after ``last_step``; else None.

    Every step of the window is compared (in constant time), whichever
    matches, so the time taken does not say which step it was.
    """
    code = normalize_code(raw_code)
    if code is None:
        return None
    current = step_of(now)
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(code_at(secret, step), code) and (last_step is None or step > last_step):
            found = step if found is None else found
    return found
