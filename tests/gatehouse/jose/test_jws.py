"""The signature layer (``verify_jws``) on its own, and how the access-token layer sits on it.

``verify_jws`` takes any compact JWS and a key set: no ``typ``, no claims, a
payload of any bytes, and ``kid`` optional when the key set holds exactly
one key.  ``verify_access_token`` keeps every access-token rule on top:
``typ`` ``at+jwt``, a ``kid`` always, a JSON object payload, the claims.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import get_default_algorithms

from gatehouse.jose.access_tokens import TokenRules, verify_access_token
from gatehouse.jose.errors import (
    AlgorithmMismatch,
    BadSignature,
    MalformedToken,
    TokenTooLarge,
    UnknownKey,
    UnsupportedAlgorithm,
    UnsupportedHeader,
    WrongTokenType,
)
from gatehouse.jose.jws import CompactJws, parse_compact_jws, verify_jws
from gatehouse.jose.keys import KeySet, SigningKey, generate_signing_jwk, load_signing_key
from gatehouse.jose.signatures import low_s_signature, verify_signature

NOW = 1_800_000_000
RULES = TokenRules(issuer="https://gatehouse.test", audience="api", lifetime=900, leeway=30, max_bytes=8192)
MAX = RULES.max_bytes


def _key(alg: str) -> SigningKey:
    return load_signing_key(json.dumps(generate_signing_jwk(alg)))


ED = _key("EdDSA")
ES = _key("ES256")


def _ed25519(key: SigningKey) -> Ed25519PrivateKey:
    assert isinstance(key.key, Ed25519PrivateKey)
    return key.key


def _p256(key: SigningKey) -> ec.EllipticCurvePrivateKey:
    assert isinstance(key.key, ec.EllipticCurvePrivateKey)
    return key.key


ED_PRIVATE, ES_PRIVATE = _ed25519(ED), _p256(ES)
ED_ONLY = KeySet([ED.public])
BOTH = KeySet([ED.public, ES.public])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jws(header: dict[str, Any], payload: bytes, key: SigningKey = ED, alg: str | None = None) -> str:
    """A compact JWS over exactly this header and payload, genuinely signed by ``key``."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload)}"
    signature = get_default_algorithms()[alg or key.alg].sign(signing_input.encode(), key.key)
    if (alg or key.alg) == "ES256":
        signature = low_s_signature(signature)  # the one ES256 spelling the verifier accepts
    return f"{signing_input}.{b64(signature)}"


def access_payload(**overrides: Any) -> bytes:
    claims = {
        "iss": RULES.issuer,
        "aud": RULES.audience,
        "sub": "alice",
        "username": "alice",
        "iat": NOW,
        "exp": NOW + 900,
        "jti": "j",
        "sid": "s",
        "roles": [],
    }
    return json.dumps({**claims, **overrides}).encode()


# -- what the signature layer accepts ----------------------------------------------


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_verify_jws_returns_the_header_and_the_payload_bytes(key: SigningKey) -> None:
    header = {"alg": key.alg, "kid": key.kid, "x-extra": [1, 2]}

    assert verify_jws(jws(header, b"foo", key), BOTH, MAX) == (header, b"foo")


def test_verify_jws_needs_no_typ_and_leaves_a_non_json_payload_alone() -> None:
    token = jws({"alg": "EdDSA", "kid": ED.kid}, b"\x00\xffnot json")

    assert verify_jws(token, ED_ONLY, MAX)[1] == b"\x00\xffnot json"


def test_verify_jws_accepts_an_empty_payload_as_rfc7515_allows() -> None:
    token = jws({"alg": "EdDSA", "kid": ED.kid}, b"")
    assert ".." in token

    assert verify_jws(token, ED_ONLY, MAX)[1] == b""


def test_without_kid_the_only_key_of_a_one_key_set_is_used() -> None:
    assert verify_jws(jws({"alg": "EdDSA"}, b"x"), ED_ONLY, MAX)[1] == b"x"


def test_without_kid_the_only_key_must_still_have_signed_it() -> None:
    with pytest.raises(BadSignature):
        verify_jws(jws({"alg": "EdDSA"}, b"x", _key("EdDSA")), ED_ONLY, MAX)


@pytest.mark.parametrize("keys", [BOTH, KeySet([])], ids=["two-keys", "no-keys"])
def test_without_kid_a_key_set_of_other_than_one_key_is_unknown_key(keys: KeySet) -> None:
    with pytest.raises(UnknownKey):
        verify_jws(jws({"alg": "EdDSA"}, b"x"), keys, MAX)


@pytest.mark.parametrize(
    "kid", ["other", "", 7, None, [ED.kid]], ids=["other", "empty", "int", "null", "list"]
)
def test_a_kid_that_names_no_key_is_unknown_even_when_the_set_has_one_key(kid: Any) -> None:
    # A present kid is always looked up: no fallback to the only key.
    with pytest.raises(UnknownKey):
        verify_jws(jws({"alg": "EdDSA", "kid": kid}, b"x"), ED_ONLY, MAX)


# -- algorithms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alg", ["none", "None", "HS256", "RS256", "PS256", "ES384", "ES256K", "Ed25519", "eddsa", "", 256, None]
)
def test_alg_gatehouse_never_verifies_is_unsupported_algorithm(alg: Any) -> None:
    token = jws({"alg": alg, "kid": ED.kid}, b"x", ED, alg="EdDSA")

    with pytest.raises(UnsupportedAlgorithm) as info:
        verify_jws(token, ED_ONLY, MAX)
    assert info.value.reason == "unsupported_algorithm"
    assert isinstance(info.value, AlgorithmMismatch)  # it can never match a key's pinned alg


def test_missing_alg_is_unsupported_algorithm() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        verify_jws(jws({"kid": ED.kid}, b"x", ED, alg="EdDSA"), ED_ONLY, MAX)


def test_unsupported_alg_is_refused_before_the_kid_is_looked_up() -> None:
    token = jws({"alg": "HS256", "kid": "nobody"}, b"x", ED, alg="EdDSA")
    with pytest.raises(UnsupportedAlgorithm):
        verify_jws(token, ED_ONLY, MAX)


def test_supported_alg_other_than_the_keys_is_mismatch_not_unsupported() -> None:
    token = jws({"alg": "ES256", "kid": ED.kid}, b"x", ES)

    with pytest.raises(AlgorithmMismatch) as info:
        verify_jws(token, BOTH, MAX)
    assert type(info.value) is AlgorithmMismatch
    assert info.value.reason == "algorithm_mismatch"


def test_hmac_keyed_with_the_published_public_key_is_unsupported_algorithm() -> None:
    secret = base64.urlsafe_b64decode(ED.public.jwk["x"] + "=")
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': ED.kid}).encode())}.{b64(b'x')}"
    mac = get_default_algorithms()["HS256"].sign(signing_input.encode(), secret)

    with pytest.raises(UnsupportedAlgorithm):
        verify_jws(f"{signing_input}.{b64(mac)}", ED_ONLY, MAX)


@pytest.mark.parametrize("extra", [{"crit": ["exp"]}, {"b64": False}], ids=["crit", "b64"])
def test_crit_or_b64_is_refused_by_the_signature_layer_too(extra: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedHeader):
        verify_jws(jws({"alg": "EdDSA", "kid": ED.kid, **extra}, b"x"), ED_ONLY, MAX)


# -- the primitive ------------------------------------------------------------------------


def test_verify_signature_is_true_only_for_the_signed_bytes() -> None:
    signature = ED_PRIVATE.sign(b"message")

    assert verify_signature(ED.alg, ED.public.key, b"message", signature) is True
    assert verify_signature(ED.alg, ED.public.key, b"messagE", signature) is False


def test_es256_signature_in_der_form_is_not_valid_only_raw_r_s_is() -> None:
    # RFC 7518 section 3.4: JWS carries r || s; DER is what cryptography produces.
    der = ES_PRIVATE.sign(b"message", ec.ECDSA(hashes.SHA256()))
    raw = low_s_signature(get_default_algorithms()["ES256"].sign(b"message", ES.key))

    assert len(raw) == 64
    assert verify_signature(ES.alg, ES.public.key, b"message", raw) is True
    assert verify_signature(ES.alg, ES.public.key, b"message", der) is False


@pytest.mark.parametrize("length", [0, 1, 63, 65, 128])
@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_verify_signature_of_the_wrong_length_is_false_not_an_exception(key: SigningKey, length: int) -> None:
    assert verify_signature(key.alg, key.public.key, b"message", b"\x01" * length) is False


# -- parsing --------------------------------------------------------------------------------


def test_parse_compact_jws_keeps_the_exact_signing_input() -> None:
    token = jws({"alg": "EdDSA", "kid": ED.kid}, b"payload")
    header, payload, _ = token.split(".")

    parsed = parse_compact_jws(token, MAX)

    assert parsed.signing_input == f"{header}.{payload}".encode()
    assert parsed.payload == b"payload"
    assert parsed.header == {"alg": "EdDSA", "kid": ED.kid}


def test_parse_compact_jws_refuses_a_token_over_max_bytes_before_parsing() -> None:
    token = jws({"alg": "EdDSA", "kid": ED.kid}, b"x")
    assert parse_compact_jws(token, len(token)).payload == b"x"

    with pytest.raises(TokenTooLarge):
        parse_compact_jws(token, len(token) - 1)


@pytest.mark.parametrize(
    "token",
    ["", "a", "a.b", "a.b.c.d", ".e30.c2ln", "e30.e30.", "e30.e30.c2ln.", "e30.e30.c2ln=", "e30 .e30.c2ln"],
    ids=["empty", "one", "two", "four", "no-header", "no-signature", "trailing-dot", "padded", "space"],
)
def test_verify_jws_refuses_anything_but_three_canonical_segments(token: str) -> None:
    with pytest.raises(MalformedToken):
        verify_jws(token, ED_ONLY, MAX)


@pytest.mark.parametrize(
    "text",
    ['{"alg":"EdDSA","kid":"\\ud800"}', '{"alg":"EdDSA","\\udfff":1}', '{"alg":"EdDSA","x":["\\udc00"]}'],
    ids=["value", "member-name", "nested"],
)
def test_lone_surrogate_escape_in_the_header_is_malformed(text: str) -> None:
    signing_input = f"{b64(text.encode())}.{b64(b'x')}"
    token = f"{signing_input}.{b64(ED_PRIVATE.sign(signing_input.encode()))}"

    with pytest.raises(MalformedToken):
        verify_jws(token, ED_ONLY, MAX)


def test_lone_surrogate_escape_in_an_access_token_claim_is_malformed() -> None:
    payload = access_payload(sub="@@").replace(b'"@@"', b'"\\ud800"')
    token = jws({"alg": "EdDSA", "kid": ED.kid, "typ": "at+jwt"}, payload)

    with pytest.raises(MalformedToken):
        verify_access_token(token, ED_ONLY, RULES, now=NOW)


def test_a_surrogate_pair_escape_is_ordinary_text() -> None:
    payload = access_payload(jti="@@").replace(b'"@@"', b'"\\ud83d\\ude00"')
    token = jws({"alg": "EdDSA", "kid": ED.kid, "typ": "at+jwt"}, payload)

    assert verify_access_token(token, ED_ONLY, RULES, now=NOW).jti == "\U0001f600"


def test_precheck_sees_the_parsed_token_before_any_key_is_looked_up() -> None:
    seen: list[dict[str, Any]] = []

    def precheck(parsed: CompactJws) -> None:
        seen.append(parsed.header)
        raise WrongTokenType()

    with pytest.raises(WrongTokenType):  # not UnknownKey: the key set was never asked
        verify_jws(jws({"alg": "EdDSA", "kid": "nobody"}, b"x"), ED_ONLY, MAX, precheck=precheck)
    assert seen == [{"alg": "EdDSA", "kid": "nobody"}]


# -- the access-token layer stays strict ------------------------------------------------------


def test_access_token_layer_accepts_a_hand_built_valid_token() -> None:
    token = jws({"alg": "EdDSA", "kid": ED.kid, "typ": "at+jwt"}, access_payload())
    assert verify_access_token(token, ED_ONLY, RULES, now=NOW).sub == "alice"


def test_access_token_without_kid_is_unknown_key_even_with_a_one_key_set() -> None:
    token = jws({"alg": "EdDSA", "typ": "at+jwt"}, access_payload())
    assert verify_jws(token, ED_ONLY, MAX)[1] == access_payload()  # fine as a bare JWS

    with pytest.raises(UnknownKey):
        verify_access_token(token, ED_ONLY, RULES, now=NOW)


def test_access_token_without_typ_is_wrong_type_though_its_signature_is_good() -> None:
    token = jws({"alg": "EdDSA", "kid": ED.kid}, access_payload())
    assert verify_jws(token, ED_ONLY, MAX)[0] == {"alg": "EdDSA", "kid": ED.kid}

    with pytest.raises(WrongTokenType):
        verify_access_token(token, ED_ONLY, RULES, now=NOW)


def test_access_token_with_an_empty_payload_is_malformed() -> None:
    token = jws({"alg": "EdDSA", "kid": ED.kid, "typ": "at+jwt"}, b"")
    assert verify_jws(token, ED_ONLY, MAX)[1] == b""

    with pytest.raises(MalformedToken):
        verify_access_token(token, ED_ONLY, RULES, now=NOW)


@pytest.mark.parametrize(
    "payload", [b"foo", b"[]", b'"at+jwt"', b"null"], ids=["text", "array", "string", "null"]
)
def test_access_token_whose_verified_payload_is_not_a_json_object_is_malformed(payload: bytes) -> None:
    token = jws({"alg": "EdDSA", "kid": ED.kid, "typ": "at+jwt"}, payload)
    assert verify_jws(token, ED_ONLY, MAX)[1] == payload

    with pytest.raises(MalformedToken):
        verify_access_token(token, ED_ONLY, RULES, now=NOW)


def test_access_token_alg_none_with_our_kid_is_unsupported_algorithm() -> None:
    token = jws({"alg": "none", "kid": ED.kid, "typ": "at+jwt"}, access_payload(), ED, alg="EdDSA")
    with pytest.raises(UnsupportedAlgorithm):
        verify_access_token(token, ED_ONLY, RULES, now=NOW)
