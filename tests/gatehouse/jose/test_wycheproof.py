"""Every Wycheproof JWS, JWK, Ed25519 and ECDSA P-256 (raw r || s) vector, against Gatehouse's own code.

* JWS suite: ``verify_jws`` (the signature layer) with the group's key
  loaded by ``load_keyset``.  ``invalid``: rejected with a TokenError,
  never another exception.  ``valid`` for EdDSA / ES256: accepted, header
  and payload intact.  ``valid`` for any other algorithm: the loader
  refuses the key, and the token is refused as ``unsupported_algorithm``
  even by a key set holding a supported key under the vector's ``kid``.
* JWK suite: the same, with whole key sets; a refused key set must be
  refused for the reason named in ``REFUSED_SUPPORTED_KEYSETS`` (or for its
  algorithm).
* Primitive suites: ``verify_signature``, the very call the verifier makes,
  with the group's key loaded by ``parse_public_jwk``.  ``valid`` accepted;
  ``invalid`` rejected; ``acceptable`` (none in these files) must be
  rejected too, so a vector update that adds some fails here until someone
  decides.
* ES256 high S: Wycheproof labels ``(r, s)`` and its twin ``(r, n - s)``
  alike, while Gatehouse accepts only the low-S one (one token, one
  spelling).  A vector with n/2 < s < n must be refused, and its low-S twin
  must get the vector's own label: so every such vector still checks the
  ECDSA arithmetic, through the same call.

Counts per file and result: ``python -m tests.wycheproof_report`` (runs this
file and tabulates the outcomes it records).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gatehouse.jose import errors
from gatehouse.jose.errors import BadSignature, TokenError, UnsupportedAlgorithm
from gatehouse.jose.jws import verify_jws
from gatehouse.jose.keys import (
    SUPPORTED_ALGORITHMS,
    KeyLoadError,
    generate_signing_jwk,
    load_keyset,
)
from gatehouse.jose.signatures import verify_signature
from tests.conftest import ROOT
from tests.wycheproof_cases import (
    ED25519_FILE,
    JWK_FILE,
    JWS_FILE,
    KNOWN_MISLABELLED,
    MAX_BYTES,
    P256_FILE,
    VECTOR_DIR,
    VECTOR_FILES,
    JoseVector,
    PrimitiveVector,
    is_high_s,
    jose_vectors,
    keyset_or_refusal,
    load,
    low_s_twin,
    primitive_key,
    primitive_vectors,
    stand_in_keyset,
)

SHARED_DIR = ROOT.parent / "shared" / "vectors" / "wycheproof"
JWS_VECTORS = jose_vectors(JWS_FILE)
JWK_VECTORS = jose_vectors(JWK_FILE)
ED25519_VECTORS = primitive_vectors(ED25519_FILE, "EdDSA")
P256_VECTORS = primitive_vectors(P256_FILE, "ES256")

# JWK-suite key sets whose algorithm Gatehouse supports, refused for another defect.
REFUSED_SUPPORTED_KEYSETS = {
    "invalid_use": "use must be sig",
    "invalid_point": "is not a valid ES256 public key",
    "wrong_curve": "needs kty EC and crv P-256",
    "wrong_kty": "needs kty EC and crv P-256",
}
UNSUPPORTED_ALG_REFUSAL = "alg must be one of"


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _segments(jws: str) -> tuple[dict[str, object], bytes]:
    header, payload, _ = jws.split(".")
    decode: Callable[[str], bytes] = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))  # noqa: E731
    return json.loads(decode(header)), decode(payload)


def _expected_refusal(vector: JoseVector) -> str | None:
    """What the loader must say when refusing the group's keys; None: it must load them."""
    if not vector.supported:
        return UNSUPPORTED_ALG_REFUSAL
    return REFUSED_SUPPORTED_KEYSETS.get(vector.group) if vector.file == JWK_FILE else None


def _check_jose_vector(vector: JoseVector, record_property: Callable[[str, object], None]) -> None:
    keys, refused = keyset_or_refusal(vector)
    expected_refusal = _expected_refusal(vector)
    if expected_refusal is None:
        assert refused is None, f"the loader refused a key Gatehouse supports: {refused}"
        assert keys is not None
    else:
        assert refused is not None, "the loader accepted a key it must refuse"
        assert expected_refusal in refused.message
        keys = stand_in_keyset(vector)
    record_property("key_set", "loaded" if refused is None else "refused")

    signing_input, _, signature_b64 = vector.jws.rpartition(".")
    if vector.result == "valid" and expected_refusal is None and is_high_s(_unb64(signature_b64)):
        with pytest.raises(BadSignature):
            verify_jws(vector.jws, keys, MAX_BYTES)
        twin = f"{signing_input}.{_b64(low_s_twin(_unb64(signature_b64)))}"
        assert verify_jws(twin, keys, MAX_BYTES) == _segments(vector.jws)
        record_property("outcome", "high_s_refused_twin_accepted")
        return

    if vector.result == "valid" and expected_refusal is None:
        assert verify_jws(vector.jws, keys, MAX_BYTES) == _segments(vector.jws)
        record_property("outcome", "accepted")
        return

    if vector.tc_id in KNOWN_MISLABELLED and vector.file == JWS_FILE:
        expected: type[TokenError] = getattr(errors, KNOWN_MISLABELLED[vector.tc_id])
    elif vector.result == "valid":
        expected = UnsupportedAlgorithm  # valid, but for an algorithm Gatehouse does not verify
    else:
        expected = TokenError
    with pytest.raises(TokenError) as info:  # any other exception fails the test
        verify_jws(vector.jws, keys, MAX_BYTES)
    assert isinstance(info.value, expected), f"{type(info.value).__name__}, wanted {expected.__name__}"
    record_property("outcome", info.value.reason)


@pytest.mark.parametrize("vector", JWS_VECTORS, ids=[v.id for v in JWS_VECTORS])
def test_jws_vector(vector: JoseVector, record_property: Callable[[str, object], None]) -> None:
    _check_jose_vector(vector, record_property)


@pytest.mark.parametrize("vector", JWK_VECTORS, ids=[v.id for v in JWK_VECTORS])
def test_jwk_vector(vector: JoseVector, record_property: Callable[[str, object], None]) -> None:
    _check_jose_vector(vector, record_property)


def _check_primitive(vector: PrimitiveVector, record_property: Callable[[str, object], None]) -> None:
    key = primitive_key(vector)
    accepted = verify_signature(key.alg, key.key, vector.msg, vector.sig)
    if vector.file == P256_FILE and is_high_s(vector.sig):
        assert accepted is False, "a high-S ES256 signature was accepted"
        twin_accepted = verify_signature(key.alg, key.key, vector.msg, low_s_twin(vector.sig))
        record_property("outcome", f"high_s_refused_twin_{'accepted' if twin_accepted else 'rejected'}")
        assert twin_accepted is (vector.result == "valid")
        return
    record_property("outcome", "accepted" if accepted else "rejected")
    assert accepted is (vector.result == "valid")


@pytest.mark.parametrize("vector", ED25519_VECTORS, ids=[v.id for v in ED25519_VECTORS])
def test_ed25519_vector(vector: PrimitiveVector, record_property: Callable[[str, object], None]) -> None:
    _check_primitive(vector, record_property)


@pytest.mark.parametrize("vector", P256_VECTORS, ids=[v.id for v in P256_VECTORS])
def test_p256_vector(vector: PrimitiveVector, record_property: Callable[[str, object], None]) -> None:
    _check_primitive(vector, record_property)


# -- the harness itself -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "vectors"),
    [
        (JWS_FILE, JWS_VECTORS),
        (JWK_FILE, JWK_VECTORS),
        (ED25519_FILE, ED25519_VECTORS),
        (P256_FILE, P256_VECTORS),
    ],
    ids=["jws", "jwk", "ed25519", "p256"],
)
def test_every_vector_of_each_file_is_run_once(name: str, vectors: list[object]) -> None:
    ids = [v.id for v in vectors]  # type: ignore[attr-defined]
    assert len(ids) == load(name)["numberOfTests"]
    assert len(set(ids)) == len(ids)


def test_primitive_vectors_load_into_the_key_objects_the_verifier_uses() -> None:
    for vector in ED25519_VECTORS:
        assert isinstance(primitive_key(vector).key, Ed25519PublicKey)
    for vector in P256_VECTORS:
        key = primitive_key(vector).key
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert isinstance(key.curve, ec.SECP256R1)


def test_the_p256_suite_has_valid_and_invalid_high_s_vectors_for_the_twin_check() -> None:
    # Guards the high-S rule above: without such vectors it would check nothing.
    high = [v.result for v in P256_VECTORS if is_high_s(v.sig)]
    assert high.count("valid") >= 50
    assert high.count("invalid") >= 10
    es256_valid = [v for v in JWS_VECTORS if v.result == "valid" and v.supported]
    assert [is_high_s(_unb64(v.jws.split(".")[2])) for v in es256_valid] == [True, False]


def test_the_supported_valid_jws_vectors_are_the_es256_ones() -> None:
    # Guards the split above: if this changes, the vector files changed.
    accepted = [v.tc_id for v in JWS_VECTORS if v.result == "valid" and v.supported]
    assert accepted == [18, 378]
    assert set(SUPPORTED_ALGORITHMS) == {"EdDSA", "ES256"}


def test_known_mislabelled_vectors_are_what_the_table_says() -> None:
    by_id = {v.tc_id: v for v in JWS_VECTORS}
    assert by_id[367].jws == by_id[370].jws == by_id[357].jws
    assert by_id[357].result == "valid"
    assert {by_id[367].result, by_id[370].result} == {"invalid"}
    assert {by_id[372].result, by_id[373].result} == {"valid"}
    assert "?" in by_id[372].jws
    assert "?" in by_id[373].jws


# -- the JWK suite's defects, restated on the suite's own EC key ----------------------


def _wycheproof_ec_jwk() -> dict[str, str]:
    (group_key,) = next(v for v in JWS_VECTORS if v.tc_id == 18).keys
    return dict(group_key)


def test_the_suites_ec_key_loads_as_published() -> None:
    keys = load_keyset(json.dumps({"keys": [_wycheproof_ec_jwk()]}))
    assert [k.kid for k in keys] == ["kid-ec-sign"]


@pytest.mark.parametrize(
    ("defect", "message"),
    [
        ({"use": "enc"}, "use must be sig"),
        ({"key_ops": ["encrypt", "decrypt"]}, "key_ops must allow verify"),
        ({"d": "yy49oPcINGK2ps0LmtxpB6UTEOiITghHBif6wDqmJ3c"}, "must not hold private members"),
        ({"alg": "ES521"}, UNSUPPORTED_ALG_REFUSAL),
        ({"crv": "P-384"}, "needs kty EC and crv P-256"),
        ({"y": "UI8exy-C06a7DUnjIdENkxeFtHM4-l_41LqEw9nVgnw"}, "is not a valid ES256 public key"),
    ],
    ids=["use-enc", "key-ops-encrypt", "private-member", "alg-es521", "crv-p384", "point-off-curve"],
)
def test_single_defects_of_the_jwk_suite_refuse_the_ec_key(defect: dict[str, object], message: str) -> None:
    with pytest.raises(KeyLoadError, match=re.escape(message)):
        load_keyset(json.dumps({"keys": [{**_wycheproof_ec_jwk(), **defect}]}))


def test_duplicate_kid_of_the_jwk_suite_is_refused_for_supported_keys() -> None:
    # Like jws_duplicate_kid: two different keys under one kid, here both ES256.
    first = _wycheproof_ec_jwk()
    other = {k: v for k, v in generate_signing_jwk("ES256").items() if k != "d"}
    second = {**other, "kid": first["kid"]}
    assert second["x"] != first["x"]
    with pytest.raises(KeyLoadError, match="appears twice"):
        load_keyset(json.dumps({"keys": [first, second]}))


# -- the copies in the repository ------------------------------------------------------


def _recorded_checksums() -> dict[str, str]:
    text = (VECTOR_DIR / "SOURCE.md").read_text(encoding="utf-8")
    return dict((name, digest) for digest, name in re.findall(r"`([0-9a-f]{64})`\s+`([\w.]+)`", text))


def test_vendored_vectors_match_the_checksums_in_source_md() -> None:
    recorded = _recorded_checksums()
    assert set(recorded) == {*VECTOR_FILES, "LICENSE"}
    for name, digest in recorded.items():
        assert hashlib.sha256((VECTOR_DIR / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.skipif(not SHARED_DIR.is_dir(), reason="no shared vector folder beside the repository")
@pytest.mark.parametrize("name", [*VECTOR_FILES, "LICENSE"])
def test_vendored_vectors_are_identical_to_the_shared_copy(name: str) -> None:
    assert (VECTOR_DIR / name).read_bytes() == Path(SHARED_DIR / name).read_bytes()
