"""The admin CLI's second-factor commands: reset a user's factor, make and rotate the MFA data key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3

from gatehouse.accounts.factor_key import DataKeys
from gatehouse.services import Services
from tests.admin import test_cli
from tests.conftest import MfaUser

run = test_cli.run  # the fixture that runs the CLI in-process
MFA_PARAM = "/gatehouse/mfa-key"  # the default GATEHOUSE_MFA_KEY_PARAM


def _ssm() -> Any:
    return boto3.client("ssm", region_name="us-east-1")


def test_reset_mfa_removes_the_factor(
    run: Callable[..., tuple[int, str]],
    rt: Services,
    make_mfa_user: Callable[..., MfaUser],
) -> None:
    user = make_mfa_user()
    code, output = run("reset-mfa", user.creds.username)
    assert code == 0, output
    assert "Removed the second factor" in output
    state = rt.factors.get(rt.users.get(user.creds.username))
    assert state is not None
    assert not state.active


def test_reset_mfa_of_a_user_without_one_fails_with_one_line(
    run: Callable[..., tuple[int, str]],
    make_user: Callable[..., Any],
) -> None:
    creds = make_user()
    code, output = run("reset-mfa", creds.username)
    assert code == 1
    assert output.count("\n") == 1
    assert "no second factor" in output


def test_create_mfa_key_stores_a_secure_string_and_prints_no_key(
    run: Callable[..., tuple[int, str]],
) -> None:
    code, output = run("create-mfa-key")
    assert code == 0, output
    stored = _ssm().get_parameter(Name=MFA_PARAM, WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString"
    [entry] = json.loads(stored["Value"])["keys"]
    assert entry["kid"] in output
    assert entry["k"] not in output
    assert DataKeys.parse(stored["Value"]).open(DataKeys.parse(stored["Value"]).seal("S", "a"), "a") == "S"


def test_create_mfa_key_refuses_to_replace_keys_and_rotation_keeps_the_old_ones(
    run: Callable[..., tuple[int, str]],
) -> None:
    assert run("rotate-mfa-key")[0] == 1
    assert run("create-mfa-key")[0] == 0
    old = DataKeys.parse(_ssm().get_parameter(Name=MFA_PARAM, WithDecryption=True)["Parameter"]["Value"])
    sealed = old.seal("SECRET", "alice")
    code, output = run("create-mfa-key")
    assert code == 1
    assert "rotate-mfa-key" in output
    assert run("rotate-mfa-key")[0] == 0
    new = DataKeys.parse(_ssm().get_parameter(Name=MFA_PARAM, WithDecryption=True)["Parameter"]["Value"])
    assert len(new.keys) == 2
    assert new.keys[1] == old.keys[0]
    assert new.open(sealed, "alice") == "SECRET"
