"""The admin CLI: users and keys, against moto in-process (and once over HTTP, as in production)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client

import app as app_module
from gatehouse.admin import cli, localstate, stackinfo, target
from gatehouse.admin.keystore import jwks_parameter_for
from gatehouse.dev.stack import LocalAws
from gatehouse.jose.keys import load_keyset, load_signing_keys
from gatehouse.release.template import BASE_TEMPLATE
from gatehouse.services import Services
from gatehouse.settings import Settings
from gatehouse.storage.tables import table_definitions, ttl_tables
from tests.conftest import START, Credentials, FakeClock, bearer, json_body, post_json
from tests.processes import run_python

STRONG = "Velvet-Compass-62-orchard"
# An explicit AWS target (moto in-process here): never a developer's running local stack.
IN_PROCESS_AWS = {"AWS_ACCESS_KEY_ID": "testing"}
SIGNING_PARAM = "/gatehouse/signing-key"  # the default GATEHOUSE_SIGNING_KEY_PARAM
JWKS_PARAM = "/gatehouse/jwks"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def run(rt: Services, clock: FakeClock, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    """Run the CLI in-process against the test's moto tables; returns (exit code, stdout + stderr)."""

    def do(
        *argv: str, env: dict[str, str] | None = None, stdin: io.StringIO | None = None
    ) -> tuple[int, str]:
        code = cli.main(
            list(argv), env={**IN_PROCESS_AWS, **(env or {})}, stdin=stdin or io.StringIO(""), clock=clock
        )
        out, err = capsys.readouterr()
        # The target line every command starts with is checked by its own tests.
        err = "".join(line for line in err.splitlines(keepends=True) if not line.startswith("Target: "))
        return code, out + err

    return do


def _ssm() -> Any:
    return boto3.client("ssm", region_name="us-east-1")


def _login(client: Client, username: str, password: str) -> Any:
    body = {"grant_type": "password", "username": username, "password": password}
    return post_json(client, "/auth/token", body)


# -- users ----------------------------------------------------------------------------------


def test_create_user_reads_the_password_from_stdin_and_the_user_can_log_in(
    run: Callable[..., tuple[int, str]], client: Client
) -> None:
    code, output = run("create-user", "Ada", "--password-stdin", stdin=io.StringIO(STRONG + "\n"))
    assert code == 0, output
    assert "'ada'" in output
    assert STRONG not in output
    assert _login(client, "ada", STRONG).status_code == 200


def test_create_user_takes_the_password_from_the_environment_and_roles_from_flags(
    run: Callable[..., tuple[int, str]], rt: Services
) -> None:
    code, output = run(
        "create-user", "boss", "--role", "admin", "--role", "user", env={"GATEHOUSE_NEW_PASSWORD": STRONG}
    )
    assert code == 0, output
    user = rt.users.get("boss")
    assert user is not None
    assert user.roles == ("admin", "user")
    assert rt.hasher.verify(user.password_hash, STRONG)


def test_create_user_prompts_twice_on_a_terminal_and_refuses_a_mismatch(
    run: Callable[..., tuple[int, str]], rt: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([STRONG, STRONG + "x"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt: next(answers))
    code, output = run("create-user", "typo", stdin=Terminal())
    assert code == 1
    assert "differ" in output
    assert rt.users.get("typo") is None


def test_create_user_without_any_password_source_fails_and_creates_nothing(
    run: Callable[..., tuple[int, str]], rt: Services
) -> None:
    code, output = run("create-user", "nopass")
    assert code == 1
    assert "--password-stdin" in output
    assert rt.users.get("nopass") is None


def test_a_password_can_never_be_given_as_an_argument() -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["create-user", "eve", "--password", STRONG], env=IN_PROCESS_AWS)
    assert exited.value.code == 2


def test_create_user_applies_the_password_policy(run: Callable[..., tuple[int, str]], rt: Services) -> None:
    code, output = run("create-user", "weak", "--password-stdin", stdin=io.StringIO("password\n"))
    assert code == 1
    assert "error:" in output
    assert rt.users.get("weak") is None


def test_list_users_shows_roles_and_disabled_and_never_a_hash(
    run: Callable[..., tuple[int, str]], make_user: Callable[..., Credentials], rt: Services
) -> None:
    boss = make_user("boss", roles=("admin", "user"))
    gone = make_user("gone")
    rt.users.set_disabled(rt.users.get(gone.username), True)
    code, output = run("list-users", "--json")
    assert code == 0, output
    rows = {row["username"]: row for row in json.loads(output)}
    assert rows["boss"]["roles"] == ["admin", "user"]
    assert (rows["boss"]["disabled"], rows["gone"]["disabled"]) == (False, True)
    assert "argon2" not in output
    code, output = run("list-users")
    assert code == 0, output
    assert [line.split()[0] for line in output.splitlines()] == [boss.username, gone.username]
    assert "DISABLED" in output.splitlines()[1]


def test_set_roles_grants_admin_at_the_next_login(
    run: Callable[..., tuple[int, str]],
    client: Client,
    make_user: Callable[..., Credentials],
    login: Callable[..., str],
) -> None:
    creds = make_user()
    assert client.http.get("/admin/users", headers=bearer(login(creds))).status_code == 403
    code, output = run("set-roles", creds.username, "admin", "user")
    assert code == 0, output
    assert client.http.get("/admin/users", headers=bearer(login(creds))).status_code == 200


def test_removing_a_role_ends_the_users_sessions_at_once(
    run: Callable[..., tuple[int, str]],
    client: Client,
    make_user: Callable[..., Credentials],
    login: Callable[..., str],
    rt: Services,
    clock: FakeClock,
) -> None:
    make_user(roles=("admin",))  # not the last admin: that one cannot be demoted
    creds = make_user(roles=("admin", "user"))
    token = login(creds)
    assert client.http.get("/admin/users", headers=bearer(token)).status_code == 200
    code, output = run("set-roles", "--yes", creds.username, "user")
    assert code == 0, output
    assert "ended 1 session" in output
    clock.advance(rt.settings.session_cache_seconds)  # the authorizer's documented cache bound
    assert client.http.get("/admin/users", headers=bearer(token)).status_code == 401
    user = rt.users.get(creds.username)
    assert user is not None
    assert user.roles == ("user",)


def test_set_roles_to_nothing_removes_every_role(
    run: Callable[..., tuple[int, str]], make_user: Callable[..., Credentials], rt: Services
) -> None:
    creds = make_user()
    assert run("set-roles", creds.username)[0] == 0
    user = rt.users.get(creds.username)
    assert user is not None
    assert user.roles == ()


def test_set_roles_of_an_unknown_user_fails(run: Callable[..., tuple[int, str]]) -> None:
    code, output = run("set-roles", "ghost", "user")
    assert code == 1
    assert "No such user" in output


def test_role_with_a_comma_is_refused(
    run: Callable[..., tuple[int, str]], make_user: Callable[..., Credentials]
) -> None:
    code, output = run("set-roles", make_user().username, "a,b")
    assert code == 1
    assert "comma" in output


def test_disable_user_ends_every_session_and_blocks_login(
    run: Callable[..., tuple[int, str]],
    client: Client,
    make_user: Callable[..., Credentials],
) -> None:
    creds = make_user()
    grant = json_body(_login(client, creds.username, creds.password))
    code, output = run("disable-user", "--yes", creds.username)
    assert code == 0, output
    assert "ended 1 session" in output
    assert client.http.get("/me", headers=bearer(grant["access_token"])).status_code == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
    assert post_json(client, "/auth/token", refresh).status_code == 400
    assert _login(client, creds.username, creds.password).status_code == 400
    assert run("enable-user", creds.username)[0] == 0
    assert _login(client, creds.username, creds.password).status_code == 200


def test_disable_unknown_user_fails(run: Callable[..., tuple[int, str]]) -> None:
    code, output = run("disable-user", "--yes", "ghost")
    assert code == 1
    assert "No such user" in output


def test_unlock_clears_the_lockout_so_the_right_password_logs_in_again(
    run: Callable[..., tuple[int, str]], client: Client, make_user: Callable[..., Credentials]
) -> None:
    creds = make_user()
    for _ in range(5):
        assert _login(client, creds.username, "Not-the-password-9").status_code == 400
    assert _login(client, creds.username, creds.password).status_code == 429
    code, output = run("unlock", creds.username)
    assert code == 0, output
    assert "cleared 1 counter" in output
    assert _login(client, creds.username, creds.password).status_code == 200


def test_unlock_of_an_unknown_user_fails_with_one_line(run: Callable[..., tuple[int, str]]) -> None:
    code, output = run("unlock", "ghost")
    assert code == 1
    assert output.strip() == "error: No such user."


def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(
    run: Callable[..., tuple[int, str]], make_user: Callable[..., Credentials], rt: Services
) -> None:
    boss = make_user(roles=("admin",))
    code, output = run("set-roles", "--yes", boss.username, "user")
    assert (code, output.strip()) == (
        1,
        "error: This is the last active admin account; make another admin first.",
    )
    assert run("disable-user", "--yes", boss.username)[0] == 1
    user = rt.users.get(boss.username)
    assert user is not None
    assert (user.roles, user.disabled) == (("admin",), False)
    make_user(roles=("admin",))
    assert run("set-roles", "--yes", boss.username, "user")[0] == 0


# -- keys ------------------------------------------------------------------------------------


def test_create_signing_key_stores_a_secure_string_and_publishes_only_public_halves(
    run: Callable[..., tuple[int, str]],
) -> None:
    code, output = run("create-signing-key")
    assert code == 0, output
    ssm = _ssm()
    private = ssm.get_parameter(Name=SIGNING_PARAM)["Parameter"]
    assert private["Type"] == "SecureString"
    [key] = load_signing_keys(
        ssm.get_parameter(Name=SIGNING_PARAM, WithDecryption=True)["Parameter"]["Value"]
    )
    public = ssm.get_parameter(Name=JWKS_PARAM)["Parameter"]
    assert public["Type"] == "String"
    assert [k.kid for k in load_keyset(public["Value"])] == [key.kid]  # refuses any private member
    assert key.kid in output
    assert '"d"' not in output


def test_create_signing_key_refuses_to_replace_existing_keys_without_force(
    run: Callable[..., tuple[int, str]],
) -> None:
    assert run("create-signing-key")[0] == 0
    code, output = run("create-signing-key")
    assert code == 1
    assert "rotate-signing-key" in output
    assert run("create-signing-key", "--yes", "--force", "--alg", "ES256")[0] == 0


def test_list_keys_shows_states_and_never_private_material(
    run: Callable[..., tuple[int, str]], clock: FakeClock
) -> None:
    run("create-signing-key")
    run("rotate-signing-key", "--activate-in", "600")
    code, output = run("list-keys", "--json")
    assert code == 0, output
    rows = json.loads(output)
    assert [r["state"] for r in rows] == ["pending", "signing"]
    assert all(r["published"] for r in rows)
    assert rows[0]["not_before"] == int(START) + 600
    assert '"d"' not in output
    clock.advance(600)
    rows = json.loads(run("list-keys", "--json")[1])
    assert [r["state"] for r in rows] == ["signing", "retiring"]
    assert run("list-keys")[0] == 0


def test_rotate_without_keys_tells_to_create_one_first(run: Callable[..., tuple[int, str]]) -> None:
    code, output = run("rotate-signing-key")
    assert code == 1
    assert "create-signing-key" in output


def test_retire_is_refused_while_tokens_may_live_and_allowed_after(
    run: Callable[..., tuple[int, str]], clock: FakeClock
) -> None:
    run("create-signing-key")
    [old] = json.loads(run("list-keys", "--json")[1])
    run("rotate-signing-key", "--activate-in", "600")
    clock.advance(600 + 900 + 30 - 1)  # one second short of activation + TTL + leeway
    code, output = run("retire-key", "--yes", "--", old["kid"])
    assert code == 1
    assert "1 more seconds" in output
    clock.advance(1)
    code, output = run("retire-key", "--yes", "--", old["kid"])
    assert code == 0, output
    published = json.loads(_ssm().get_parameter(Name=JWKS_PARAM)["Parameter"]["Value"])
    assert old["kid"] not in {k["kid"] for k in published["keys"]}


def test_retiring_the_signing_key_needs_force_and_the_last_key_never_goes(
    run: Callable[..., tuple[int, str]],
) -> None:
    run("create-signing-key")
    [only] = json.loads(run("list-keys", "--json")[1])
    # A kid is base64url and may begin with "-": after "--" it is never read as an option.
    code, output = run("retire-key", "--yes", "--force", "--", only["kid"])
    assert code == 1
    assert "only key" in output
    run("rotate-signing-key", "--activate-in", "0")
    code, output = run("retire-key", "--yes", "--", only["kid"])
    assert code == 1
    assert "--force" in output
    assert run("retire-key", "--yes", "--force", "--", only["kid"])[0] == 0


def test_jwks_parameter_defaults_to_a_sibling_of_the_signing_key_parameter() -> None:
    assert jwks_parameter_for("/gatehouse/prod/signing-key") == "/gatehouse/prod/jwks"
    assert jwks_parameter_for("/gatehouse/signing-key") == JWKS_PARAM


def test_stack_outputs_name_the_tables_and_the_key_parameter(run: Callable[..., tuple[int, str]]) -> None:
    outputs = {output: {"Value": f"from-stack-{output}"} for output in stackinfo.OUTPUT_SETTINGS}
    outputs["SigningKeyParameterName"] = {"Value": "/gatehouse/stacked/signing-key"}
    template = {
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": outputs,
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="gatehouse-prod", TemplateBody=json.dumps(template)
    )
    code, output = run("--stack", "gatehouse-prod", "create-signing-key")
    assert code == 0, output
    assert _ssm().get_parameter(Name="/gatehouse/stacked/jwks")["Parameter"]["Type"] == "String"
    code, output = run("--stack", "gatehouse-prod", "disable-user", "--yes", "x")
    assert code == 1  # the table "from-stack-UsersTableName" does not exist


def test_stack_outputs_the_cli_reads_are_in_the_merge_template() -> None:
    template = json.loads(BASE_TEMPLATE.read_text())
    assert set(stackinfo.OUTPUT_SETTINGS) <= set(template["Outputs"])


def test_unknown_stack_is_a_clear_error(run: Callable[..., tuple[int, str]]) -> None:
    code, output = run("--stack", "no-such-stack", "list-keys")
    assert code == 1
    assert "no-such-stack" in output


# -- the real entry point, over HTTP to a moto server (how it talks to AWS) --------------------


def test_python_dash_m_gatehouse_works_against_an_endpoint_from_aws_endpoint_url() -> None:
    server = LocalAws()
    endpoint = server.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
        env.update(AWS_ENDPOINT_URL=endpoint, GATEHOUSE_SIGNING_KEY_PARAM="/gatehouse/dev/signing-key")

        def gatehouse(*args: str) -> subprocess.CompletedProcess[str]:
            return run_python(["-m", "gatehouse.admin", *args], env)

        created = gatehouse("create-signing-key")
        assert created.returncode == 0, created.stderr
        listed = gatehouse("list-keys", "--json")
        assert listed.returncode == 0, listed.stderr
        [row] = json.loads(listed.stdout)
        assert row["state"] == "signing"
        assert row["published"] is True
    finally:
        server.stop()


# -- tables, for the `chalice deploy` route -------------------------------------------------


def test_create_tables_makes_the_tables_with_ttl_and_point_in_time_recovery(
    aws_mock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings()
    assert cli.main(["create-tables"], env=IN_PROCESS_AWS) == 0
    client = boto3.client("dynamodb", region_name="us-east-1")
    for definition in table_definitions(settings):
        name = definition["TableName"]
        described = client.describe_table(TableName=name)["Table"]
        assert described["KeySchema"] == definition["KeySchema"]
        backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"] == "ENABLED") == (name in ttl_tables(settings))
    # The app's own declared table (the example's notes) is made too, with point-in-time recovery.
    notes = app_module.notes_table.create_table_arguments(IN_PROCESS_AWS)
    described = client.describe_table(TableName=notes["TableName"])["Table"]
    assert described["KeySchema"] == notes["KeySchema"]
    backups = client.describe_continuous_backups(TableName=notes["TableName"])["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert f"Created table {notes['TableName']!r}." in capsys.readouterr().out
    assert cli.main(["create-tables"], env=IN_PROCESS_AWS) == 1
    assert "already exists" in capsys.readouterr().err


# -- which stack: the running local one, unless an AWS target is given ------------------------


@pytest.fixture
def recorded_stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A live local stack's state file (this process, a listening port); yields the env naming it."""
    env = {localstate.FILE_VARIABLE: str(tmp_path / "local-stack.json")}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        stack = localstate.LocalStack(
            os.getpid(),
            endpoint,
            "eu-west-3",
            "http://127.0.0.1:8000",
            {"GATEHOUSE_USERS_TABLE": "dev"},
        )
        assert localstate.record(stack, env) is not None
        yield env


def test_a_running_local_stack_is_the_target_when_no_aws_target_is_given(
    recorded_stack: dict[str, str],
) -> None:
    chosen = target.choose(recorded_stack, stack_name=None)
    assert chosen.local is not None
    assert chosen.aws_environment["AWS_ENDPOINT_URL"] == chosen.local.endpoint
    assert chosen.aws_environment["AWS_DEFAULT_REGION"] == "eu-west-3"
    assert chosen.settings == {"GATEHOUSE_USERS_TABLE": "dev"}


@pytest.mark.parametrize("given", [*target.EXPLICIT_AWS, "--stack"])
def test_an_explicit_aws_target_wins_over_the_local_stack(recorded_stack: dict[str, str], given: str) -> None:
    env = recorded_stack if given == "--stack" else {**recorded_stack, given: "x"}
    chosen = target.choose(env, stack_name="prod" if given == "--stack" else None)
    assert chosen == target.Target()


def test_a_stale_state_file_is_ignored(tmp_path: Path) -> None:
    env = {localstate.FILE_VARIABLE: str(tmp_path / "local-stack.json")}
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead = localstate.LocalStack(int(finished.stdout), "http://127.0.0.1:9", "us-east-1", "http://x")
    assert localstate.record(dead, env) is not None
    with pytest.raises(target.NoTarget, match="start `make run`"):
        target.choose(env, stack_name=None)


def test_a_second_stack_never_takes_over_a_live_stacks_state_file(recorded_stack: dict[str, str]) -> None:
    other = localstate.LocalStack(os.getpid() + 1, "http://127.0.0.1:9", "us-east-1", "http://x")
    assert localstate.record(other, recorded_stack) is None
    localstate.forget(other.pid, recorded_stack)  # not its file: kept
    found = localstate.find(recorded_stack)
    assert found is not None
    assert found.pid == os.getpid()
    localstate.forget(os.getpid(), recorded_stack)
    assert localstate.find(recorded_stack) is None
