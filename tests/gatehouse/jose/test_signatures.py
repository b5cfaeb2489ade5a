"""The signature module: strict JWK members to keys, the signature check, and what it imports.

Known answers come from RFC 8037 appendix A (Ed25519) and RFC 7515 appendix
A.3 (ES256, whose published signature happens to be high S).  The verify
path's imports are checked in fresh interpreters: no PyJWT and no
``cryptography.x509`` until a token is issued.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from gatehouse.jose.access_tokens import TokenRules, issue_access_token, verify_access_token
from gatehouse.jose.keys import generate_signing_jwk, load_keyset, load_signing_key, public_jwks
from gatehouse.jose.signatures import (
    P256_HALF_ORDER,
    P256_ORDER,
    P256_PRIME,
    generate_private_key,
    load_private_key,
    load_public_key,
    low_s_signature,
    private_jwk,
    public_jwk,
    verify_signature,
)
from tests.conftest import ROOT
from tests.processes import python_json

ALGS = ["EdDSA", "ES256"]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
RULES = TokenRules(issuer="https://gatehouse.test", audience="api", lifetime=900, leeway=30, max_bytes=8192)
P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B

# RFC 8037 A.1 and A.4: an Ed25519 public key and its JWS signature.
RFC8037_JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
RFC8037_INPUT = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
RFC8037_SIG = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
# RFC 7515 A.3: a P-256 public key and its ES256 signature.
RFC7515_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}
RFC7515_INPUT = (
    b"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl"
    b"LmNvbS9pc19yb290Ijp0cnVlfQ"
)
RFC7515_SIG = "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fresh(alg: str) -> dict[str, str]:
    """A private JWK's members (kty, crv, x, [y], d) of a new key."""
    return private_jwk(generate_private_key(alg))


def public_of(jwk: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in jwk.items() if k != "d"}


def p256_point_with_small_x() -> tuple[int, int]:
    """A point on P-256 whose x is tiny, so x + p still fits in 32 bytes."""
    for x in range(1, 100):
        rhs = (x**3 - 3 * x + P256_B) % P256_PRIME
        y = pow(rhs, (P256_PRIME + 1) // 4, P256_PRIME)  # p = 3 mod 4
        if y * y % P256_PRIME == rhs:
            return x, y
    raise AssertionError("no small x found")


def es256_raw(private: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """A raw low-S ES256 signature made by cryptography itself (DER, converted)."""
    r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA256())))
    return low_s_signature(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def ecdsa_with_s(s: int, message: bytes) -> tuple[ec.EllipticCurvePublicKey, bytes]:
    """A key and a valid raw signature (r, s) of ``message`` for a chosen ``s``.

    Picks the nonce k, then solves s = k^-1 (z + r d) for the private key d.
    """
    k = 0x1234567890ABCDEF
    r = ec.derive_private_key(k, ec.SECP256R1()).public_key().public_numbers().x % P256_ORDER
    digest = hashes.Hash(hashes.SHA256())
    digest.update(message)
    z = int.from_bytes(digest.finalize(), "big")
    d = (s * k - z) * pow(r, -1, P256_ORDER) % P256_ORDER
    public = ec.derive_private_key(d, ec.SECP256R1()).public_key()
    return public, r.to_bytes(32, "big") + s.to_bytes(32, "big")


# -- known answers -------------------------------------------------------------------------


def test_rfc8037_ed25519_example_verifies_and_only_for_its_own_input() -> None:
    key = load_public_key("EdDSA", RFC8037_JWK)

    assert verify_signature("EdDSA", key, RFC8037_INPUT, unb64(RFC8037_SIG)) is True
    assert verify_signature("EdDSA", key, RFC8037_INPUT + b"x", unb64(RFC8037_SIG)) is False


def test_rfc7515_es256_example_is_high_s_so_only_its_low_s_twin_verifies() -> None:
    key = load_public_key("ES256", RFC7515_JWK)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    signature = unb64(RFC7515_SIG)
    assert int.from_bytes(signature[32:], "big") > P256_HALF_ORDER

    assert verify_signature("ES256", key, RFC7515_INPUT, signature) is False
    assert verify_signature("ES256", key, RFC7515_INPUT, low_s_signature(signature)) is True
    # The high-S form is a valid ECDSA signature: refused by the rule, not by the arithmetic.
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    key.verify(encode_dss_signature(r, s), RFC7515_INPUT, ec.ECDSA(hashes.SHA256()))


# -- loading public keys --------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_public_members_round_trip_through_load_and_export(alg: str) -> None:
    members = public_of(fresh(alg))
    assert public_jwk(load_public_key(alg, members)) == members


@pytest.mark.parametrize(
    ("alg", "member", "size"),
    [("EdDSA", "x", 31), ("EdDSA", "x", 33), ("EdDSA", "x", 0), ("ES256", "x", 31), ("ES256", "y", 33)],
)
def test_public_member_of_the_wrong_length_is_refused(alg: str, member: str, size: int) -> None:
    members = {**public_of(fresh(alg)), member: b64(b"\x01" * size)}
    with pytest.raises(ValueError, match=f"^{member} must be 32 bytes"):
        load_public_key(alg, members)


def test_p256_coordinate_with_its_leading_zero_bytes_stripped_is_refused() -> None:
    # RFC 7518 section 6.2.1.2: the full 32 bytes, always; one key, one spelling.
    x, y = p256_point_with_small_x()
    point = {"kty": "EC", "crv": "P-256", "y": b64(y.to_bytes(32, "big"))}
    assert load_public_key("ES256", {**point, "x": b64(x.to_bytes(32, "big"))})

    with pytest.raises(ValueError, match=r"^x must be 32 bytes"):
        load_public_key("ES256", {**point, "x": b64(x.to_bytes(31, "big"))})


@pytest.mark.parametrize(
    "spelling",
    [
        lambda v: v + "=",
        lambda v: "+" + v[1:],
        lambda v: v[:10] + "/" + v[11:],
        lambda v: " " + v[1:],
        lambda v: v[:20] + "\n" + v[21:],
        lambda v: v[:-1] + "\u0661",
    ],
    ids=["padded", "plus", "slash", "space", "newline", "non-ascii-digit"],
)
@pytest.mark.parametrize("alg", ALGS)
def test_public_x_not_in_canonical_unpadded_base64url_is_refused(alg: str, spelling: Any) -> None:
    members = public_of(fresh(alg))
    changed = spelling(members["x"])
    assert changed != members["x"]
    with pytest.raises(ValueError, match=r"^x (must be 32 bytes|is not canonical)"):
        load_public_key(alg, {**members, "x": changed})


def test_base64url_with_non_zero_unused_bits_decodes_to_the_same_bytes_yet_is_refused() -> None:
    # 43 characters carry 258 bits for 32 bytes: the last character's two low bits are unused.
    members = public_of(fresh("EdDSA"))
    twin = members["x"][:-1] + ALPHABET[ALPHABET.index(members["x"][-1]) | 1]
    assert twin != members["x"]
    assert unb64(twin) == unb64(members["x"])  # a lenient decoder sees one key

    with pytest.raises(ValueError, match="canonical"):
        load_public_key("EdDSA", {**members, "x": twin})


@pytest.mark.parametrize("value", [None, 7, b"x" * 43, ["x"]], ids=["null", "int", "bytes", "list"])
@pytest.mark.parametrize("alg", ALGS)
def test_public_x_that_is_not_a_string_is_refused(alg: str, value: object) -> None:
    with pytest.raises(ValueError, match=r"^x must be 32 bytes"):
        load_public_key(alg, {**public_of(fresh(alg)), "x": value})


def test_p256_point_off_the_curve_is_refused() -> None:
    members = public_of(fresh("ES256"))
    y = int.from_bytes(unb64(members["y"]), "big")
    with pytest.raises(ValueError, match="not a point on P-256"):
        load_public_key("ES256", {**members, "y": b64(((y + 1) % P256_PRIME).to_bytes(32, "big"))})


def test_p256_coordinate_spelled_plus_the_field_prime_is_refused() -> None:
    x, y = p256_point_with_small_x()
    point = {"kty": "EC", "crv": "P-256", "y": b64(y.to_bytes(32, "big"))}
    assert load_public_key("ES256", {**point, "x": b64(x.to_bytes(32, "big"))})  # the point itself is fine

    with pytest.raises(ValueError, match="below the P-256 field prime"):
        load_public_key("ES256", {**point, "x": b64((x + P256_PRIME).to_bytes(32, "big"))})


@pytest.mark.parametrize(
    ("alg", "base", "changes"),
    [
        ("EdDSA", "EdDSA", {"kty": "EC"}),
        ("EdDSA", "EdDSA", {"crv": "Ed448"}),
        ("ES256", "ES256", {"crv": "P-384"}),
        ("ES256", "ES256", {"kty": "OKP"}),
        ("ES256", "EdDSA", {}),
        ("HS256", "EdDSA", {}),
        ("none", "ES256", {}),
    ],
)
def test_key_type_or_curve_not_bound_to_the_alg_is_refused(
    alg: str, base: str, changes: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match=r"needs kty|alg must be one of"):
        load_public_key(alg, {**public_of(fresh(base)), **changes})


# -- loading private keys --------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_private_members_round_trip_and_sign_what_the_public_half_verifies(alg: str) -> None:
    members = fresh(alg)
    key = load_private_key(alg, members)
    assert private_jwk(key) == members

    signature = key.sign(b"m") if isinstance(key, Ed25519PrivateKey) else es256_raw(key, b"m")
    assert verify_signature(alg, load_public_key(alg, public_of(members)), b"m", signature) is True


@pytest.mark.parametrize("alg", ALGS)
def test_d_of_another_key_under_these_public_members_is_refused(alg: str) -> None:
    members, other = fresh(alg), fresh(alg)
    with pytest.raises(ValueError, match="do not belong to d") as info:
        load_private_key(alg, {**members, "d": other["d"]})
    assert other["d"] not in str(info.value)
    assert members["d"] not in str(info.value)


@pytest.mark.parametrize(
    "d",
    [bytes(32), P256_ORDER.to_bytes(32, "big"), b"\xff" * 32, b"\x01" * 31, b"\x01" * 33],
    ids=["zero", "order", "above-order", "31-bytes", "33-bytes"],
)
def test_p256_d_out_of_range_or_of_the_wrong_length_is_refused(d: bytes) -> None:
    with pytest.raises(ValueError, match=r"^d must be") as info:
        load_private_key("ES256", {**fresh("ES256"), "d": b64(d)})
    assert b64(d) not in str(info.value)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("missing", ["x", "d"])
def test_private_key_without_x_or_d_is_refused(alg: str, missing: str) -> None:
    members = {k: v for k, v in fresh(alg).items() if k != missing}
    with pytest.raises(ValueError, match=f"^{missing} must be"):
        load_private_key(alg, members)


def test_public_jwk_of_a_key_on_another_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="P-256"):
        public_jwk(ec.generate_private_key(ec.SECP384R1()).public_key())


def test_generating_an_unsupported_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="alg must be one of"):
        generate_private_key("HS256")


# -- verify_signature ---------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 63, 65, 72, 128])
@pytest.mark.parametrize("alg", ALGS)
def test_signature_of_the_wrong_length_is_false(alg: str, length: int) -> None:
    key = load_public_key(alg, public_of(fresh(alg)))
    assert verify_signature(alg, key, b"m", b"\x01" * length) is False


def test_key_of_the_other_type_or_an_unknown_alg_is_false_not_an_exception() -> None:
    ed = Ed25519PrivateKey.generate()
    signature = ed.sign(b"m")
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()

    assert verify_signature("EdDSA", ed.public_key(), b"m", signature) is True
    assert verify_signature("ES256", ed.public_key(), b"m", signature) is False
    assert verify_signature("EdDSA", p256, b"m", signature) is False
    assert verify_signature("Ed25519", ed.public_key(), b"m", signature) is False
    assert verify_signature("EdDSA", "not a key", b"m", signature) is False


def test_es256_s_exactly_half_the_order_is_accepted_and_one_more_is_refused() -> None:
    key, signature = ecdsa_with_s(P256_HALF_ORDER, b"boundary")
    twin = signature[:32] + (P256_HALF_ORDER + 1).to_bytes(32, "big")
    assert P256_ORDER - P256_HALF_ORDER == P256_HALF_ORDER + 1  # n is odd: the pair straddles n/2

    assert verify_signature("ES256", key, b"boundary", signature) is True
    assert verify_signature("ES256", key, b"boundary", twin) is False
    r = int.from_bytes(twin[:32], "big")
    key.verify(encode_dss_signature(r, P256_HALF_ORDER + 1), b"boundary", ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize(
    "change",
    [
        lambda r, s: (0, s),
        lambda r, s: (r, 0),
        lambda r, s: (0, 0),
        lambda r, s: (P256_ORDER, s),
        lambda r, s: (r, P256_ORDER),
        lambda r, s: (P256_ORDER, P256_ORDER),
        lambda r, s: (r, P256_ORDER - s),
        lambda r, s: (r + P256_ORDER, s) if r + P256_ORDER < 2**256 else (2**256 - 1, s),
        lambda r, s: (r, s + P256_ORDER) if s + P256_ORDER < 2**256 else (r, 2**256 - 1),
    ],
    ids=["r-zero", "s-zero", "both-zero", "r-n", "s-n", "both-n", "high-s-twin", "r-plus-n", "s-plus-n"],
)
def test_es256_r_or_s_out_of_range_or_high_is_false(change: Any) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    key, signature = private.public_key(), es256_raw(private, b"m")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    assert verify_signature("ES256", key, b"m", signature) is True

    new_r, new_s = change(r, s)
    assert (
        verify_signature("ES256", key, b"m", new_r.to_bytes(32, "big") + new_s.to_bytes(32, "big")) is False
    )


def test_es256_der_signature_is_false() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.sign(b"m", ec.ECDSA(hashes.SHA256()))
    assert verify_signature("ES256", private.public_key(), b"m", der) is False


ED_KEY = load_public_key("EdDSA", public_of(fresh("EdDSA")))
ES_KEY = load_public_key("ES256", public_of(fresh("ES256")))


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(alg=st.sampled_from(ALGS), message=st.binary(max_size=64), signature=st.binary(max_size=80))
def test_arbitrary_bytes_are_never_a_signature_and_never_raise(
    alg: str, message: bytes, signature: bytes
) -> None:
    key = ED_KEY if alg == "EdDSA" else ES_KEY
    assert verify_signature(alg, key, message, signature) is False


# -- low_s_signature and the issuer ---------------------------------------------------------------


def test_low_s_signature_keeps_low_s_and_maps_high_s_to_its_twin() -> None:
    def raw(s: int) -> bytes:
        return (7).to_bytes(32, "big") + s.to_bytes(32, "big")

    assert low_s_signature(raw(1)) == raw(1)
    assert low_s_signature(raw(P256_HALF_ORDER)) == raw(P256_HALF_ORDER)
    assert low_s_signature(raw(P256_HALF_ORDER + 1)) == raw(P256_HALF_ORDER)
    assert low_s_signature(raw(P256_ORDER - 1)) == raw(1)


@pytest.mark.parametrize(
    "signature",
    [
        b"",
        bytes(63),
        bytes(64),
        b"\x01" * 32 + P256_ORDER.to_bytes(32, "big"),
        P256_ORDER.to_bytes(32, "big") * 2,
    ],
    ids=["empty", "63-bytes", "zeros", "s-is-n", "r-is-n"],
)
def test_low_s_signature_refuses_what_is_not_a_raw_es256_signature(signature: bytes) -> None:
    with pytest.raises(ValueError, match="Not a raw ES256 signature"):
        low_s_signature(signature)


def test_every_es256_token_the_service_issues_is_low_s_and_verifies() -> None:
    # PyJWT's ES256 signatures are high S half of the time; the issuer must normalise each one.
    key = load_signing_key(json.dumps(generate_signing_jwk("ES256")))
    keys = load_keyset(json.dumps({"keys": [key.public.jwk]}))
    now = int(time.time())
    for n in range(64):
        token, _ = issue_access_token(
            key, RULES, subject=f"u{n}", username="someone", session_id="s", roles=["user"], now=now
        )
        s = int.from_bytes(unb64(token.rpartition(".")[2])[32:], "big")
        assert 0 < s <= P256_HALF_ORDER
        assert verify_access_token(token, keys, RULES, now=now).sub == f"u{n}"


# -- what the verify path imports -------------------------------------------------------------------

# Prints, as JSON, which of the watched modules are loaded after each step.
_WATCH = """[m for m in ("jwt", "cryptography.x509") if m in sys.modules]"""


def _env(**settings: str) -> dict[str, str]:
    """This environment without endpoints or other Gatehouse settings than ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_ENDPOINT_URL", "GATEHOUSE_", "PYTHONPATH"))
    }
    return {**env, "PYTHONPATH": str(ROOT), **settings}


_run = python_json


@pytest.mark.parametrize("alg", ALGS)
def test_verifying_a_token_imports_no_pyjwt_until_one_is_issued(alg: str) -> None:
    private = generate_signing_jwk(alg)
    token, _ = issue_access_token(
        load_signing_key(json.dumps(private)),
        RULES,
        subject="alice",
        username="someone",
        session_id="s",
        roles=[],
        now=1_800_000_000,
    )
    answer = _run(
        f"""
        import json, sys
        import gatehouse.jose.keys, gatehouse.jose.access_tokens
        from gatehouse.jose.access_tokens import TokenRules, issue_access_token, verify_access_token
        rules = TokenRules(**json.loads(sys.argv[3]))
        keys = gatehouse.jose.keys.load_keyset(sys.argv[1])
        claims = verify_access_token(sys.argv[2], keys, rules, now=1_800_000_000)
        after_verify = {_WATCH}
        signing = gatehouse.jose.keys.load_signing_key(sys.argv[4])
        issue_access_token(
            signing, rules, subject="bob", username="someone", session_id="s", roles=[], now=1_800_000_000
        )
        print(json.dumps({{"sub": claims.sub, "after_verify": after_verify, "after_issue": {_WATCH}}}))
        """,
        _env(),
        json.dumps(public_jwks([private])),
        token,
        json.dumps(RULES._asdict()),
        json.dumps(private),
    )
    # The control: issuing does import PyJWT, so the first check can see it.
    assert answer == {"sub": "alice", "after_verify": [], "after_issue": ["jwt", "cryptography.x509"]}
