"""Unit tests for gatehouse.jose.keys: JWK parsing, generation, thumbprints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatehouse.errors import ConfigError
from gatehouse.jose.keys import (
    MAX_KID_LENGTH,
    KeyLoadError,
    PublicKey,
    SigningKey,
    generate_signing_jwk,
    load_signing_key,
    parse_public_jwk,
    parse_signing_jwk,
    thumbprint,
)
from gatehouse.web.responses import rendering_of
from tests.gatehouse.jose.key_cases import (
    ALGS,
    DROP,
    PRIVATE,
    PRIVATE_MEMBERS,
    RFC8037_D,
    RFC8037_THUMBPRINT,
    RFC8037_X,
    assert_no_secret,
    parse,
    private_jwk,
    public_jwk,
    raw_public,
)

# -- generation and thumbprints -----------------------------------------------


def test_generated_default_key_is_an_ed25519_signing_jwk() -> None:
    jwk = generate_signing_jwk()

    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    assert jwk["alg"] == "EdDSA"
    assert jwk["use"] == "sig"
    assert set(jwk) == {"kty", "crv", "x", "d", "alg", "use", "kid"}


def test_generated_es256_key_is_a_p256_signing_jwk() -> None:
    jwk = generate_signing_jwk("ES256")

    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert set(jwk) == {"kty", "crv", "x", "y", "d", "alg", "use", "kid"}


@pytest.mark.parametrize("alg", ALGS)
def test_generated_keys_are_fresh_each_time(alg: str) -> None:
    first, second = generate_signing_jwk(alg), generate_signing_jwk(alg)
    assert first["d"] != second["d"]
    assert first["kid"] != second["kid"]


@pytest.mark.parametrize("alg", ["HS256", "RS256", "none", "ES384", "eddsa", ""])
def test_generating_an_unsupported_alg_is_refused(alg: str) -> None:
    with pytest.raises(KeyLoadError):
        generate_signing_jwk(alg)


@pytest.mark.parametrize("alg", ALGS)
def test_generated_kid_is_the_rfc7638_thumbprint(alg: str) -> None:
    jwk = generate_signing_jwk(alg)
    assert jwk["kid"] == thumbprint(jwk)


def test_thumbprint_matches_the_rfc8037_example() -> None:
    assert thumbprint({"crv": "Ed25519", "kty": "OKP", "x": RFC8037_X}) == RFC8037_THUMBPRINT


@pytest.mark.parametrize("alg", ALGS)
def test_thumbprint_is_stable_and_ignores_member_order_and_non_required_members(alg: str) -> None:
    jwk = PRIVATE[alg]
    reordered = dict(reversed(list(jwk.items())))
    public_only = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y")}

    assert thumbprint(jwk) == thumbprint(jwk) == thumbprint(reordered) == thumbprint(public_only)
    assert thumbprint({**jwk, "kid": "something-else", "use": "enc"}) == thumbprint(jwk)


@pytest.mark.parametrize("alg", ALGS)
def test_thumbprint_changes_with_the_public_key(alg: str) -> None:
    assert thumbprint(PRIVATE[alg]) != thumbprint(generate_signing_jwk(alg))


def test_thumbprint_is_unpadded_base64url_of_sha256() -> None:
    value = thumbprint(PRIVATE["EdDSA"])
    assert len(value) == 43
    assert not set(value) & set("=+/")


# -- parsing: the happy paths -------------------------------------------------


def test_rfc8037_private_key_parses_with_its_public_half() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "d": RFC8037_D, "x": RFC8037_X, "alg": "EdDSA", "kid": "rfc"}

    key = parse_signing_jwk(jwk)

    assert key.public.jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": RFC8037_X,
        "kid": "rfc",
        "alg": "EdDSA",
        "use": "sig",
    }
    assert isinstance(key.key, Ed25519PrivateKey)


@pytest.mark.parametrize("alg", ALGS)
def test_signing_key_is_bound_to_its_kid_and_alg_and_its_public_half_matches(alg: str) -> None:
    jwk = PRIVATE[alg]

    key = load_signing_key(json.dumps(jwk))

    assert isinstance(key, SigningKey)
    assert (key.kid, key.alg) == (jwk["kid"], alg)
    assert (key.public.kid, key.public.alg) == (jwk["kid"], alg)
    assert raw_public(key.public.key) == raw_public(key.key.public_key())
    assert "d" not in key.public.jwk


@pytest.mark.parametrize("alg", ALGS)
def test_public_key_parses_to_the_same_key_as_the_signing_keys_public_half(alg: str) -> None:
    public = parse_public_jwk(public_jwk(alg))
    signing = parse_signing_jwk(private_jwk(alg))

    assert isinstance(public, PublicKey)
    assert raw_public(public.key) == raw_public(signing.public.key)
    assert public.jwk == signing.public.jwk


def test_es256_keys_are_p256_objects() -> None:
    key = parse_signing_jwk(private_jwk("ES256"))
    assert isinstance(key.key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.key.curve, ec.SECP256R1)


@pytest.mark.parametrize("alg", ALGS)
def test_public_jwk_keeps_only_public_members_and_normalises_use(alg: str) -> None:
    jwk = public_jwk(alg, use=DROP, key_ops=["verify"], x5c=["ignored"], ext=True)

    parsed = parse_public_jwk(jwk)

    expected = {"kty", "crv", "x", "kid", "alg", "use"} | ({"y"} if alg == "ES256" else set())
    assert set(parsed.jwk) == expected
    assert parsed.jwk["use"] == "sig"


@pytest.mark.parametrize("ops", [["verify"], ["verify", "sign"]])
def test_public_key_ops_that_allow_verify_are_accepted(ops: list[str]) -> None:
    assert parse_public_jwk(public_jwk(key_ops=ops)).kid == PRIVATE["EdDSA"]["kid"]


@pytest.mark.parametrize("ops", [["sign"], ["sign", "verify"]])
def test_private_key_ops_that_allow_sign_are_accepted(ops: list[str]) -> None:
    assert parse_signing_jwk(private_jwk(key_ops=ops)).kid == PRIVATE["EdDSA"]["kid"]


def test_kid_of_exactly_the_maximum_length_is_accepted() -> None:
    kid = "k" * MAX_KID_LENGTH
    assert parse_public_jwk(public_jwk(kid=kid)).kid == kid


def test_kid_need_not_be_the_thumbprint() -> None:
    assert parse_signing_jwk(private_jwk(kid="2024-rotation")).kid == "2024-rotation"


# -- parsing: refusals --------------------------------------------------------


@pytest.mark.parametrize("jwk", [None, [], "key", 42, ["kty"]], ids=["null", "list", "str", "int", "list2"])
@pytest.mark.parametrize("parse", [parse_public_jwk, parse_signing_jwk])
def test_jwk_that_is_not_an_object_is_refused(parse: Any, jwk: Any) -> None:
    with pytest.raises(KeyLoadError):
        parse(jwk)


@pytest.mark.parametrize(
    "kid",
    [DROP, "", "k" * (MAX_KID_LENGTH + 1), 42, None, ["kid"]],
    ids=["missing", "empty", "too-long", "int", "null", "list"],
)
@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_kid_missing_empty_too_long_or_not_a_string_is_refused(kid: Any, private: bool) -> None:
    with pytest.raises(KeyLoadError, match="kid"):
        parse(private, kid=kid)


@pytest.mark.parametrize(
    "alg", ["HS256", "RS256", "none", "None", "ES384", "ES256K", "Ed25519", "eddsa", "", None, DROP]
)
@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_alg_other_than_eddsa_or_es256_is_refused(alg: Any, private: bool) -> None:
    with pytest.raises(KeyLoadError, match="alg must be one of"):
        parse(private, alg=alg)


def test_hs256_symmetric_key_is_refused_even_when_well_formed() -> None:
    jwk = {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYnl0ZXM", "alg": "HS256", "kid": "h"}
    with pytest.raises(KeyLoadError):
        parse_public_jwk(jwk)
    with pytest.raises(KeyLoadError) as info:
        parse_signing_jwk(jwk)
    assert_no_secret(info.value, jwk["k"])


@pytest.mark.parametrize(
    ("base", "changes"),
    [
        ("EdDSA", {"kty": "EC"}),
        ("EdDSA", {"crv": "P-256"}),
        ("EdDSA", {"crv": "Ed448"}),
        ("EdDSA", {"crv": "X25519"}),
        ("EdDSA", {"kty": DROP}),
        ("EdDSA", {"crv": DROP}),
        ("EdDSA", {"alg": "ES256"}),
        ("ES256", {"kty": "OKP"}),
        ("ES256", {"crv": "P-384"}),
        ("ES256", {"crv": "Ed25519"}),
        ("ES256", {"alg": "EdDSA"}),
        ("ES256", {"kty": "RSA"}),
    ],
)
@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_kty_or_crv_not_matching_the_alg_is_refused(
    base: str, changes: dict[str, Any], private: bool
) -> None:
    with pytest.raises(KeyLoadError, match="needs kty"):
        parse(private, base, **changes)


@pytest.mark.parametrize("use", ["enc", "", "SIG", None])
@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_use_other_than_sig_is_refused(use: Any, private: bool) -> None:
    with pytest.raises(KeyLoadError, match="use must be sig"):
        parse(private, use=use)


@pytest.mark.parametrize("ops", [[], ["sign"], ["encrypt"], ["deriveKey"], "verify", {"verify": True}])
def test_public_key_ops_without_verify_are_refused(ops: Any) -> None:
    with pytest.raises(KeyLoadError, match="key_ops must allow verify"):
        parse_public_jwk(public_jwk(key_ops=ops))


@pytest.mark.parametrize("ops", [[], ["verify"], ["encrypt"], "sign", {"sign": 1}])
def test_private_key_ops_without_sign_are_refused(ops: Any) -> None:
    jwk = private_jwk(key_ops=ops)
    with pytest.raises(KeyLoadError, match="key_ops must allow sign") as info:
        parse_signing_jwk(jwk)
    assert_no_secret(info.value, jwk["d"])


@pytest.mark.parametrize("member", PRIVATE_MEMBERS)
@pytest.mark.parametrize("alg", ALGS)
def test_public_key_holding_any_private_member_is_refused(alg: str, member: str) -> None:
    secret = PRIVATE[alg]["d"]
    jwk = public_jwk(alg, **{member: secret})

    with pytest.raises(KeyLoadError, match="must not hold private members") as info:
        parse_public_jwk(jwk)
    assert_no_secret(info.value, secret)


@pytest.mark.parametrize("alg", ALGS)
def test_signing_key_without_d_is_refused(alg: str) -> None:
    with pytest.raises(KeyLoadError, match="needs private members"):
        parse_signing_jwk(public_jwk(alg))


@pytest.mark.parametrize(
    ("alg", "changes"),
    [
        ("EdDSA", {"x": "AAAA"}),
        ("EdDSA", {"x": ""}),
        ("EdDSA", {"x": 123}),
        ("EdDSA", {"x": None}),
        ("EdDSA", {"x": DROP}),
        ("EdDSA", {"x": "not base64 !!"}),
        ("EdDSA", {"x": "A" * 44}),
        ("ES256", {"x": "AAAA"}),
        ("ES256", {"y": "AAAA"}),
        ("ES256", {"y": DROP}),
        ("ES256", {"x": 5}),
        ("ES256", {"y": PRIVATE["ES256"]["x"]}),  # a point not on the curve
    ],
)
def test_public_key_with_invalid_key_bytes_is_refused(alg: str, changes: dict[str, Any]) -> None:
    with pytest.raises(KeyLoadError, match="is not a valid"):
        parse_public_jwk(public_jwk(alg, **changes))


_OTHER = {alg: generate_signing_jwk(alg) for alg in ALGS}


@pytest.mark.parametrize(
    ("alg", "changes"),
    [
        ("EdDSA", {"d": "AAAA"}),
        ("EdDSA", {"d": ""}),
        ("EdDSA", {"d": 7}),
        ("EdDSA", {"x": "AAAA"}),
        ("EdDSA", {"x": DROP}),
        ("EdDSA", {"x": _OTHER["EdDSA"]["x"]}),  # public half of another key
        ("ES256", {"d": "AAAA"}),
        ("ES256", {"y": DROP}),
        ("ES256", {"x": _OTHER["ES256"]["x"], "y": _OTHER["ES256"]["y"]}),
        ("ES256", {"d": "_" * 43}),  # larger than the group order
    ],
)
def test_signing_key_with_invalid_or_mismatched_key_bytes_is_refused_without_leaking_d(
    alg: str, changes: dict[str, Any]
) -> None:
    jwk = private_jwk(alg, **changes)

    with pytest.raises(KeyLoadError, match="is not a valid") as info:
        parse_signing_jwk(jwk)
    for secret in {PRIVATE[alg]["d"], str(jwk.get("d"))} - {"", "7"}:
        assert_no_secret(info.value, secret)


@pytest.mark.parametrize(
    "changes",
    [
        {"alg": "HS256"},
        {"alg": "ES256"},
        {"crv": "Ed448"},
        {"use": "enc"},
        {"key_ops": ["verify"]},
        {"kid": ""},
        {"x": "AAAA"},
    ],
)
def test_no_refusal_of_a_signing_key_quotes_its_d_value(changes: dict[str, Any]) -> None:
    jwk = private_jwk(**changes)

    with pytest.raises(KeyLoadError) as info:
        load_signing_key(json.dumps(jwk))
    assert_no_secret(info.value, jwk["d"])


def test_malformed_signing_key_json_is_refused_without_quoting_it() -> None:
    secret = PRIVATE["EdDSA"]["d"]
    text = json.dumps(PRIVATE["EdDSA"])[:-1]  # truncated: invalid JSON holding d

    with pytest.raises(KeyLoadError, match="signing key is not valid JSON") as info:
        load_signing_key(text)
    assert_no_secret(info.value, secret)


@pytest.mark.parametrize("text", ["", "not json", "{", "null", "[]", '"key"', "{'kid': 'single-quoted'}"])
def test_signing_key_text_that_is_not_a_json_object_is_refused(text: str) -> None:
    with pytest.raises(KeyLoadError):
        load_signing_key(text)


def test_key_load_error_is_a_config_error() -> None:
    exc = KeyLoadError()
    assert isinstance(exc, ConfigError)
    assert rendering_of(exc).status == 500
    assert exc.code == "key_error"
