"""Access tokens: header, signature, size and shape, JSON strictness; only TokenError escapes."""

import base64
import json
import random
import string
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import get_default_algorithms

from gatehouse.jose import jws
from gatehouse.jose.access_tokens import TOKEN_TYPE
from gatehouse.jose.errors import (
    AlgorithmMismatch,
    BadSignature,
    InvalidClaim,
    MalformedToken,
    TokenError,
    TokenTooLarge,
    UnknownKey,
    UnsupportedHeader,
    WrongTokenType,
)
from gatehouse.jose.keys import SigningKey
from tests.gatehouse.jose.token_cases import (
    BIG_RULES,
    ED,
    ED_OTHER,
    ES,
    ES_OTHER,
    RULES,
    b64,
    claims,
    compact,
    header,
    header_with_unused_bits,
    make,
    noncanonical,
    payload_with_unused_bits,
    segments,
    sign_raw,
    verify,
)

# -- header ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "hdr",
    [
        header(drop=("typ",)),
        header(typ="JWT"),
        header(typ="at+JWT"),
        header(typ="application/at+jwt"),
        header(typ=""),
        header(typ=None),
        header(typ=["at+jwt"]),
    ],
    ids=["missing", "JWT", "at+JWT", "media-type", "empty", "null", "list"],
)
def test_any_typ_but_at_jwt_is_wrong_token_type(hdr: dict[str, Any]) -> None:
    with pytest.raises(WrongTokenType):
        verify(make(hdr=hdr))


@pytest.mark.parametrize(
    "hdr",
    [
        header(kid=ED_OTHER.kid),
        header(kid=""),
        header(kid=ED.kid.upper() if ED.kid != ED.kid.upper() else ED.kid.lower()),
        header(kid=42),
        header(kid=None),
        header(kid=[ED.kid]),
        header(kid={"kid": ED.kid}),
        header(drop=("kid",)),
    ],
    ids=["other-key", "empty", "case-changed", "int", "null", "list", "object", "missing"],
)
def test_kid_not_in_our_key_set_is_unknown_key(hdr: dict[str, Any]) -> None:
    with pytest.raises(UnknownKey):
        verify(make(hdr=hdr))


def test_embedded_jwk_header_is_never_trusted() -> None:
    # An attacker signs with their own key and ships it in the header.
    hdr = header(
        ED_OTHER, jwk=ED_OTHER.public.jwk, jku="https://evil.test/jwks.json", x5u="https://evil.test"
    )
    with pytest.raises(UnknownKey):
        verify(make(hdr=hdr, key=ED_OTHER))


def test_embedded_jwk_header_with_our_kid_still_checks_our_key() -> None:
    hdr = header(ED, jwk=ED_OTHER.public.jwk, jku="https://evil.test/jwks.json")
    with pytest.raises(BadSignature):
        verify(make(hdr=hdr, key=ED_OTHER))


def test_es256_token_with_the_kid_of_the_eddsa_key_is_algorithm_mismatch() -> None:
    token = jwt.encode(claims(), ES.key, algorithm="ES256", headers={"typ": TOKEN_TYPE, "kid": ED.kid})
    assert jwt.get_unverified_header(token)["alg"] == "ES256"

    with pytest.raises(AlgorithmMismatch):
        verify(token)


def test_eddsa_token_with_the_kid_of_the_es256_key_is_algorithm_mismatch() -> None:
    token = jwt.encode(claims(), ED.key, algorithm="EdDSA", headers={"typ": TOKEN_TYPE, "kid": ES.kid})
    with pytest.raises(AlgorithmMismatch):
        verify(token)


def test_hs256_signed_with_the_public_key_bytes_is_algorithm_mismatch() -> None:
    # The classic confusion attack: HMAC keyed with the published public key.
    secret = base64.urlsafe_b64decode(ED.public.jwk["x"] + "=")
    signing_input = f"{b64(compact(header(ED, alg='HS256')))}.{b64(GOOD_PAYLOAD)}"
    mac = get_default_algorithms()["HS256"].sign(signing_input.encode(), secret)

    with pytest.raises(AlgorithmMismatch):
        verify(f"{signing_input}.{b64(mac)}")


@pytest.mark.parametrize("alg", ["none", "None", "", None, "eddsa", "RS256", "ES384"])
def test_header_alg_other_than_the_keys_alg_is_algorithm_mismatch(alg: Any) -> None:
    token = make(hdr=header(ED, alg=alg))  # signed with the right key; only the header lies
    with pytest.raises(AlgorithmMismatch):
        verify(token)


def test_missing_header_alg_is_algorithm_mismatch() -> None:
    with pytest.raises(AlgorithmMismatch):
        verify(make(hdr=header(ED, drop=("alg",))))


def test_unsigned_alg_none_token_is_rejected() -> None:
    token = jwt.encode(claims(), "", algorithm="none", headers={"typ": TOKEN_TYPE, "kid": ED.kid})
    assert token.endswith(".")

    with pytest.raises(MalformedToken):  # empty signature segment
        verify(token)


@pytest.mark.parametrize(
    "extra",
    [{"crit": ["exp"]}, {"crit": []}, {"b64": False}, {"b64": True}, {"crit": ["b64"], "b64": False}],
    ids=["crit-exp", "crit-empty", "b64-false", "b64-true", "crit-b64"],
)
def test_crit_or_b64_header_is_unsupported_header(extra: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedHeader):
        verify(make(hdr=header(ED, **extra)))


# -- signature ------------------------------------------------------------------


@pytest.mark.parametrize(("signer", "kid_of"), [(ED_OTHER, ED), (ES_OTHER, ES)], ids=["EdDSA", "ES256"])
def test_signature_from_a_different_key_with_our_kid_is_bad_signature(
    signer: SigningKey, kid_of: SigningKey
) -> None:
    with pytest.raises(BadSignature):
        verify(make(hdr=header(kid_of), key=signer))


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_payload_swapped_under_a_valid_signature_is_bad_signature(key: SigningKey) -> None:
    h, _, s = segments(make(key=key))
    _, p, _ = segments(make(claims(roles=["admin"]), key=key))
    with pytest.raises(BadSignature):
        verify(f"{h}.{p}.{s}")


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_flipped_signature_byte_is_bad_signature(key: SigningKey) -> None:
    h, p, s = segments(make(key=key))
    raw = bytearray(base64.urlsafe_b64decode(s + "=="))
    raw[10] ^= 0x01
    with pytest.raises(BadSignature):
        verify(f"{h}.{p}.{b64(bytes(raw))}")


@pytest.mark.parametrize("length", [1, 32, 63, 65, 128])
def test_signature_of_the_wrong_length_is_bad_signature(length: int) -> None:
    h, p, _ = segments(make())
    signature = b64(bytes([7]) * length)
    with pytest.raises(BadSignature):
        verify(f"{h}.{p}.{signature}")


# -- size and shape -------------------------------------------------------------


def test_token_over_max_bytes_is_too_large() -> None:
    token = make()
    assert verify(token, rules=RULES._replace(max_bytes=len(token))).sub == "alice"

    with pytest.raises(TokenTooLarge):
        verify(token, rules=RULES._replace(max_bytes=len(token) - 1))


def test_huge_garbage_is_too_large_before_anything_else() -> None:
    with pytest.raises(TokenTooLarge):
        verify("[" * 5_000_000)


def _shape_cases() -> list[tuple[str, str]]:
    h, p, s = segments(make())
    return [
        ("empty", ""),
        ("one-segment", h),
        ("two-segments", f"{h}.{p}"),
        ("four-segments", f"{h}.{p}.{s}.{s}"),
        ("five-segments", f"{h}.{p}.{s}.."),
        ("empty-header", f".{p}.{s}"),
        ("empty-payload", f"{h}..{s}"),
        ("empty-signature", f"{h}.{p}."),
        ("only-dots", ".."),
        ("padding-on-signature", f"{h}.{p}.{s}=="),
        ("padding-on-header", f"{h}==.{p}.{s}"),
        ("plus-char", f"{h}.{p}.{s[:-2]}+{s[-1]}"),
        ("slash-char", f"{h}.{p}.{s[:-2]}/{s[-1]}"),
        ("std-base64-header", f"{h[:4]}+{h[5:]}.{p}.{s}"),
        ("leading-space", f" {h}.{p}.{s}"),
        ("trailing-space", f"{h}.{p}.{s} "),
        ("trailing-newline", f"{h}.{p}.{s}\n"),
        ("trailing-crlf", f"{h}.{p}.{s}\r\n"),
        ("leading-newline", f"\n{h}.{p}.{s}"),
        ("inner-space", f"{h}. {p}.{s}"),
        ("inner-tab", f"{h}.{p[:5]}\t{p[5:]}.{s}"),
        ("bearer-prefix", f"Bearer {h}.{p}.{s}"),
        ("non-ascii-letter", f"{h}.{p}.{s[:-1]}é"),
        ("fullwidth-digit", f"{h}.{p}.{s[:-1]}\uff11"),
        ("nul-byte", f"{h}.{p}.{s}\x00"),
        ("segment-length-mod-4-is-1", f"{h}.{p}.{s}AAA"),
        ("quoted", f'"{h}.{p}.{s}"'),
    ]


@pytest.mark.parametrize(("case", "token"), _shape_cases(), ids=[c for c, _ in _shape_cases()])
def test_token_not_three_canonical_base64url_segments_is_malformed(case: str, token: str) -> None:
    with pytest.raises(MalformedToken):
        verify(token)


def test_non_canonical_signature_encoding_is_malformed() -> None:
    h, p, s = segments(make())
    alternative = noncanonical(s)
    assert base64.urlsafe_b64decode(alternative + "==") == base64.urlsafe_b64decode(s + "==")

    with pytest.raises(MalformedToken):
        verify(f"{h}.{p}.{alternative}")


def test_non_canonical_payload_encoding_is_malformed() -> None:
    token = make(payload_with_unused_bits())
    assert verify(token).sub.startswith("alice")
    h, p, s = segments(token)
    # Same bytes, so PyJWT alone would accept this token: one token, one spelling.
    with pytest.raises(MalformedToken):
        verify(f"{h}.{noncanonical(p)}.{s}")


def test_non_canonical_header_encoding_is_malformed() -> None:
    token = make(hdr=header_with_unused_bits())
    assert verify(token).sub == "alice"
    h, p, s = segments(token)
    with pytest.raises(MalformedToken):
        verify(f"{noncanonical(h)}.{p}.{s}")


@pytest.mark.parametrize("segment", ["QR", "QUF", "eyJhIjoxfR", "AB"])
def test_base64url_decoder_itself_refuses_non_zero_unused_bits(segment: str) -> None:
    # Our own check, not only PyJWT's: the decoder must not depend on the library version.
    with pytest.raises(MalformedToken):
        jws.segment(segment)


@pytest.mark.parametrize(
    ("segment", "raw"), [("QQ", b"A"), ("QUE", b"AA"), ("QUFB", b"AAA"), ("_-8", b"\xff\xef")]
)
def test_base64url_decoder_accepts_canonical_spellings(segment: str, raw: bytes) -> None:
    assert jws.segment(segment) == raw


# -- JSON strictness ------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000
GOOD_HEADER = compact(header())
GOOD_PAYLOAD = compact(claims())


def _with_text(obj: dict[str, Any], marker: str, replacement: str) -> bytes:
    text = json.dumps(obj, separators=(",", ":"))
    assert f'"{marker}"' in text
    return text.replace(f'"{marker}"', replacement).encode()


BAD_JSON: list[tuple[str, bytes]] = [
    ("not-json", b"hello"),
    ("empty", b""),
    ("truncated", b'{"alg":"EdDSA"'),
    ("array", b"[]"),
    ("array-of-object", b'[{"a":1}]'),
    ("string", b'"at+jwt"'),
    ("number", b"1"),
    ("null", b"null"),
    ("not-utf8", b'{"a":"\xff\xfe"}'),
    ("latin1", '{"a":"café"}'.encode("latin-1")),
    ("utf16", '{"a":1}'.encode("utf-16")),
    ("deep-arrays", DEEP.encode()),
    ("deep-objects", ('{"a":' * 5000 + "1" + "}" * 5000).encode()),
    ("trailing-garbage", b'{"a":1} x'),
    ("two-objects", b'{"a":1}{"a":1}'),
]


@pytest.mark.parametrize(("case", "raw"), BAD_JSON, ids=[c for c, _ in BAD_JSON])
def test_header_that_is_not_a_strict_json_object_is_malformed(case: str, raw: bytes) -> None:
    with pytest.raises(MalformedToken):
        verify(sign_raw(raw, GOOD_PAYLOAD), rules=BIG_RULES)


@pytest.mark.parametrize(("case", "raw"), BAD_JSON, ids=[c for c, _ in BAD_JSON])
def test_payload_that_is_not_a_strict_json_object_is_malformed(case: str, raw: bytes) -> None:
    with pytest.raises(MalformedToken):
        verify(sign_raw(GOOD_HEADER, raw), rules=BIG_RULES)


def test_duplicate_header_member_is_malformed() -> None:
    # Python's json would keep the last kid; a strict parser must refuse.
    raw = _with_text(header(kid="@@"), "@@", f'"{ED_OTHER.kid}","kid":"{ED.kid}"')
    with pytest.raises(MalformedToken):
        verify(sign_raw(raw, GOOD_PAYLOAD))


@pytest.mark.parametrize("name", ["sub", "roles", "exp", "iss"])
def test_duplicate_payload_member_with_the_same_value_is_malformed(name: str) -> None:
    value = json.dumps(claims()[name], separators=(",", ":"))
    raw = _with_text(claims(**dict[str, Any]({name: "@@"})), "@@", f'{value},"{name}":{value}')
    with pytest.raises(MalformedToken):
        verify(sign_raw(GOOD_HEADER, raw))


def test_payload_duplicate_sub_cannot_smuggle_a_second_identity() -> None:
    raw = _with_text(claims(sub="@@"), "@@", '"alice","sub":"admin"')
    with pytest.raises(MalformedToken):
        verify(sign_raw(GOOD_HEADER, raw))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ["header", "payload"])
def test_nan_or_infinity_anywhere_is_malformed(constant: str, where: str) -> None:
    if where == "header":
        token = sign_raw(_with_text(header(extra="@@"), "@@", constant), GOOD_PAYLOAD)
    else:
        token = sign_raw(GOOD_HEADER, _with_text(claims(extra="@@"), "@@", constant))
    with pytest.raises(MalformedToken):
        verify(token)


def test_timestamp_as_overflowing_float_literal_is_not_accepted() -> None:
    # 1e400 parses to inf without going through parse_constant.
    raw = _with_text(claims(exp="@@"), "@@", "1e400")
    with pytest.raises(InvalidClaim):
        verify(sign_raw(GOOD_HEADER, raw))


def test_integer_with_thousands_of_digits_is_malformed() -> None:
    raw = _with_text(claims(exp="@@"), "@@", "9" * 5000)
    with pytest.raises(MalformedToken):
        verify(sign_raw(GOOD_HEADER, raw), rules=BIG_RULES)


def test_nesting_up_to_the_depth_limit_is_accepted() -> None:
    assert verify(make(claims(extra=[[1]]))).sub == "alice"


@pytest.mark.parametrize("levels", [3, 10, 40])
def test_payload_nested_deeper_than_the_limit_is_malformed(levels: int) -> None:
    nested: Any = 1
    for _ in range(levels):
        nested = [nested]
    with pytest.raises(MalformedToken):
        verify(make(claims(extra=nested)))


def test_header_nested_deeper_than_the_limit_is_malformed() -> None:
    with pytest.raises(MalformedToken):
        verify(make(hdr=header(extra={"a": {"b": [1]}})))


@pytest.mark.parametrize("where", ["header", "payload"])
def test_five_thousand_levels_of_nesting_is_malformed_not_recursion_error(where: str) -> None:
    if where == "header":
        token = sign_raw(_with_text(header(extra="@@"), "@@", DEEP), GOOD_PAYLOAD)
    else:
        token = sign_raw(GOOD_HEADER, _with_text(claims(extra="@@"), "@@", DEEP))
    with pytest.raises(MalformedToken):
        verify(token, rules=BIG_RULES)


# -- nothing but TokenError escapes ---------------------------------------------


def _mutations(token: str, rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "-_.=+/ \n\x00é"
    chars = list(token)
    kind = rng.randrange(5)
    i = rng.randrange(len(chars))
    if kind == 0:
        chars[i] = rng.choice(alphabet)
    elif kind == 1:
        del chars[i]
    elif kind == 2:
        chars.insert(i, rng.choice(alphabet))
    elif kind == 3:
        return token[:i]
    else:
        j = rng.randrange(len(chars))
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_random_mutations_are_rejected_only_with_token_errors(key: SigningKey) -> None:
    token = make(key=key)
    rng = random.Random(20240601)
    rejected = 0
    for _ in range(400):
        mutated = _mutations(token, rng)
        try:
            result = verify(mutated)
        except TokenError:
            rejected += 1
            continue
        # A mutation may only pass if it changed nothing: one token, one spelling.
        assert mutated == token
        assert result.sub == "alice"
    assert rejected > 350


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(max_size=300)
    | st.from_regex(r"\A[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,90}\Z")
)
def test_arbitrary_text_is_rejected_only_with_token_errors(text: str) -> None:
    with pytest.raises(TokenError):
        verify(text)


@settings(max_examples=100, deadline=None, database=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_arbitrary_signed_payload_is_rejected_only_with_token_errors(value: Any) -> None:
    token = sign_raw(GOOD_HEADER, json.dumps(value).encode())
    with pytest.raises(TokenError):
        verify(token)
