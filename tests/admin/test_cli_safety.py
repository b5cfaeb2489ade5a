"""The admin CLI says where it acts before acting, and asks before destroying anything.

In-process against moto, as tests/admin/test_cli.py; the refusal without a
target runs as a developer's shell would (tests/test_local_stack_failures.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from gatehouse.admin import cli
from gatehouse.services import Services
from tests.conftest import Credentials, FakeClock

IN_PROCESS_AWS = {"AWS_ACCESS_KEY_ID": "testing"}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def run(rt: Services, clock: FakeClock, capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    def do(*argv: str, stdin: io.StringIO | None = None, env: dict[str, str] | None = None) -> Ran:
        code = cli.main(
            list(argv), env={**IN_PROCESS_AWS, **(env or {})}, stdin=stdin or io.StringIO(""), clock=clock
        )
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return do


def test_every_command_first_names_the_aws_account_region_and_tables_it_acts_on(
    run: Callable[..., Ran],
) -> None:
    ran = run("list-users", "--json")
    assert ran.code == 0, ran.err
    assert ran.err.splitlines()[0] == (
        "Target: AWS account 123456789012, region us-east-1, users table gatehouse-users (GATEHOUSE_* names)"
    )
    assert ran.out.startswith("[")  # the JSON stays alone on stdout


def test_an_explicit_endpoint_is_named_in_the_target(run: Callable[..., Ran]) -> None:
    # moto in-process answers whatever the endpoint; the line must still say which one was asked for.
    ran = run("list-users", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"})
    assert ", endpoint http://127.0.0.1:4566, " in ran.err.splitlines()[0]


@pytest.mark.parametrize(
    ("argv", "roles"),
    [
        (("delete-user", "{user}"), ("user",)),
        (("disable-user", "{user}"), ("user",)),
        (("set-roles", "{user}", "user"), ("admin", "user")),
    ],
    ids=["delete-user", "disable-user", "set-roles removing admin"],
)
def test_a_destructive_user_command_without_a_terminal_or_yes_refuses_and_changes_nothing(
    run: Callable[..., Ran],
    make_user: Callable[..., Credentials],
    rt: Services,
    argv: tuple[str, ...],
    roles: tuple[str, ...],
) -> None:
    make_user(roles=("admin",))  # never the last admin
    victim = make_user(roles=roles)
    ran = run(*(a.format(user=victim.username) for a in argv))
    assert ran.code == 1
    assert ran.err.splitlines()[1:] == [
        f"error: {argv[0]} asks for confirmation: run it on a terminal, or pass --yes."
    ]
    user = rt.users.get(victim.username)
    assert user is not None
    assert (user.roles, user.disabled) == (roles, False)


def test_delete_user_on_a_terminal_acts_only_on_yes(
    run: Callable[..., Ran], make_user: Callable[..., Credentials], rt: Services
) -> None:
    victim = make_user()
    ran = run("delete-user", victim.username, stdin=Terminal("n\n"))
    assert ran.code == 1
    assert f"Delete {victim.username!r}, their sessions and their data, for good? [y/N]" in ran.err
    assert ran.err.rstrip().endswith("error: Not confirmed; nothing was changed.")
    assert rt.users.get(victim.username) is not None

    ran = run("delete-user", victim.username, stdin=Terminal("y\n"))
    assert ran.code == 0, ran.err
    assert rt.users.get(victim.username) is None


def test_yes_skips_the_question(
    run: Callable[..., Ran], make_user: Callable[..., Credentials], rt: Services
) -> None:
    victim = make_user()
    ran = run("disable-user", "--yes", victim.username)
    assert ran.code == 0, ran.err
    assert "[y/N]" not in ran.err
    user = rt.users.get(victim.username)
    assert user is not None
    assert user.disabled


def test_adding_roles_or_enabling_asks_nothing(
    run: Callable[..., Ran], make_user: Callable[..., Credentials]
) -> None:
    someone = make_user()
    assert run("set-roles", someone.username, "user", "editor").code == 0
    assert run("enable-user", someone.username).code == 0


def test_retiring_a_key_and_replacing_all_keys_ask_first(run: Callable[..., Ran]) -> None:
    assert run("create-signing-key").code == 0
    replaced = run("create-signing-key", "--force")
    assert replaced.code == 1
    assert "create-signing-key asks for confirmation" in replaced.err
    retired = run("retire-key", "some-kid")
    assert retired.code == 1
    assert "retire-key asks for confirmation" in retired.err
