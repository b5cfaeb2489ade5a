"""The data key that seals TOTP secrets: AES-GCM, bound to the account, rotatable."""

from __future__ import annotations

import json

import pytest

from gatehouse.accounts.factor_key import DataKeys, SealedSecretError, dump_keys, new_data_key
from gatehouse.errors import ConfigError


def keys(*entries: dict[str, str]) -> DataKeys:
    return DataKeys.parse(dump_keys(list(entries)))


def test_a_sealed_secret_opens_for_its_account_and_does_not_show_the_secret() -> None:
    box = keys(new_data_key(1))
    sealed = box.seal("JBSWY3DPEHPK3PXP", "alice")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert box.open(sealed, "alice") == "JBSWY3DPEHPK3PXP"


def test_sealing_twice_gives_different_ciphertexts() -> None:
    box = keys(new_data_key(1))
    assert box.seal("S", "alice") != box.seal("S", "alice")


def test_a_secret_copied_to_another_account_does_not_open() -> None:
    box = keys(new_data_key(1))
    with pytest.raises(SealedSecretError):
        box.open(box.seal("S", "alice"), "mallory")


def test_an_altered_ciphertext_does_not_open() -> None:
    box = keys(new_data_key(1))
    sealed = box.seal("SECRET", "alice")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealedSecretError):
        box.open(flipped, "alice")


def test_after_a_rotation_the_new_key_seals_and_the_old_one_still_opens() -> None:
    old = new_data_key(1)
    sealed_before = keys(old).seal("OLD", "alice")
    rotated = keys(new_data_key(2), old)
    assert rotated.open(sealed_before, "alice") == "OLD"
    assert rotated.seal("NEW", "alice").split(".")[1] == rotated.keys[0][0]


def test_a_secret_under_a_removed_key_is_an_operator_error() -> None:
    sealed = keys(new_data_key(1)).seal("S", "alice")
    with pytest.raises(SealedSecretError) as raised:
        keys(new_data_key(2)).open(sealed, "alice")
    assert raised.value.public is False


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not json",
        "{}",
        '{"keys": []}',
        '{"keys": [{"kid": "a"}]}',
        '{"keys": [{"kid": "a", "k": "c2hvcnQ"}]}',
    ],
)
def test_a_parameter_that_is_no_key_list_names_the_setting(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        DataKeys.parse(value)
    assert "GATEHOUSE_MFA_KEY_PARAM" in raised.value.message


def test_the_parameter_format_is_a_json_key_list() -> None:
    entry = new_data_key(1)
    assert json.loads(dump_keys([entry])) == {"keys": [entry]}
