"""Strict JSON objects, for token headers and payloads and for request bodies alike.

Python's ``json`` accepts more than one text can safely mean: a repeated key
(the last one wins, so a filter that reads the first sees another value),
``NaN`` and ``Infinity``, and escaped lone surrogates (``"\\ud800"``), which
become strings no UTF-8 encoder accepts.  I-JSON (RFC 7493) forbids all of
them; so does Gatehouse, everywhere it reads JSON from a client.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
# The only way a surrogate gets into text decoded from UTF-8: a \uD800-\uDFFF escape.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class NotStrictJson(ValueError):
    """The text is not one strict JSON object (the reason is never shown to clients).

    Not a :class:`~gatehouse.errors.GatehouseError`: a parser's answer that each caller
    turns into its own error (a request body's ``InvalidRequest``, a token's ``MalformedToken``).
    """


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise NotStrictJson("duplicate key")
        result[name] = value
    return result


def _reject_constant(_name: str) -> Any:
    raise NotStrictJson("NaN or Infinity")


# Made once (json.loads with any option builds a new decoder on every call; the
# authorizer parses two objects per token).
_decode = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant).decode


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth of a parsed value; refuses any string (key or value) that is not Unicode."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise NotStrictJson("lone surrogate")
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in (*value, *value.values())), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def loads_object(raw: bytes, *, max_depth: int, max_containers: int = 64) -> dict[str, Any]:
    """One JSON object from UTF-8 bytes, or :class:`NotStrictJson`."""
    try:
        text = raw.decode("utf-8")
        # Cheap bound before parsing: a deeply nested document would exhaust
        # the recursion limit inside json itself.
        if text.count("[") + text.count("{") > max_containers:
            raise NotStrictJson("too many containers")
        value = _decode(text)
    except (UnicodeDecodeError, RecursionError) as error:
        raise NotStrictJson(type(error).__name__) from None
    except NotStrictJson:
        raise
    except ValueError:
        raise NotStrictJson("not JSON") from None
    if not isinstance(value, dict):
        raise NotStrictJson("not an object")
    # The walk below costs more than the parse; skip it (on every token the
    # authorizer sees) when the text itself proves its answer: fewer containers
    # than the depth limit, and no escape that could make a surrogate.
    provably_fine = text.count("[") + text.count("{") < max_depth and not _SURROGATE_ESCAPE.search(text)
    try:
        depth = 1 if provably_fine else _depth(value)
    except RecursionError:  # nested nearly as deep as json itself allows
        raise NotStrictJson("too deep") from None
    if depth > max_depth:
        raise NotStrictJson("too deep")
    return value
