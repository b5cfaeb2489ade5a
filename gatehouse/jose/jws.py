"""Compact JWS (RFC 7515), the signature layer: any payload, a key set, one signature check.

1. shape: size, exactly three canonical unpadded base64url segments (the
   payload may be empty, as RFC 7515 allows; header and signature not);
2. header: a strict JSON object, no ``crit`` or ``b64``, an ``alg`` that
   Gatehouse verifies at all, a key found by ``kid`` (``kid`` may be left
   out only when the key set holds exactly one key), and ``alg`` equal to
   the algorithm that key is bound to;
3. signature: ``cryptography`` directly, for that one algorithm
   (:func:`gatehouse.jose.signatures.verify_signature`, the package's one
   signature check).

:func:`verify_jws` returns the header and the payload *bytes*: a JWS payload
is any octets, and nothing here knows what an access token is
(:mod:`gatehouse.jose.access_tokens` does).  Every failure is a
:class:`~gatehouse.jose.errors.TokenError`; no other exception escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from gatehouse.jose import base64url
from gatehouse.jose.errors import (
    AlgorithmMismatch,
    BadSignature,
    MalformedToken,
    TokenTooLarge,
    UnknownKey,
    UnsupportedAlgorithm,
    UnsupportedHeader,
)
from gatehouse.jose.keys import SUPPORTED_ALGORITHMS, KeySet, PublicKey
from gatehouse.jose.signatures import verify_signature
from gatehouse.strict_json import NotStrictJson, loads_object

MAX_JSON_DEPTH = 4
# No token, refresh token or Authorization header Gatehouse accepts is longer;
# the bound keeps huge inputs away from every parser.
MAX_TOKEN_INPUT = 16 * 1024
# Header members this verifier does not implement and so must not ignore:
# ``crit`` (RFC 7515 section 4.1.11) and the unencoded payload option (RFC 7797).
REFUSED_HEADERS = ("crit", "b64")
_SEGMENTS = re.compile(r"^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]+)$")


def segment(text: str) -> bytes:
    """One segment's bytes: canonical unpadded base64url only (one token, one spelling)."""
    try:
        return base64url.decode(text)
    except ValueError:
        raise MalformedToken() from None


def json_object(raw: bytes) -> dict[str, Any]:
    """A decoded segment as one strict, shallow JSON object (else :class:`MalformedToken`)."""
    try:
        return loads_object(raw, max_depth=MAX_JSON_DEPTH)
    except NotStrictJson:
        raise MalformedToken() from None


class CompactJws(NamedTuple):
    """A compact JWS whose shape and header have been parsed, nothing verified yet."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def parse_compact_jws(token: str, max_bytes: int) -> CompactJws:
    """Shape only: size, three canonical base64url segments, a strict JSON header."""
    if len(token) > max_bytes:
        raise TokenTooLarge()
    match = _SEGMENTS.fullmatch(token)
    if match is None:
        raise MalformedToken()
    header_b64, payload_b64, signature_b64 = match.groups()
    header = json_object(segment(header_b64))
    return CompactJws(
        header=header,
        payload=segment(payload_b64),
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=segment(signature_b64),
    )


def _key_for(header: dict[str, Any], keys: KeySet) -> PublicKey:
    """The key named by ``kid``; without a ``kid``, the key set's only key."""
    if "kid" not in header:
        only = list(keys)
        if len(only) != 1:
            raise UnknownKey()
        return only[0]
    kid = header["kid"]
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise UnknownKey()
    return key


def _verify_parsed(jws: CompactJws, keys: KeySet) -> None:
    header = jws.header
    if any(name in header for name in REFUSED_HEADERS):
        raise UnsupportedHeader()
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
        raise UnsupportedAlgorithm()
    key = _key_for(header, keys)
    if alg != key.alg:
        raise AlgorithmMismatch()
    # The key's pinned algorithm, never the token's: equal here, but the key decides.
    if not verify_signature(key.alg, key.key, jws.signing_input, jws.signature):
        raise BadSignature()


def verify_jws(
    token: str,
    keys: KeySet,
    max_bytes: int,
    *,
    precheck: Callable[[CompactJws], None] | None = None,
) -> tuple[dict[str, Any], bytes]:
    """Verify a compact JWS against ``keys``; return its header and payload bytes.

    No ``typ`` check and no payload parsing: those belong to the layer that
    knows what the payload is.  That layer passes its own cheap checks as
    ``precheck``, run on the parsed token before any key is looked up.
    """
    jws = parse_compact_jws(token, max_bytes)
    if precheck is not None:
        precheck(jws)
    _verify_parsed(jws, keys)
    return jws.header, jws.payload
