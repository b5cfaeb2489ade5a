"""Token generators for the differential test: valid tokens and thousands of tampered ones.

Every generator is deterministic (seeded ``random.Random``) and returns
compact tokens only; what each one must do is decided in
tests/gatehouse/jose/test_verifier_differential.py.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from typing import Any

import jwt

from gatehouse.jose.access_tokens import MAX_ROLES, MAX_TIMESTAMP, TOKEN_TYPE, TokenRules, issue_access_token
from gatehouse.jose.keys import KeySet, SigningKey, generate_signing_jwk, load_signing_key
from gatehouse.jose.signatures import P256_ORDER, low_s_signature

NOW = 1_800_000_000
RULES = TokenRules(issuer="https://gatehouse.test", audience="api", lifetime=900, leeway=30, max_bytes=8192)


def _key(alg: str) -> SigningKey:
    return load_signing_key(json.dumps(generate_signing_jwk(alg)))


ED, ES = _key("EdDSA"), _key("ES256")
ED_OTHER, ES_OTHER = _key("EdDSA"), _key("ES256")  # not in the key set: an attacker's keys
KEYS = KeySet([ED.public, ES.public])
SIGNERS = {"EdDSA": [ED, ED_OTHER], "ES256": [ES, ES_OTHER]}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Lenient: what a decoder that pads and ignores unused bits reads."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(header: bytes, payload: bytes, key: SigningKey, alg: str | None = None) -> str:
    """A compact JWS over exactly these bytes; ES256 in low-S form, as the service signs."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    signature = jwt.get_algorithm_by_name(alg or key.alg).sign(signing_input.encode(), key.key)
    if (alg or key.alg) == "ES256":
        signature = low_s_signature(signature)
    return f"{signing_input}.{b64(signature)}"


def claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "iss": RULES.issuer,
        "aud": RULES.audience,
        "sub": "alice",
        "username": "alice",
        "iat": NOW - 60,
        "exp": NOW - 60 + RULES.lifetime,
        "jti": "j1",
        "sid": "s1",
        "roles": ["user"],
    }
    return {**base, **overrides}


# -- the base tokens: issued by the service itself ----------------------------------------------------


def _base_tokens() -> list[str]:
    rng = random.Random(7)
    tokens = []
    for n in range(40):
        key = (ED, ES)[n % 2]
        token, _ = issue_access_token(
            key,
            RULES,
            subject=f"user-{n}-{'é' * (n % 3)}",
            username="someone",
            session_id=f"session-{rng.getrandbits(64):x}",
            roles=rng.sample(["user", "admin", "auditor", "ops"], n % 4),
            now=NOW - rng.randrange(0, RULES.lifetime),
        )
        tokens.append(token)
    return tokens


BASE = _base_tokens()


def high_s_twin(token: str) -> str:
    """The same ES256 token with (r, n - s): the other valid signature over the same bytes."""
    h, p, s = token.split(".")
    raw = unb64(s)
    return f"{h}.{p}.{b64(raw[:32] + (P256_ORDER - int.from_bytes(raw[32:], 'big')).to_bytes(32, 'big'))}"


def _flip(raw: bytes, bit: int) -> bytes:
    data = bytearray(raw)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


def _with_segment(token: str, index: int, raw: bytes) -> str:
    parts = token.split(".")
    parts[index] = b64(raw)
    return ".".join(parts)


def bit_flips(segment: int, per_token: int) -> list[str]:
    """Each base token with one bit of one decoded segment flipped, the rest untouched."""
    rng = random.Random(segment)
    out = []
    for token in BASE:
        raw = unb64(token.split(".")[segment])
        out += [
            _with_segment(token, segment, _flip(raw, rng.randrange(len(raw) * 8))) for _ in range(per_token)
        ]
    return out


def substitutions(per_token: int) -> list[str]:
    """One character of the token text replaced: by another base64url character, a dot or padding."""
    rng = random.Random(11)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="
    out = []
    for token in BASE:
        for _ in range(per_token):
            at = rng.randrange(len(token))
            out.append(token[:at] + rng.choice(alphabet.replace(token[at], "")) + token[at + 1 :])
        out.append(token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1])  # the last character's low bit
        out.append(token + "==")  # the signature padded to a multiple of four: PyJWT reads the same bytes
    return out


def truncations() -> list[str]:
    out = []
    for token in BASE:
        h, p, s = token.split(".")
        out += [token[:-k] for k in (1, 2, 3, 4, 43, 44, len(s), len(s) + 1)]
        out += [f"{h[:-k]}.{p}.{s}" for k in (1, 2, 4)] + [f"{h}.{p[:-k]}.{s}" for k in (1, 2, 4)]
        out += [f"{h}.{p}", f"{h}..{s}", f".{p}.{s}", f"{h}.{p}.", token + ".", token + "." + s]
    return out


def resigned_and_swapped() -> list[str]:
    """Other signers, ``alg`` and ``kid`` swaps, and the ES256 high-S twins, over real claims."""
    out = []
    for token in BASE:
        h, p, s = token.split(".")
        payload = unb64(p)
        header: dict[str, Any] = json.loads(unb64(h))
        mine = ED if header["alg"] == "EdDSA" else ES
        other = ES if mine is ED else ED

        def hdr(header: dict[str, Any] = header, **changes: Any) -> bytes:
            return json.dumps({**header, **changes}).encode()

        out += [
            sign(hdr(), payload, mine),  # re-signed unchanged: valid
            sign(hdr(), payload, SIGNERS[mine.alg][1]),  # another key of the same alg
            sign(hdr(), payload, other, other.alg),  # our other key, our alg and kid kept
            sign(hdr(alg=other.alg), payload, other),  # alg swapped, our kid kept
            sign(hdr(alg=other.alg, kid=other.kid), payload, mine, mine.alg),  # kid swapped, our key
            sign(hdr(kid=other.kid), payload, mine),  # kid of the other key, alg kept
            sign(hdr(kid="unknown"), payload, mine),
            sign(hdr(kid=None), payload, mine),
            sign(json.dumps({k: v for k, v in header.items() if k != "kid"}).encode(), payload, mine),
            f"{b64(hdr(alg='none'))}.{p}.",
            f"{b64(hdr(alg='none'))}.{p}.{s}",
            f"{b64(hdr(alg='HS256'))}.{p}.{s}",
            f"{b64(hdr(alg=other.alg))}.{p}.{s}",
            f"{h}.{p}.{b64(unb64(s)[::-1])}",
            f"{h}.{p}.{b64(bytes(64))}",
        ]
        if mine is ES:
            out += [high_s_twin(token), f"{h}.{p}.{b64(unb64(s)[:32] + bytes(32))}"]
    return out


# -- headers and claims, built from tables of edge values and signed by a key of the set (or not) ---------

DROP = object()  # as an edit: remove the member
_L = RULES.leeway
_TIMES = [
    base + off
    for base in (NOW, NOW - RULES.lifetime, NOW + RULES.lifetime)
    for off in (0, 1, -1, _L - 1, _L, _L + 1, 1 - _L, -_L, -_L - 1, 2 * _L, -2 * _L)
]
_ODD_TIMES = [0, -1, MAX_TIMESTAMP - 1, MAX_TIMESTAMP, float(NOW), NOW + 0.5, str(NOW), True, None, 1e400]
_TEXT: list[Any] = [
    "alice",
    "",
    "a" * 64,
    "a" * 65,
    "s" * 256,
    "s" * 257,
    "é",
    "\u0000",
    " ",
    "😀",
    None,
    5,
    ["x"],
    {},
]
_ROLES = [[], ["admin"], ["user", "admin"], ["a,b"], [""], ["r" * 64], ["r" * 65], [1], None, "user", {}]
CLAIM_VALUES: dict[str, list[Any]] = {
    "iss": [RULES.issuer, RULES.issuer + "/", RULES.issuer.upper(), "", None, [RULES.issuer], 1],
    "aud": [RULES.audience, [RULES.audience], ["x", RULES.audience], RULES.audience.upper(), "", None, []],
    "sub": _TEXT,
    "sid": _TEXT,
    "jti": _TEXT,
    "roles": [*_ROLES, ["user"] * MAX_ROLES, ["user"] * (MAX_ROLES + 1)],
    "iat": _TIMES + _ODD_TIMES,
    "exp": _TIMES + _ODD_TIMES,
    "nbf": _TIMES + _ODD_TIMES,
    "extra": [1, [[[1]]], [[[[1]]]], "\ud800", float("nan"), {"deep": {"er": [1]}}, "x" * 6000],
}
HEADER_VALUES: dict[str, list[Any]] = {
    "typ": ["JWT", "at+JWT", "application/at+jwt", "at+jwt ", None, ["at+jwt"]],
    "kid": ["unknown", "", 7, None, ED.kid, ES.kid, [ED.kid]],
    "alg": ["EdDSA", "ES256", "none", "HS256", "ES384", "Ed25519", None],
    "jwk": [{"kty": "OKP", "crv": "Ed25519", "x": ED_OTHER.public.jwk["x"]}],
    "jku": ["https://attacker.example/jwks.json"],
    "crit": [["exp"], ["b64"], []],
    "b64": [True, False],
    "cty": ["JWT"],
}
SPELLINGS: list[Callable[[dict[str, Any]], bytes]] = [
    lambda d: json.dumps(d, separators=(",", ":")).encode(),
    lambda d: json.dumps(d, indent=2, sort_keys=True).encode(),
    lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass"),
    lambda d: b"\xef\xbb\xbf" + json.dumps(d).encode(),  # a UTF-8 byte order mark
    lambda d: json.dumps(d).encode("utf-16"),
    lambda d: json.dumps(d)[:-1].encode() + b', "sub": "mallory"}',  # a duplicate member
]


def _edited(
    rng: random.Random, base: dict[str, Any], table: dict[str, list[Any]], most: int
) -> dict[str, Any]:
    result = dict(base)
    for name in rng.sample(sorted(table), rng.randrange(most + 1)):
        value = rng.choice([*table[name], DROP])
        if value is DROP:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def generated(count: int, seed: int) -> list[str]:
    """Tokens over edited headers and claims, in varied JSON spellings, mostly signed by a key of the set."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        signer = rng.choice([ED, ES, ED, ES, ED_OTHER, ES_OTHER])
        in_set = ED if signer.alg == "EdDSA" else ES
        header = _edited(rng, {"alg": signer.alg, "typ": TOKEN_TYPE, "kid": in_set.kid}, HEADER_VALUES, 2)
        payload = _edited(rng, claims(), CLAIM_VALUES, 3)
        spell = [rng.choice(SPELLINGS[:3]) if rng.random() < 0.85 else rng.choice(SPELLINGS) for _ in "hp"]
        token = sign(spell[0](header), spell[1](payload), signer, signer.alg)
        out.append(high_s_twin(token) if signer.alg == "ES256" and rng.random() < 0.2 else token)
    return out


def time_boundaries() -> list[str]:
    """``iat``, ``exp``, ``nbf`` and the lifetime at and around every boundary, for both algorithms."""
    out = []
    for key in (ED, ES):
        header = json.dumps({"alg": key.alg, "typ": TOKEN_TYPE, "kid": key.kid}).encode()
        for t in _TIMES:
            for payload in (
                claims(iat=t, exp=t + RULES.lifetime),
                claims(iat=t - RULES.lifetime, exp=t),
                claims(nbf=t),
            ):
                out.append(sign(header, json.dumps(payload).encode(), key))
        for life in (0, 1, RULES.lifetime, RULES.lifetime + RULES.leeway, RULES.lifetime + RULES.leeway + 1):
            out.append(sign(header, json.dumps(claims(iat=NOW, exp=NOW + life)).encode(), key))
    return out
