"""Reading request bodies (JSON or form) and the fields in them, strictly.

A JSON body is one strict object (:mod:`gatehouse.strict_json`):
a repeated key, ``NaN``, or a string that is not Unicode (a lone surrogate
escape such as ``"\\ud800"``, which no UTF-8 encoder accepts) is a 400
``invalid_request`` here, before any view runs, so before any login attempt
is counted and before such a string could reach DynamoDB or a log line.  A
form body is decoded as strict UTF-8, which refuses encoded surrogates too.
Path and query parameters get the same check (:func:`check_text`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from gatehouse.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from gatehouse.strict_json import NotStrictJson, loads_object

if TYPE_CHECKING:
    from chalice.app import Request

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# Routes that read no body take any Content-Type: Chalice checks it on every
# method, and would answer 415 to a GET that happens to carry text/plain.
NO_BODY = ["*/*"]
MAX_BODY_BYTES = 64 * 1024
# No route reads anything nested; deeper bodies are refused before they cost anything.
MAX_BODY_DEPTH = 32


def _media_type(request: Request) -> str:
    """The body's media type; empty when the request names none.

    A body without ``Content-Type`` is never guessed to be JSON: a form a
    browser posts across origins ("simple" requests) must not be read as one.
    """
    return str(request.headers.get("content-type", "")).split(";", 1)[0].strip().lower()


def _raw(request: Request) -> bytes:
    try:
        raw = request.raw_body
        if isinstance(raw, str):
            raw = raw.encode()
    except Exception:  # a body API Gateway marked base64 that is not
        raise InvalidRequest("The body could not be read.") from None
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    return raw


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        # Brackets inside strings (a note's text) are fine: the container bound
        # is the body size, and nesting is bounded by depth.
        return loads_object(raw, max_depth=MAX_BODY_DEPTH, max_containers=MAX_BODY_BYTES)
    except NotStrictJson as error:
        if str(error) == "not an object":
            raise InvalidRequest("The body must be a JSON object.") from None
        raise InvalidRequest(
            "The body is not valid JSON: one object, UTF-8, no repeated keys, no lone surrogates."
        ) from None


def check_text(name: str, value: str) -> str:
    """``value`` unless it holds a code point UTF-8 cannot encode (a lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"{name} is not valid Unicode text.") from None
    return value


def _parse_form(raw: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The form body is not valid.") from None
    body: dict[str, Any] = {}
    for name, value in pairs:
        if name in body:  # RFC 6749 section 3.2
            raise InvalidRequest(
                f"The parameter {name!r} is repeated." if len(name) <= 64 else "A parameter is repeated."
            )
        body[name] = value
    return body


def read_body(request: Request, *, allow_form: bool = False) -> dict[str, Any]:
    media_type = _media_type(request)
    if media_type == JSON or media_type.endswith("+json"):
        return _parse_json(_raw(request))
    if media_type == FORM and allow_form:
        return _parse_form(_raw(request))
    accepted = f"{JSON} or {FORM}" if allow_form else JSON
    raise UnsupportedMediaType(f"Send the body as {accepted}.")


def optional_str(body: dict[str, Any], name: str, *, max_length: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string.")
    if len(value) > max_length:
        raise InvalidRequest(f"{name} must be at most {max_length} characters.")
    return value


def required_str(body: dict[str, Any], name: str, *, max_length: int) -> str:
    value = optional_str(body, name, max_length=max_length)
    if value is None or value == "":
        raise InvalidRequest(f"{name} is required.")
    return value
