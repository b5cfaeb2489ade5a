"""The Python client and its CLI with an account that has a second factor, on the wire."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from gatehouse_client import GatehouseClient, GatehouseError, MfaRequired, Tokens

from tests.client.cli_runner import assert_one_line_failure, run_cli
from tests.client.scripted_api import Answer, ScriptedApi, error, grant

PASSWORD = "Quartz-Lantern-74-river"
OTP = "urn:gatehouse:grant-type:mfa-otp"
RECOVERY = "urn:gatehouse:grant-type:mfa-recovery-code"
CHALLENGE = Answer(403, {"error": "mfa_required", "mfa_token": "m" * 43})
STEP_UP = {"WWW-Authenticate": 'Bearer error="insufficient_user_authentication", error_description="..."'}


def client_for(api: ScriptedApi, **kwargs: Any) -> GatehouseClient:
    return GatehouseClient(api.base_url, use_env_proxies=False, timeout=5, **kwargs)


def token_forms(api: ScriptedApi) -> list[dict[str, str]]:
    return [s.form() for s in api.requests_to("POST", "/auth/token")]


def test_login_raises_mfa_required_with_the_challenge_and_keeps_no_tokens(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", CHALLENGE)
    client = client_for(api)
    with pytest.raises(MfaRequired) as raised:
        client.login("alice", PASSWORD, device="laptop")
    assert (raised.value.code, raised.value.status, raised.value.mfa_token) == ("mfa_required", 403, "m" * 43)
    assert raised.value.username == "alice"
    assert not client.logged_in


def test_the_code_finishes_the_login_and_the_device_token_is_kept_and_sent(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", CHALLENGE, grant(1, device_token="dt-1"), CHALLENGE, grant(2))
    client = client_for(api)
    for _ in range(2):
        try:
            client.login("alice", PASSWORD)
        except MfaRequired as challenge:
            client.login_with_otp(challenge, "123456")
    assert client.tokens is not None
    assert client.tokens.access_token == "at-2"
    forms = token_forms(api)
    assert forms[1] == {"grant_type": OTP, "mfa_token": "m" * 43, "otp": "123456"}
    assert forms[2]["device_token"] == "dt-1"  # the next password grant: maybe a remembered device
    assert forms[3]["device_token"] == "dt-1"
    assert client.device_tokens == {"alice": "dt-1"}


def test_a_recovery_code_finishes_it_too_and_remembering_can_be_declined(api: ScriptedApi) -> None:
    api.answer("POST", "/auth/token", CHALLENGE, grant(1))
    client = client_for(api)
    with pytest.raises(MfaRequired) as raised:
        client.login("alice", PASSWORD)
    client.login_with_recovery_code(raised.value, "ABCD-EFGH-IJKL-MNOP", remember_device=False)
    assert token_forms(api)[1] == {
        "grant_type": RECOVERY,
        "mfa_token": "m" * 43,
        "recovery_code": "ABCD-EFGH-IJKL-MNOP",
        "remember_device": "false",
    }
    assert client.logged_in


def test_a_wrong_code_is_an_invalid_grant_error(api: ScriptedApi) -> None:
    api.answer(
        "POST", "/auth/token", CHALLENGE, Answer(400, {"error": "invalid_grant", "error_description": "no"})
    )
    client = client_for(api)
    with pytest.raises(MfaRequired) as raised:
        client.login("alice", PASSWORD)
    with pytest.raises(GatehouseError) as wrong:
        client.login_with_otp(raised.value, "000000")
    assert wrong.value.code == "invalid_grant"
    assert not client.logged_in


def test_the_factor_calls_send_their_bodies_with_the_bearer(api: ScriptedApi) -> None:
    codes = [f"AAAA-BBBB-CCCC-DDD{n}" for n in range(2, 8)] + ["ABCD-EFGH-IJKL-MNOP"] * 4
    api.answer(
        "POST",
        "/auth/mfa/totp",
        Answer(200, {"secret": "S" * 32, "otpauth_uri": "otpauth://totp/x", "qr_svg": "<svg/>"}),
    )
    api.answer("POST", "/auth/mfa/totp/confirm", Answer(200, {"recovery_codes": codes}))
    api.answer("POST", "/auth/mfa/recovery-codes", Answer(200, {"recovery_codes": codes}))
    api.answer("POST", "/auth/mfa/totp/remove", Answer(204))
    client = client_for(api, tokens=Tokens("at-0", "rt-0", time.time() + 600, "alice"))
    assert client.start_totp(PASSWORD)["secret"] == "S" * 32
    assert client.confirm_totp("123456") == codes
    assert client.new_recovery_codes("234567") == codes
    client.remove_totp(recovery_code=codes[0])
    bodies = [s.json() for s in api.seen]
    assert bodies == [
        {"current_password": PASSWORD},
        {"code": "123456"},
        {"code": "234567"},
        {"recovery_code": codes[0]},
    ]
    assert all(s.headers["authorization"] == "Bearer at-0" for s in api.seen)
    with pytest.raises(ValueError, match="exactly one"):
        client.remove_totp()


def test_a_step_up_answer_is_told_apart_from_an_invalid_token(api: ScriptedApi) -> None:
    api.answer("GET", "/payouts", error(401, "insufficient_user_authentication", "code needed", **STEP_UP))
    client = client_for(api, tokens=Tokens("at-0", "rt-0", time.time() + 600, "alice"))
    reply = client.get("/payouts")
    assert reply.needs_second_factor
    assert not reply.invalid_token
    assert len(api.requests_to("POST", "/auth/token")) == 0  # no refresh: it would not help


# -- the command line ------------------------------------------------------------------------


def test_cli_login_asks_for_the_apps_code(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/token", CHALLENGE, grant(1, device_token="dt-1"))
    result = run_cli(
        tmp_path / "tokens.json",
        "login",
        api.base_url,
        "-u",
        "alice",
        env={"GATEHOUSE_PASSWORD": PASSWORD, "GATEHOUSE_OTP": "123456"},
    )
    assert result.returncode == 0, result.stderr
    assert "Logged in" in result.stderr
    assert token_forms(api)[1]["otp"] == "123456"


def test_cli_login_takes_a_recovery_code_instead(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer("POST", "/auth/token", CHALLENGE, grant(1))
    result = run_cli(
        tmp_path / "tokens.json",
        "login",
        api.base_url,
        "-u",
        "alice",
        "--recovery-code",
        "--no-remember",
        env={"GATEHOUSE_PASSWORD": PASSWORD, "GATEHOUSE_RECOVERY_CODE": "ABCD-EFGH-IJKL-MNOP"},
    )
    assert result.returncode == 0, result.stderr
    assert token_forms(api)[1]["recovery_code"] == "ABCD-EFGH-IJKL-MNOP"
    assert token_forms(api)[1]["remember_device"] == "false"


def test_cli_login_with_a_wrong_code_fails_in_one_line(api: ScriptedApi, tmp_path: Path) -> None:
    api.answer(
        "POST",
        "/auth/token",
        CHALLENGE,
        Answer(
            400, {"error": "invalid_grant", "error_description": "The code is wrong or was already used."}
        ),
    )
    result = run_cli(
        tmp_path / "tokens.json",
        "login",
        api.base_url,
        "-u",
        "alice",
        env={"GATEHOUSE_PASSWORD": PASSWORD, "GATEHOUSE_OTP": "000000"},
    )
    line = assert_one_line_failure(result)
    assert "code is wrong" in line
    assert "000000" not in line
