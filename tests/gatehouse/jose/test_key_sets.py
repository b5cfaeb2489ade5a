"""Key sets: the public keys the verifier knows by kid, and the JWKS document it publishes."""

from __future__ import annotations

import json

import pytest

from gatehouse.jose.keys import (
    KeyLoadError,
    KeySet,
    generate_signing_jwk,
    load_keyset,
    load_signing_key,
    parse_public_jwk,
    public_jwks,
)
from tests.gatehouse.jose.key_cases import (
    ALGS,
    PRIVATE,
    PRIVATE_MEMBERS,
    assert_no_secret,
    public_jwk,
    raw_public,
)

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
