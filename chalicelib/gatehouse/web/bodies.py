"""Reading request bodies (JSON or form) and the fields in them, strictly."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from chalicelib.gatehouse.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

if TYPE_CHECKING:
    from chalice.app import Request

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# Routes that read no body take any Content-Type: Chalice checks it on every
# method, and would answer 415 to a GET that happens to carry text/plain.
NO_BODY = ["*/*"]
MAX_BODY_BYTES = 64 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str) -> Any:
    raise InvalidRequest("The body is not valid JSON.")


def _media_type(request: Request) -> str:
    return str(request.headers.get("content-type", JSON)).split(";", 1)[0].strip().lower()


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


def _has_lone_surrogate(value: Any) -> bool:
    # Iterative: a body may nest as deep as json.loads allows.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and _SURROGATE.search(item):
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidRequest("The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise InvalidRequest("The body must be a JSON object.")
    # An escaped lone surrogate ("\ud800") parses into a string no UTF-8
    # encoder accepts: argon2, DynamoDB and SES would all fail on it with a
    # 500.  I-JSON (RFC 7493) forbids it; so does every Gatehouse body.
    if _has_lone_surrogate(value):
        raise InvalidRequest("The body is not valid JSON: it holds an unpaired surrogate escape.")
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
