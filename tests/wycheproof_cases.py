"""Wycheproof vectors, read from the copies in tests/vectors/wycheproof/ (see SOURCE.md there).

File format (schema ``*_schema_v1.json``): ``{"testGroups": [group, ...]}``;

* JWS suite: a group holds one key, ``public`` (a JWK) or, for HMAC, only
  ``private``; each test has a compact ``jws``, ``result`` (``valid`` /
  ``invalid``), ``flags`` and ``comment``.
* JWK suite: the same, but ``public`` / ``private`` are whole key sets
  (``{"keys": [...]}``) and the test asks whether the *key set* can be used
  to verify ``jws``.
* Primitive suites (Ed25519, ECDSA P-256 with raw ``r || s``): a group holds
  ``publicKeyJwk``; each test has hex ``msg`` and ``sig``.

The key-set helpers here are the test-only path from a vector's JWK to a
:class:`KeySet`: the project's own loader, and when it refuses, a stand-in
key Gatehouse does support, filed under the vector's ``kid``, so a refused
key never turns into an empty key set that rejects everything for free.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gatehouse.jose.keys import (
    SUPPORTED_ALGORITHMS,
    KeyLoadError,
    KeySet,
    PublicKey,
    generate_signing_jwk,
    load_keyset,
    parse_public_jwk,
    parse_signing_jwk,
)
from gatehouse.jose.signatures import P256_HALF_ORDER, P256_ORDER, SIGNATURE_BYTES

VECTOR_DIR = Path(__file__).resolve().parent / "vectors" / "wycheproof"
JWS_FILE = "json_web_signature_test.json"
JWK_FILE = "json_web_key_test.json"
ED25519_FILE = "ed25519_test.json"
P256_FILE = "ecdsa_secp256r1_sha256_p1363_test.json"
VECTOR_FILES = (JWS_FILE, JWK_FILE, ED25519_FILE, P256_FILE)
RESULTS = ("valid", "invalid", "acceptable")
# The production default (Settings.max_token_bytes): vectors meet the real bound.
MAX_BYTES = 8192

# Upstream vectors whose label is known to be wrong (other JOSE test suites
# skip these same tcIds).  Gatehouse does not skip them: each must be
# rejected, with exactly this error.
#   367, 370: byte-for-byte the valid tcId 357, labelled invalid;
#   372, 373: a '?' inside a segment, labelled valid.
# Gatehouse supports neither HS256 nor a lenient base64url decoder, so
# 367/370 fail on the algorithm and 372/373 on the shape.
KNOWN_MISLABELLED: dict[int, str] = {
    367: "UnsupportedAlgorithm",
    370: "UnsupportedAlgorithm",
    372: "MalformedToken",
    373: "MalformedToken",
}


@cache
def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))
    return document


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:48] or "x"


@dataclass(frozen=True)
class JoseVector:
    """One test of the JWS or JWK suite, with the key material of its group."""

    file: str
    group: str
    tc_id: int
    comment: str
    result: str
    flags: tuple[str, ...]
    jws: str
    keys: tuple[dict[str, Any], ...]  # the group's JWKs, public ones when given

    @property
    def id(self) -> str:
        return f"tc{self.tc_id}-{self.result}-{_slug(self.group)}-{_slug(self.comment)}"

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset(str(k.get("alg")) for k in self.keys)

    @property
    def supported(self) -> bool:
        """Every key of the group names an algorithm Gatehouse verifies."""
        return self.algorithms <= set(SUPPORTED_ALGORITHMS)


@dataclass(frozen=True)
class PrimitiveVector:
    """One test of a signature primitive suite."""

    file: str
    group: int
    tc_id: int
    comment: str
    result: str
    flags: tuple[str, ...]
    msg: bytes
    sig: bytes
    jwk: dict[str, Any]

    @property
    def id(self) -> str:
        flags = "-".join(self.flags) or "noflag"
        return f"tc{self.tc_id}-{self.result}-{_slug(flags)}"


def _checked_result(result: str) -> str:
    if result not in RESULTS:
        raise ValueError(f"unknown Wycheproof result kind {result!r}")
    return result


def _group_keys(group: dict[str, Any], *, keyset: bool) -> tuple[dict[str, Any], ...]:
    material = group.get("public") or group["private"]
    return tuple(material["keys"]) if keyset else (material,)


def jose_vectors(name: str) -> list[JoseVector]:
    keyset = name == JWK_FILE
    vectors = []
    for group in load(name)["testGroups"]:
        keys = _group_keys(group, keyset=keyset)
        for test in group["tests"]:
            vectors.append(
                JoseVector(
                    file=name,
                    group=str(group.get("comment", "")),
                    tc_id=int(test["tcId"]),
                    comment=str(test["comment"]),
                    result=_checked_result(test["result"]),
                    flags=tuple(test["flags"]),
                    jws=str(test["jws"]),
                    keys=keys,
                )
            )
    return vectors


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _raw_public_jwk(public_key: dict[str, Any]) -> dict[str, Any]:
    """A JWK from the group's raw public key, for the few groups that carry no ``publicKeyJwk``."""
    if public_key["type"] == "EcPublicKey" and public_key["curve"] == "secp256r1":
        x, y = (int(public_key[w], 16).to_bytes(32, "big") for w in ("wx", "wy"))
        return {"kty": "EC", "crv": "P-256", "x": _b64url(x), "y": _b64url(y)}
    if public_key["type"] == "EDDSAPublicKey" and public_key["curve"] == "edwards25519":
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(bytes.fromhex(public_key["pk"]))}
    raise ValueError(f"no JWK form for {public_key['type']} on {public_key['curve']}")


def primitive_vectors(name: str, alg: str) -> list[PrimitiveVector]:
    vectors = []
    for index, group in enumerate(load(name)["testGroups"]):
        public = group.get("publicKeyJwk") or _raw_public_jwk(group["publicKey"])
        # The JWK as Gatehouse would publish it: bound to one alg, with a kid.
        jwk = {**public, "alg": alg, "kid": f"wycheproof-{index}", "use": "sig"}
        for test in group["tests"]:
            vectors.append(
                PrimitiveVector(
                    file=name,
                    group=index,
                    tc_id=int(test["tcId"]),
                    comment=str(test["comment"]),
                    result=_checked_result(test["result"]),
                    flags=tuple(test["flags"]),
                    msg=bytes.fromhex(test["msg"]),
                    sig=bytes.fromhex(test["sig"]),
                    jwk=jwk,
                )
            )
    return vectors


def is_high_s(signature: bytes) -> bool:
    """A raw ES256 ``r || s`` whose ``s`` is above n/2 but below n: it has a low-S twin."""
    s = int.from_bytes(signature[32:], "big")
    return len(signature) == SIGNATURE_BYTES and P256_HALF_ORDER < s < P256_ORDER


def low_s_twin(signature: bytes) -> bytes:
    """``r || (n - s)``: valid exactly when ``r || s`` is (ECDSA verifies ``R`` and ``-R`` alike)."""
    s = int.from_bytes(signature[32:], "big")
    return signature[:32] + (P256_ORDER - s).to_bytes(32, "big")


def primitive_key(vector: PrimitiveVector) -> PublicKey:
    """The group's key, loaded by the project's own JWK parser."""
    return parse_public_jwk(vector.jwk)


# -- key sets -------------------------------------------------------------------


def vector_keyset(vector: JoseVector) -> KeySet:
    """The group's keys through the project's loader (``load_keyset``); KeyLoadError if refused."""
    return load_keyset(json.dumps({"keys": list(vector.keys)}))


@cache
def _stand_in(alg: str, kid: str) -> PublicKey:
    return parse_signing_jwk({**generate_signing_jwk(alg), "kid": kid}).public


def stand_in_keyset(vector: JoseVector, alg: str = "ES256") -> KeySet:
    """Keys Gatehouse supports, one per distinct ``kid`` of the group's (refused) keys."""
    kids = dict.fromkeys(str(k.get("kid") or "wycheproof") for k in vector.keys)
    return KeySet(_stand_in(alg, kid) for kid in kids)


def keyset_or_refusal(vector: JoseVector) -> tuple[KeySet | None, KeyLoadError | None]:
    try:
        return vector_keyset(vector), None
    except KeyLoadError as refused:
        return None, refused


def iter_all_ids() -> Iterator[tuple[str, str]]:
    """(file, id) of every vector, for the report."""
    for name in (JWS_FILE, JWK_FILE):
        for vector in jose_vectors(name):
            yield name, vector.id
    for name, alg in ((ED25519_FILE, "EdDSA"), (P256_FILE, "ES256")):
        for primitive in primitive_vectors(name, alg):
            yield name, primitive.id
