"""Forged access tokens, built the way an attacker would build them.

Every attack here starts from what an attacker really has: one access token
the service issued to them (their own, from logging in), their refresh
token, and the public key set the service publishes at
``/.well-known/jwks.json``.  Nothing here touches the service's private key.

An attack is a function ``Victim -> str`` (the forged bearer token),
registered under a name that says what it does.  The in-process suite
(``tests/gatehouse/authorizer/test_forgeries*.py``) runs all of them; the end-to-end suite runs a
few of the nastiest against ``chalice local`` over HTTP.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, utils
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

# The order of the groups (RFC 8032 L for Ed25519, n for P-256).
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ATTACKER_KID = "attacker-key-1"
ATTACKER_URL = "https://attacker.example/.well-known/jwks.json"
HMAC_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


# -- encoding -------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def segment(part: dict[str, Any] | bytes) -> str:
    return b64url(part if isinstance(part, bytes) else compact_json(part))


def assemble(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, signature: bytes = b"") -> str:
    return f"{segment(header)}.{segment(payload)}.{b64url(signature)}"


def signing_input(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes) -> bytes:
    return f"{segment(header)}.{segment(payload)}".encode()


def sign(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, key: Any, alg: str) -> str:
    """Sign the exact header and payload bytes with ``key`` (any JWS algorithm PyJWT knows)."""
    signature = jwt.get_algorithm_by_name(alg).sign(signing_input(header, payload), key)
    return assemble(header, payload, signature)


def hmac_sign(
    header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, secret: bytes, alg: str
) -> str:
    # By hand: PyJWT refuses PEM-looking HMAC secrets, an attacker does not.
    mac = hmac.new(secret, signing_input(header, payload), HMAC_HASHES[alg]).digest()
    return assemble(header, payload, mac)


# -- what the attacker holds ------------------------------------------------------


@dataclass(frozen=True)
class Victim:
    """A real access token, the refresh token issued with it, and the published JWKS bytes."""

    token: str
    jwks_raw: bytes
    refresh_token: str = ""
    # Where jku / x5u headers point; the e2e suite points them at a listener it watches.
    attacker_url: str = ATTACKER_URL

    @property
    def parts(self) -> list[str]:
        return self.token.split(".")

    @property
    def header(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(unb64url(self.parts[0]))
        return value

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(unb64url(self.parts[1]))
        return value

    @property
    def signature(self) -> bytes:
        return unb64url(self.parts[2])

    @property
    def kid(self) -> str:
        return str(self.header["kid"])

    @property
    def alg(self) -> str:
        return str(self.header["alg"])

    @property
    def jwks(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.jwks_raw)
        return value

    @property
    def jwk(self) -> dict[str, Any]:
        return next(k for k in self.jwks["keys"] if k["kid"] == self.kid)

    @property
    def public_key(self) -> Any:
        loader = OKPAlgorithm if self.jwk["kty"] == "OKP" else ECAlgorithm
        return loader.from_jwk(json.dumps(self.jwk))

    def with_signature(self, header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes) -> str:
        """New header/payload, the real signature kept."""
        return f"{segment(header)}.{segment(payload)}.{self.parts[2]}"


# -- the attacker's own keys (generated once per process) --------------------------


@functools.cache
def attacker_ed25519() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@functools.cache
def attacker_p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@functools.cache
def attacker_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def attacker_key(alg: str) -> Any:
    return {"EdDSA": attacker_ed25519, "ES256": attacker_p256}[alg]()


def attacker_public_jwk(alg: str, kid: str = ATTACKER_KID) -> dict[str, Any]:
    loader = OKPAlgorithm if alg == "EdDSA" else ECAlgorithm
    jwk: dict[str, Any] = loader.to_jwk(attacker_key(alg).public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def self_signed_certificate(key: Any) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gatehouse")])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=36500))
        .sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def public_key_secrets(victim: Victim) -> Iterator[tuple[str, bytes]]:
    """Every spelling of the service's public key an HMAC key-confusion attack would try."""
    key = victim.public_key
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    yield "pem", pem
    yield "pem-without-trailing-newline", pem.rstrip(b"\n")
    yield "pem-with-crlf", pem.replace(b"\n", b"\r\n")
    yield "der", key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if isinstance(key, ed25519.Ed25519PublicKey):
        yield "raw-bytes", key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        yield "raw-bytes", point
    yield "openssh", key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    yield "jwks-json-as-served", victim.jwks_raw
    yield "jwks-json-reserialized", json.dumps(victim.jwks).encode()
    yield "jwk-json", json.dumps(victim.jwk).encode()
    yield "jwk-json-compact", compact_json(victim.jwk)
    yield "jwk-x-member", str(victim.jwk["x"]).encode()


# -- the registry -------------------------------------------------------------------

Attack = Callable[[Victim], str]
ATTACKS: dict[str, Attack] = {}


def attack(name: str) -> Callable[[Attack], Attack]:
    def register(build: Attack) -> Attack:
        assert name not in ATTACKS, name
        ATTACKS[name] = build
        return build

    return register


def _register(name: str, build: Attack) -> None:
    attack(name)(build)


# alg none, in every casing, with and without a signature ---------------------------

for _casing in ("none", "None", "NONE", "nOnE"):
    _register(
        f"alg-{_casing}-without-signature",
        lambda v, a=_casing: assemble({**v.header, "alg": a}, v.payload),
    )
    _register(
        f"alg-{_casing}-keeping-the-real-signature",
        lambda v, a=_casing: v.with_signature({**v.header, "alg": a}, v.payload),
    )
    _register(
        f"alg-{_casing}-with-a-made-up-signature",
        lambda v, a=_casing: assemble({**v.header, "alg": a}, v.payload, b"\x01" * 64),
    )
    _register(
        f"alg-{_casing}-bare-header-and-admin-role-without-signature",
        lambda v, a=_casing: assemble({"alg": a}, {**v.payload, "roles": ["admin", "user"]}),
    )


@attack("alg-none-with-only-two-segments")
def _alg_none_two_segments(v: Victim) -> str:
    return f"{segment({**v.header, 'alg': 'none'})}.{segment(v.payload)}"


@attack("alg-missing-from-header-keeping-the-real-signature")
def _alg_missing(v: Victim) -> str:
    return v.with_signature({k: x for k, x in v.header.items() if k != "alg"}, v.payload)


# signature damage --------------------------------------------------------------------


@attack("empty-signature")
def _empty_signature(v: Victim) -> str:
    return f"{v.parts[0]}.{v.parts[1]}."


@attack("signature-truncated-by-one-character")
def _truncated_one_char(v: Victim) -> str:
    return v.token[:-1]


@attack("signature-truncated-by-three-bytes")
def _truncated_three_bytes(v: Victim) -> str:
    return f"{v.parts[0]}.{v.parts[1]}.{b64url(v.signature[:-3])}"


@attack("signature-truncated-to-half")
def _truncated_half(v: Victim) -> str:
    return f"{v.parts[0]}.{v.parts[1]}.{b64url(v.signature[: len(v.signature) // 2])}"


@attack("signature-truncated-to-one-byte")
def _truncated_one_byte(v: Victim) -> str:
    return f"{v.parts[0]}.{v.parts[1]}.{b64url(v.signature[:1])}"


@attack("signature-all-zero-bytes")
def _zero_signature(v: Victim) -> str:
    return f"{v.parts[0]}.{v.parts[1]}.{b64url(bytes(len(v.signature)))}"


@attack("signature-with-an-extra-byte")
def _longer_signature(v: Victim) -> str:
    longer = v.signature + bytes(1)
    return f"{v.parts[0]}.{v.parts[1]}.{b64url(longer)}"


@attack("signature-with-its-last-bit-flipped")
def _flipped_signature(v: Victim) -> str:
    sig = bytearray(v.signature)
    sig[-1] ^= 1
    return f"{v.parts[0]}.{v.parts[1]}.{b64url(bytes(sig))}"


# HMAC with an empty key, and RS/EC/EdDSA -> HS key confusion with our own public key ---------

for _alg in HMAC_HASHES:
    _register(
        f"{_alg.lower()}-with-an-empty-key-and-our-kid",
        lambda v, a=_alg: hmac_sign({**v.header, "alg": a}, v.payload, b"", a),
    )
    _register(
        f"{_alg.lower()}-with-an-empty-key-and-no-kid",
        lambda v, a=_alg: hmac_sign({"alg": a, "typ": "at+jwt"}, v.payload, b"", a),
    )

# The secret spellings do not depend on which key the service has, only the bytes do.
_SECRET_NAMES = (
    "pem",
    "pem-without-trailing-newline",
    "pem-with-crlf",
    "der",
    "raw-bytes",
    "openssh",
    "jwks-json-as-served",
    "jwks-json-reserialized",
    "jwk-json",
    "jwk-json-compact",
    "jwk-x-member",
)


def _confusion(name: str, alg: str) -> Attack:
    def build(v: Victim) -> str:
        secret = dict(public_key_secrets(v))[name]
        return hmac_sign({**v.header, "alg": alg}, v.payload, secret, alg)

    return build


for _alg in HMAC_HASHES:
    for _name in _SECRET_NAMES:
        _register(f"{_alg.lower()}-keyed-with-our-public-key-as-{_name}", _confusion(_name, _alg))


def _hs_relabelled(signed_as: str, labelled: str) -> Attack:
    def build(v: Victim) -> str:
        secret = dict(public_key_secrets(v))["pem"]
        mac = hmac.new(
            secret, signing_input({**v.header, "alg": signed_as}, v.payload), HMAC_HASHES[signed_as]
        )
        return assemble({**v.header, "alg": labelled}, v.payload, mac.digest())

    return build


_register("hs256-keyed-with-our-public-key-pem-relabelled-hs512", _hs_relabelled("HS256", "HS512"))
_register("hs512-keyed-with-our-public-key-pem-relabelled-hs256", _hs_relabelled("HS512", "HS256"))


# keys the token brings along: jwk, jku, x5u, x5c -----------------------------------------


@attack("embedded-jwk-of-the-attacker-with-the-attacker-kid")
def _jwk_attacker_kid(v: Victim) -> str:
    header = {"alg": "EdDSA", "typ": "at+jwt", "kid": ATTACKER_KID, "jwk": attacker_public_jwk("EdDSA")}
    return sign(header, v.payload, attacker_ed25519(), "EdDSA")


@attack("embedded-jwk-of-the-attacker-with-our-kid")
def _jwk_our_kid(v: Victim) -> str:
    header = {"alg": "EdDSA", "typ": "at+jwt", "kid": v.kid, "jwk": attacker_public_jwk("EdDSA", v.kid)}
    return sign(header, v.payload, attacker_ed25519(), "EdDSA")


@attack("embedded-jwk-of-the-attacker-without-kid")
def _jwk_no_kid(v: Victim) -> str:
    header = {"alg": "EdDSA", "typ": "at+jwt", "jwk": attacker_public_jwk("EdDSA")}
    return sign(header, v.payload, attacker_ed25519(), "EdDSA")


@attack("embedded-p256-jwk-of-the-attacker-es256-with-our-kid")
def _jwk_p256(v: Victim) -> str:
    header = {"alg": "ES256", "typ": "at+jwt", "kid": v.kid, "jwk": attacker_public_jwk("ES256", v.kid)}
    return sign(header, v.payload, attacker_p256(), "ES256")


@attack("embedded-symmetric-jwk-hs256-with-our-kid")
def _jwk_symmetric(v: Victim) -> str:
    secret = b"attacker-chosen-secret-of-32-bytes!!"
    jwk = {"kty": "oct", "k": b64url(secret), "kid": v.kid, "alg": "HS256"}
    return hmac_sign({"alg": "HS256", "typ": "at+jwt", "kid": v.kid, "jwk": jwk}, v.payload, secret, "HS256")


def _url_header(member: str, kid: Callable[[Victim], str]) -> Attack:
    def build(v: Victim) -> str:
        header = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid(v), member: v.attacker_url}
        return sign(header, v.payload, attacker_ed25519(), "EdDSA")

    return build


for _member in ("jku", "x5u"):
    _register(
        f"{_member}-pointing-at-the-attacker-with-the-attacker-kid",
        _url_header(_member, lambda v: ATTACKER_KID),
    )
    _register(f"{_member}-pointing-at-the-attacker-with-our-kid", _url_header(_member, lambda v: v.kid))


@attack("jku-pointing-at-the-attacker-keeping-the-real-signature")
def _jku_kept_signature(v: Victim) -> str:
    return v.with_signature({**v.header, "jku": v.attacker_url}, v.payload)


def _x5c(alg: str, kid: Callable[[Victim], str | None]) -> Attack:
    def build(v: Victim) -> str:
        key = attacker_key(alg)
        der = self_signed_certificate(key)
        header: dict[str, Any] = {"alg": alg, "typ": "at+jwt", "x5c": [base64.b64encode(der).decode()]}
        header["x5t#S256"] = b64url(hashlib.sha256(der).digest())
        chosen = kid(v)
        if chosen is not None:
            header["kid"] = chosen
        return sign(header, v.payload, key, alg)

    return build


_register("x5c-self-signed-ed25519-certificate-with-our-kid", _x5c("EdDSA", lambda v: v.kid))
_register("x5c-self-signed-ed25519-certificate-without-kid", _x5c("EdDSA", lambda v: None))
_register("x5c-self-signed-p256-certificate-es256-with-our-kid", _x5c("ES256", lambda v: v.kid))


# kid games: files, SQL, shell, odd types ---------------------------------------------------

KID_VALUES: dict[str, Any] = {
    "path-traversal-to-etc-passwd": "../../../../../../../../etc/passwd",
    "path-traversal-to-dev-null": "../../../../../../../../dev/null",
    "absolute-path-dev-null": "/dev/null",
    "absolute-path-to-the-app": "/var/task/app.py",
    "sql-or-1-equals-1": "' OR 1=1 --",
    "sql-union-select": "x' UNION SELECT 'secret' --",
    "shell-dollar-paren": "$(id)",
    "shell-backticks": "`id`",
    "shell-semicolon": "x; cat /etc/passwd",
    "our-kid-then-null-byte-then-path": "\x00../../etc/passwd",
    "a-lone-null-byte": "\x00",
    "very-long": "k" * 5000,
    "url": "https://attacker.example/key.pem",
    "empty-string": "",
    "unknown-id": "no-such-key",
    "integer": 1,
    "float": 1.5,
    "boolean": True,
    "null": None,
    "list-holding-our-kid": ["OUR_KID"],
    "object-holding-our-kid": {"kid": "OUR_KID"},
}


def _kid_value(v: Victim, value: Any) -> Any:
    if value == ["OUR_KID"]:
        return [v.kid]
    if value == {"kid": "OUR_KID"}:
        return {"kid": v.kid}
    if isinstance(value, str) and value.startswith("\x00.."):
        return v.kid + value
    return value


def _kid_attack(value: Any, how: str) -> Attack:
    def build(v: Victim) -> str:
        header = {**v.header, "kid": _kid_value(v, value)}
        if how == "hs256-empty-key":
            return hmac_sign({**header, "alg": "HS256"}, v.payload, b"", "HS256")
        return sign({**header, "alg": "EdDSA"}, v.payload, attacker_ed25519(), "EdDSA")

    return build


for _label, _value in KID_VALUES.items():
    _register(f"kid-{_label}-signed-by-the-attacker", _kid_attack(_value, "attacker"))
    _register(f"kid-{_label}-hs256-with-an-empty-key", _kid_attack(_value, "hs256-empty-key"))


@attack("kid-of-ours-in-upper-case-keeping-the-real-signature")
def _kid_upper(v: Victim) -> str:
    return v.with_signature({**v.header, "kid": v.kid.upper()}, v.payload)


@attack("kid-of-ours-with-a-trailing-space-keeping-the-real-signature")
def _kid_space(v: Victim) -> str:
    return v.with_signature({**v.header, "kid": v.kid + " "}, v.payload)


@attack("kid-missing-keeping-the-real-signature")
def _kid_missing(v: Victim) -> str:
    return v.with_signature({k: x for k, x in v.header.items() if k != "kid"}, v.payload)


# claims changed, signature kept -----------------------------------------------------------


def _claims_changed(**changes: Any) -> Attack:
    def build(v: Victim) -> str:
        return v.with_signature(v.header, {**v.payload, **changes})

    return build


_register("sub-changed-to-admin-keeping-the-signature", _claims_changed(sub="admin"))
_register("sub-changed-to-demo-keeping-the-signature", _claims_changed(sub="demo"))
_register("roles-escalated-to-admin-keeping-the-signature", _claims_changed(roles=["admin", "user"]))
_register("exp-pushed-a-year-out-keeping-the-signature", _claims_changed(exp=2_000_000_000 + 31_536_000))
_register("sid-changed-keeping-the-signature", _claims_changed(sid="A" * 22))
_register("aud-changed-keeping-the-signature", _claims_changed(aud="other-api"))


@attack("payload-respelled-with-spaces-same-claims-keeping-the-signature")
def _respelled(v: Victim) -> str:
    return v.with_signature(v.header, json.dumps(v.payload).encode())


@attack("payload-with-a-duplicate-sub-keeping-the-signature")
def _duplicate_sub_kept(v: Victim) -> str:
    raw = compact_json(v.payload)[:-1] + b',"sub":"admin"}'
    return v.with_signature(v.header, raw)


@attack("header-with-a-duplicate-alg-none-keeping-the-signature")
def _duplicate_alg_kept(v: Victim) -> str:
    raw = compact_json(v.header)[:-1] + b',"alg":"none"}'
    return v.with_signature(raw, v.payload)


@attack("header-with-a-duplicate-kid-signed-by-the-attacker")
def _duplicate_kid_attacker(v: Victim) -> str:
    header = {"alg": "EdDSA", "typ": "at+jwt", "kid": ATTACKER_KID}
    raw = compact_json(header)[:-1] + b',"kid":' + json.dumps(v.kid).encode() + b"}"
    return sign(raw, v.payload, attacker_ed25519(), "EdDSA")


@attack("unknown-crit-header-keeping-the-signature")
def _crit_kept(v: Victim) -> str:
    return v.with_signature({**v.header, "crit": ["x-bypass"], "x-bypass": True}, v.payload)


@attack("b64-false-header-keeping-the-signature")
def _b64_kept(v: Victim) -> str:
    return v.with_signature({**v.header, "b64": False, "crit": ["b64"]}, v.payload)


# another key, another algorithm -----------------------------------------------------------


@attack("signed-by-another-key-of-the-same-algorithm-with-our-kid")
def _same_alg_other_key(v: Victim) -> str:
    return sign(v.header, v.payload, attacker_key(v.alg), v.alg)


@attack("signed-by-another-key-of-the-same-algorithm-with-its-own-kid")
def _same_alg_own_kid(v: Victim) -> str:
    return sign({**v.header, "kid": ATTACKER_KID}, v.payload, attacker_key(v.alg), v.alg)


def _other_family(v: Victim) -> str:
    return "ES256" if v.alg == "EdDSA" else "EdDSA"


@attack("signed-by-the-attacker-in-the-other-family-with-our-kid")
def _other_family_our_kid(v: Victim) -> str:
    alg = _other_family(v)
    return sign({**v.header, "alg": alg}, v.payload, attacker_key(alg), alg)


@attack("alg-relabelled-to-the-other-family-keeping-the-signature")
def _relabelled_family(v: Victim) -> str:
    return v.with_signature({**v.header, "alg": _other_family(v)}, v.payload)


@attack("rs256-signed-by-the-attacker-with-our-kid")
def _rs256(v: Victim) -> str:
    return sign({**v.header, "alg": "RS256"}, v.payload, attacker_rsa(), "RS256")


@attack("ps256-signed-by-the-attacker-with-our-kid")
def _ps256(v: Victim) -> str:
    return sign({**v.header, "alg": "PS256"}, v.payload, attacker_rsa(), "PS256")


@attack("alg-ed25519-fully-specified-name-keeping-the-signature")
def _ed25519_name(v: Victim) -> str:
    return v.with_signature({**v.header, "alg": "Ed25519"}, v.payload)


@attack("alg-in-lower-case-keeping-the-signature")
def _alg_lower(v: Victim) -> str:
    return v.with_signature({**v.header, "alg": v.alg.lower()}, v.payload)


# segments that are not what they claim to be ------------------------------------------

NOT_A_JSON_OBJECT: dict[str, bytes] = {
    "invalid-utf8": b"\xff\xfe\xfd",
    "utf8-bom-then-object": b"\xef\xbb\xbf{}",
    "utf16-encoded-object": '{"alg":"none"}'.encode("utf-16"),
    "array": b"[]",
    "string": b'"at+jwt"',
    "number": b"1",
    "null": b"null",
    "true": b"true",
    "truncated-object": b'{"alg":"EdDSA"',
    "nan": b'{"alg":NaN}',
}

for _label, _raw in NOT_A_JSON_OBJECT.items():
    _register(f"header-{_label}-keeping-the-signature", lambda v, r=_raw: v.with_signature(r, v.payload))
    _register(f"payload-{_label}-keeping-the-signature", lambda v, r=_raw: v.with_signature(v.header, r))
    _register(
        f"payload-{_label}-signed-by-the-attacker",
        lambda v, r=_raw: sign({**v.header, "kid": ATTACKER_KID}, r, attacker_key(v.alg), v.alg),
    )


# shapes and spellings -------------------------------------------------------------------


@attack("payload-emptied-keeping-the-signature")
def _empty_payload(v: Victim) -> str:
    return f"{v.parts[0]}..{v.parts[2]}"


@attack("refresh-token-used-as-a-bearer-token")
def _refresh_as_bearer(v: Victim) -> str:
    assert v.refresh_token
    return v.refresh_token


@attack("jws-json-serialization-of-the-real-token")
def _json_serialization(v: Victim) -> str:
    h, p, s = v.parts
    return json.dumps({"protected": h, "payload": p, "signature": s}, separators=(",", ":"))


@attack("real-token-with-base64-padding")
def _padded(v: Victim) -> str:
    return ".".join(p + "=" * (-len(p) % 4) for p in v.parts)


@attack("real-token-with-a-trailing-dot")
def _trailing_dot(v: Victim) -> str:
    return v.token + "."


@attack("real-token-with-a-fourth-segment")
def _four_segments(v: Victim) -> str:
    return v.token + "." + v.parts[2]


@attack("jwe-shaped-five-segments")
def _five_segments(v: Victim) -> str:
    h = segment({"alg": "dir", "enc": "A256GCM", "kid": v.kid, "typ": "at+jwt"})
    return f"{h}..{b64url(bytes(12))}.{v.parts[1]}.{b64url(bytes(16))}"


@attack("real-token-with-an-unused-bit-set-in-the-signature-encoding")
def _non_canonical(v: Victim) -> str:
    # 64-byte signatures end in a character carrying 4 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(v.token[-1]) | 1]
    return v.token[:-1] + last


# per algorithm ---------------------------------------------------------------------------

EDDSA_ATTACKS: dict[str, Attack] = {}
ES256_ATTACKS: dict[str, Attack] = {}


def _eddsa_s_plus_order(v: Victim) -> str:
    """Ed25519 malleability: S + L verifies on lax implementations (RFC 8032 demands S < L)."""
    sig = v.signature
    s = int.from_bytes(sig[32:], "little") + ED25519_ORDER
    return f"{v.parts[0]}.{v.parts[1]}.{b64url(sig[:32] + s.to_bytes(32, 'little'))}"


EDDSA_ATTACKS["ed25519-signature-with-s-plus-the-group-order"] = _eddsa_s_plus_order


def _es256_raw(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _es256_signature(make: Callable[[Victim], bytes]) -> Attack:
    return lambda v: f"{v.parts[0]}.{v.parts[1]}.{b64url(make(v))}"


# CVE-2022-21449 ("psychic signatures"): r = s = 0 verified everything in Java 15-18.
ES256_ATTACKS["es256-psychic-signature-r-and-s-zero"] = _es256_signature(lambda v: bytes(64))
ES256_ATTACKS["es256-r-and-s-equal-to-the-group-order"] = _es256_signature(
    lambda v: _es256_raw(P256_ORDER, P256_ORDER)
)
ES256_ATTACKS["es256-r-zero-and-the-real-s"] = _es256_signature(lambda v: bytes(32) + v.signature[32:])
ES256_ATTACKS["es256-real-r-and-s-zero"] = _es256_signature(lambda v: v.signature[:32] + bytes(32))
ES256_ATTACKS["es256-s-plus-the-group-order"] = _es256_signature(
    lambda v: v.signature[:32] + (int.from_bytes(v.signature[32:], "big") + P256_ORDER).to_bytes(33, "big")
)
ES256_ATTACKS["es256-der-encoded-signature"] = _es256_signature(
    lambda v: utils.encode_dss_signature(
        int.from_bytes(v.signature[:32], "big"), int.from_bytes(v.signature[32:], "big")
    )
)
ES256_ATTACKS["es256-psychic-signature-on-admin-claims"] = lambda v: assemble(
    v.header, {**v.payload, "sub": "admin", "roles": ["admin", "user"]}, bytes(64)
)


def es256_high_s(v: Victim) -> str:
    """The other valid ECDSA signature (r, n - s) over the same bytes."""
    r, s = int.from_bytes(v.signature[:32], "big"), int.from_bytes(v.signature[32:], "big")
    return f"{v.parts[0]}.{v.parts[1]}.{b64url(_es256_raw(r, P256_ORDER - s))}"
