"""Unit tests for chalicelib.gatehouse.verify.keys: JWK parsing, key sets, generation, thumbprints."""

from __future__ import annotations

import json
import traceback
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chalicelib.gatehouse.errors import ConfigError
from chalicelib.gatehouse.verify.keys import (
    MAX_KID_LENGTH,
    KeyLoadError,
    KeySet,
    PublicKey,
    SigningKey,
    generate_signing_jwk,
    load_keyset,
    load_signing_key,
    parse_public_jwk,
    parse_signing_jwk,
    public_jwks,
    thumbprint,
)
from chalicelib.gatehouse.web.responses import rendering_of

ALGS = ["EdDSA", "ES256"]
PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"]

# RFC 8037 appendix A.1-A.3: an Ed25519 key and its RFC 7638 thumbprint.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

# Generated once: key generation is cheap, but the tests mutate copies only.
PRIVATE = {alg: generate_signing_jwk(alg) for alg in ALGS}


def _apply(jwk: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for name, value in changes.items():
        if value is DROP:
            jwk.pop(name, None)
        else:
            jwk[name] = value
    return jwk


def private_jwk(base: str = "EdDSA", /, **changes: Any) -> dict[str, Any]:
    """A copy of the generated private JWK for ``base``, with members changed or DROPped."""
    return _apply(dict(PRIVATE[base]), changes)


def public_jwk(base: str = "EdDSA", /, **changes: Any) -> dict[str, Any]:
    """Its public half (no ``d``), with members changed or DROPped."""
    return _apply({k: v for k, v in PRIVATE[base].items() if k != "d"}, changes)


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()


def parse(private: bool, base: str = "EdDSA", /, **changes: Any) -> PublicKey | SigningKey:
    """Parse a changed copy of the test key, as a signing key or as its public half."""
    if private:
        return parse_signing_jwk(private_jwk(base, **changes))
    return parse_public_jwk(public_jwk(base, **changes))


def raw_public(key: Any) -> bytes:
    if isinstance(key, Ed25519PublicKey):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return bytes(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def assert_no_secret(exc: BaseException, secret: str) -> None:
    """The private value must not reach the message, the repr or a printed traceback."""
    assert secret not in str(exc)
    assert secret not in repr(exc)
    assert secret not in "".join(traceback.format_exception(exc))
    assert exc.__cause__ is None
    # A chained library error could quote the JWK: it must not be printed either.
    assert exc.__context__ is None or exc.__suppress_context__


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


# -- key sets -----------------------------------------------------------------


def test_keyset_finds_keys_by_kid_and_knows_no_others() -> None:
    ed, es = (parse_public_jwk(public_jwk(alg)) for alg in ALGS)

    keys = KeySet([ed, es])

    assert len(keys) == 2
    assert keys.get(ed.kid) is ed
    assert keys.get(es.kid) is es
    assert keys.get("unknown") is None
    assert ed.kid in keys
    assert "unknown" not in keys
    assert 42 not in keys
    assert list(keys) == [ed, es]


def test_empty_keyset_knows_no_keys() -> None:
    keys = KeySet([])
    assert len(keys) == 0
    assert keys.get(PRIVATE["EdDSA"]["kid"]) is None
    assert keys.jwks() == {"keys": []}


def test_duplicate_kid_in_a_keyset_is_refused() -> None:
    key = parse_public_jwk(public_jwk())
    with pytest.raises(KeyLoadError, match="appears twice"):
        KeySet([key, key])


def test_duplicate_kid_with_different_keys_in_a_jwks_document_is_refused() -> None:
    first = public_jwk("EdDSA", kid="same")
    second = {k: v for k, v in generate_signing_jwk("ES256").items() if k != "d"} | {"kid": "same"}

    with pytest.raises(KeyLoadError, match="appears twice"):
        load_keyset(json.dumps({"keys": [first, second]}))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        '{"keys": [',
        "null",
        "[]",
        "{}",
        '{"keys": []}',
        '{"keys": {}}',
        '{"keys": "x"}',
        '{"keys": null}',
        '{"key": [{}]}',
        json.dumps([{"keys": []}]),
    ],
)
def test_jwks_text_that_is_not_a_non_empty_jwks_document_is_refused(text: str) -> None:
    with pytest.raises(KeyLoadError):
        load_keyset(text)


def test_jwks_with_a_private_member_is_refused_without_quoting_it() -> None:
    jwk = PRIVATE["EdDSA"]
    with pytest.raises(KeyLoadError, match="must not hold private members") as info:
        load_keyset(json.dumps({"keys": [jwk]}))
    assert_no_secret(info.value, jwk["d"])


def test_jwks_with_one_bad_member_is_refused_as_a_whole() -> None:
    good = public_jwk("EdDSA")
    bad = public_jwk("ES256", alg="RS256")
    with pytest.raises(KeyLoadError):
        load_keyset(json.dumps({"keys": [good, bad]}))


def test_keyset_jwks_contains_only_public_members() -> None:
    keys = KeySet(load_signing_key(json.dumps(PRIVATE[alg])).public for alg in ALGS)

    document = keys.jwks()

    assert [k["kid"] for k in document["keys"]] == [PRIVATE[alg]["kid"] for alg in ALGS]
    for entry in document["keys"]:
        assert not set(entry) & set(PRIVATE_MEMBERS)
        assert set(entry) <= {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert PRIVATE["EdDSA"]["d"] not in json.dumps(document)
    assert PRIVATE["ES256"]["d"] not in json.dumps(document)


def test_keyset_jwks_returns_copies_that_cannot_change_the_set() -> None:
    keys = load_keyset(json.dumps(public_jwks([PRIVATE["EdDSA"]])))

    document = keys.jwks()
    document["keys"][0]["x"] = "tampered"
    document["keys"].append({"kid": "extra"})

    assert keys.jwks() == public_jwks([PRIVATE["EdDSA"]])


def test_public_jwks_publishes_no_private_members() -> None:
    document = public_jwks(PRIVATE.values())
    text = json.dumps(document)

    assert len(document["keys"]) == 2
    for alg in ALGS:
        assert PRIVATE[alg]["d"] not in text
    assert all("d" not in entry for entry in document["keys"])


def test_public_jwks_round_trips_through_load_keyset() -> None:
    document = public_jwks(PRIVATE.values())

    keys = load_keyset(json.dumps(document))

    assert keys.jwks() == document
    for alg in ALGS:
        signing = load_signing_key(json.dumps(PRIVATE[alg]))
        loaded = keys.get(signing.kid)
        assert loaded is not None
        assert loaded.alg == alg
        assert raw_public(loaded.key) == raw_public(signing.public.key)


def test_public_jwks_refuses_a_public_only_input() -> None:
    with pytest.raises(KeyLoadError):
        public_jwks([public_jwk()])
