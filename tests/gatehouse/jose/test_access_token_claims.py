"""Access tokens: issuing, the error classes, time and claim checks, with a fixed ``now``."""

import base64
import json
from typing import Any

import jwt
import pytest

from gatehouse.errors import GatehouseError
from gatehouse.jose.access_tokens import (
    MAX_ROLES,
    MAX_TIMESTAMP,
    REQUIRED_CLAIMS,
    AccessClaims,
    issue_access_token,
)
from gatehouse.jose.errors import (
    AlgorithmMismatch,
    BadSignature,
    ExpiredToken,
    InvalidClaim,
    LifetimeTooLong,
    MalformedToken,
    TokenError,
    TokenNotYetValid,
    TokenTooLarge,
    UnknownKey,
    UnsupportedHeader,
    WrongTokenType,
)
from gatehouse.jose.keys import KeySet, SigningKey
from gatehouse.web.responses import rendering_of
from tests.gatehouse.jose.token_cases import (
    ED,
    ES,
    LEEWAY,
    LIFETIME,
    NOW,
    RULES,
    claims,
    make,
    segments,
    verify,
)

# -- issuing and the happy path -------------------------------------------------


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_issued_token_round_trips_to_equal_claims(key: SigningKey) -> None:
    token, issued = issue_access_token(
        key, RULES, subject="alice", username="someone", session_id="sid-1", roles=["user", "admin"], now=NOW
    )

    verified = verify(token)

    assert verified == issued
    assert verified == AccessClaims(
        sub="alice",
        username="someone",
        sid="sid-1",
        jti=issued.jti,
        roles=("user", "admin"),
        iat=NOW,
        exp=NOW + LIFETIME,
    )


@pytest.mark.parametrize("key", [ED, ES], ids=["EdDSA", "ES256"])
def test_issued_token_header_is_rfc9068_with_the_keys_alg_and_kid(key: SigningKey) -> None:
    token, _ = issue_access_token(
        key, RULES, subject="alice", username="someone", session_id="s", roles=[], now=NOW
    )

    assert jwt.get_unverified_header(token) == {"alg": key.alg, "typ": "at+jwt", "kid": key.kid}


def test_issued_token_carries_exactly_the_required_claims() -> None:
    token, issued = issue_access_token(
        ED,
        RULES,
        subject="bob",
        username="someone",
        session_id="s-9",
        roles=["user"],
        now=NOW,
        jti="fixed-jti",
    )

    payload = json.loads(base64.urlsafe_b64decode(segments(token)[1] + "=="))

    assert set(payload) == set(REQUIRED_CLAIMS)
    assert payload == {
        "iss": RULES.issuer,
        "aud": RULES.audience,
        "sub": "bob",
        "username": "someone",
        "iat": NOW,
        "exp": NOW + LIFETIME,
        "jti": "fixed-jti",
        "sid": "s-9",
        "roles": ["user"],
    }
    assert issued.jti == "fixed-jti"


def test_issue_generates_a_fresh_random_jti_per_token() -> None:
    _, first = issue_access_token(
        ED, RULES, subject="a", username="someone", session_id="s", roles=[], now=NOW
    )
    _, second = issue_access_token(
        ED, RULES, subject="a", username="someone", session_id="s", roles=[], now=NOW
    )

    assert first.jti != second.jti
    assert len(first.jti) == 32
    int(first.jti, 16)  # hex


def test_hand_built_valid_token_is_accepted() -> None:
    # Guards the helpers: every rejection below differs from this by one thing.
    assert verify(make()) == AccessClaims(
        sub="alice",
        username="alice",
        sid="session-1",
        jti="0123456789abcdef0123456789abcdef",
        roles=("user",),
        iat=NOW,
        exp=NOW + LIFETIME,
    )


def test_unknown_extra_claims_are_ignored() -> None:
    assert verify(make(claims(scope="read", nbf=NOW))).sub == "alice"


def test_empty_roles_list_is_accepted() -> None:
    assert verify(make(claims(roles=[]))).roles == ()


def test_token_from_a_rotated_out_key_is_rejected_once_its_kid_leaves_the_set() -> None:
    token = make(key=ED)
    assert verify(token, keys=KeySet([ED.public, ES.public])).sub == "alice"

    with pytest.raises(UnknownKey):
        verify(token, keys=KeySet([ES.public]))


# -- error classes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (MalformedToken, "malformed"),
        (TokenTooLarge, "too_large"),
        (UnsupportedHeader, "unsupported_header"),
        (WrongTokenType, "wrong_type"),
        (UnknownKey, "unknown_key"),
        (AlgorithmMismatch, "algorithm_mismatch"),
        (BadSignature, "bad_signature"),
        (InvalidClaim, "invalid_claim"),
        (ExpiredToken, "expired"),
        (TokenNotYetValid, "not_yet_valid"),
        (LifetimeTooLong, "lifetime_too_long"),
    ],
)
def test_each_token_error_has_its_stable_reason_and_is_a_401_invalid_token(
    error: type[TokenError], reason: str
) -> None:
    exc = error()

    assert isinstance(exc, TokenError)
    assert isinstance(exc, GatehouseError)
    assert exc.reason == reason
    assert rendering_of(exc).status == 401
    assert exc.code == "invalid_token"
    assert exc.message


def test_token_error_reasons_are_unique() -> None:
    reasons = [cls.reason for cls in TokenError.__subclasses__()]
    assert len(reasons) == len(set(reasons)) == 11
    assert "invalid" not in reasons  # the base reason is not reused


# -- time -----------------------------------------------------------------------


def test_token_is_still_valid_one_second_before_exp_plus_leeway() -> None:
    assert verify(make(), now=NOW + LIFETIME + LEEWAY - 1).sub == "alice"


@pytest.mark.parametrize("late", [0, 1, 10**6])
def test_expired_token_is_rejected_as_expired(late: int) -> None:
    with pytest.raises(ExpiredToken) as info:
        verify(make(), now=NOW + LIFETIME + LEEWAY + late)
    assert info.value.reason == "expired"


def test_without_leeway_token_expires_exactly_at_exp() -> None:
    rules = RULES._replace(leeway=0)
    token = make()

    assert verify(token, rules=rules, now=NOW + LIFETIME - 1).sub == "alice"
    with pytest.raises(ExpiredToken):
        verify(token, rules=rules, now=NOW + LIFETIME)


def test_iat_in_the_future_within_leeway_is_accepted() -> None:
    token = make(claims(iat=NOW + LEEWAY, exp=NOW + LEEWAY + LIFETIME))
    assert verify(token).iat == NOW + LEEWAY


@pytest.mark.parametrize("ahead", [LEEWAY + 1, 3600])
def test_iat_in_the_future_beyond_leeway_is_not_yet_valid(ahead: int) -> None:
    token = make(claims(iat=NOW + ahead, exp=NOW + ahead + LIFETIME))
    with pytest.raises(TokenNotYetValid):
        verify(token)


def test_nbf_in_the_future_within_leeway_is_accepted() -> None:
    assert verify(make(claims(nbf=NOW + LEEWAY))).sub == "alice"


def test_nbf_in_the_future_beyond_leeway_is_not_yet_valid() -> None:
    with pytest.raises(TokenNotYetValid):
        verify(make(claims(nbf=NOW + LEEWAY + 1)))


@pytest.mark.parametrize("nbf", ["soon", float(NOW), True, None, -1])
def test_nbf_that_is_not_a_timestamp_is_an_invalid_claim(nbf: Any) -> None:
    with pytest.raises(InvalidClaim):
        verify(make(claims(nbf=nbf)))


def test_lifetime_of_exactly_lifetime_plus_leeway_is_accepted() -> None:
    assert verify(make(claims(exp=NOW + LIFETIME + LEEWAY))).exp == NOW + LIFETIME + LEEWAY


@pytest.mark.parametrize("exp_offset", [LIFETIME + LEEWAY + 1, 365 * 24 * 3600])
def test_exp_minus_iat_longer_than_lifetime_plus_leeway_is_lifetime_too_long(exp_offset: int) -> None:
    with pytest.raises(LifetimeTooLong):
        verify(make(claims(exp=NOW + exp_offset)))


@pytest.mark.parametrize("exp_offset", [0, -1])
def test_exp_not_after_iat_is_rejected_as_lifetime_too_long(exp_offset: int) -> None:
    with pytest.raises(LifetimeTooLong):
        verify(make(claims(exp=NOW + exp_offset)))


# -- claims ---------------------------------------------------------------------


@pytest.mark.parametrize("name", REQUIRED_CLAIMS)
def test_each_missing_required_claim_is_an_invalid_claim(name: str) -> None:
    with pytest.raises(InvalidClaim) as info:
        verify(make(claims(drop=(name,))))
    assert name in info.value.message


def test_required_claims_are_the_rfc9068_set_plus_sid_and_roles() -> None:
    assert set(REQUIRED_CLAIMS) == {"iss", "aud", "sub", "username", "iat", "exp", "jti", "sid", "roles"}


@pytest.mark.parametrize("iss", ["https://evil.test", "", None, [RULES.issuer], RULES.issuer + "/"])
def test_wrong_issuer_is_an_invalid_claim(iss: Any) -> None:
    with pytest.raises(InvalidClaim):
        verify(make(claims(iss=iss)))


@pytest.mark.parametrize(
    "aud",
    ["other-api", "", None, [RULES.audience], [RULES.audience, "other-api"], RULES.audience.upper()],
    ids=["other", "empty", "null", "list-of-ours", "list-with-ours", "case"],
)
def test_wrong_audience_including_any_list_is_an_invalid_claim(aud: Any) -> None:
    with pytest.raises(InvalidClaim):
        verify(make(claims(aud=aud)))


@pytest.mark.parametrize("name", ["iat", "exp"])
@pytest.mark.parametrize(
    "value",
    [
        float(NOW + 60),
        str(NOW + 60),
        "9999999999",
        True,
        False,
        1e23,
        -1,
        -(NOW + 60),
        MAX_TIMESTAMP,
        10**30,
        None,
        [NOW],
        {"t": NOW},
    ],
    ids=[
        "float",
        "str",
        "str-9999999999",
        "true",
        "false",
        "1e23",
        "minus-one",
        "negative",
        "max-timestamp",
        "huge-int",
        "null",
        "list",
        "object",
    ],
)
def test_timestamp_claim_that_is_not_a_plain_bounded_int_is_an_invalid_claim(name: str, value: Any) -> None:
    with pytest.raises(InvalidClaim) as info:
        verify(make(claims(**{name: value})))
    assert name in info.value.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sub", ""),
        ("sub", 42),
        ("sub", None),
        ("sub", ["alice"]),
        ("sub", "a" * 65),
        ("username", ""),
        ("username", 42),
        ("username", "a" * 65),
        ("sid", ""),
        ("sid", 7),
        ("sid", None),
        ("sid", {"id": "x"}),
        ("sid", "s" * 257),
        ("jti", ""),
        ("jti", 123),
        ("jti", None),
        ("jti", True),
        ("jti", "j" * 257),
    ],
)
def test_string_claim_that_is_empty_too_long_or_not_a_string_is_an_invalid_claim(
    name: str, value: Any
) -> None:
    with pytest.raises(InvalidClaim) as info:
        verify(make(claims(**{name: value})))
    assert name in info.value.message


@pytest.mark.parametrize(("name", "longest"), [("sub", 64), ("username", 64), ("sid", 256), ("jti", 256)])
def test_string_claim_at_its_maximum_length_is_accepted(name: str, longest: int) -> None:
    verified = verify(make(claims(**dict[str, Any]({name: "x" * longest}))))
    assert getattr(verified, name) == "x" * longest


@pytest.mark.parametrize(
    "roles",
    [
        "admin",
        "user,admin",
        None,
        {"admin": True},
        [1],
        ["user", None],
        [["admin"]],
        ["user,admin"],
        ["admin", "a,b"],
        [""],
        ["r" * 65],
        ["r"] * (MAX_ROLES + 1),
    ],
    ids=[
        "string",
        "comma-string",
        "null",
        "object",
        "int-member",
        "null-member",
        "nested-list",
        "comma-member",
        "second-member-comma",
        "empty-member",
        "too-long-member",
        "too-many",
    ],
)
def test_roles_that_are_not_a_list_of_plain_strings_is_an_invalid_claim(roles: Any) -> None:
    with pytest.raises(InvalidClaim) as info:
        verify(make(claims(roles=roles)))
    assert "roles" in info.value.message


def test_roles_at_the_limits_are_accepted() -> None:
    roles = ["r" * 64] + [f"role-{i}" for i in range(MAX_ROLES - 1)]
    assert verify(make(claims(roles=roles))).roles == tuple(roles)
