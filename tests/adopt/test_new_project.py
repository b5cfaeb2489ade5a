"""A project made by `chalice new-project` adopts Gatehouse as the README says, in a fresh virtualenv.

Offline and end to end: the wheel is built from this checkout, the README's
"Add Gatehouse to your Chalice project" section runs as written (its shell
blocks in bash, its Python block as the project's ``app.py``), then
``chalice local`` serves the app with the embedded stack, a seeded user logs in
and uses the app's own table, and ``make package`` builds the stack, whose
template is checked (the app's table, its grant and no other, the three
functions, cfn-lint) with the zip it ships.  About a minute and a half, most
of it pip: ``make test-adopt`` (and .ci/run), not ``make test``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gatehouse import __version__
from tests.adopt import BUILD_WHEEL, GATEHOUSE_TABLES
from tests.docs import markdown
from tests.live_stack import ADMIN_PASSWORD, CHALICE_READY_LINE, DEMO_PASSWORD, LiveStack, live_stack

pytestmark = pytest.mark.adopt

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Add Gatehouse to your Chalice project"
MAX_ZIP_BYTES = 10 * 1024 * 1024
FUNCTIONS = ("APIHandler", "GatehouseAuth", "AuthFunction")


def readme_section() -> list[markdown.Block]:
    """The section's blocks, in order (the docs test runs the Python one; this test runs them all)."""
    readme = ROOT / "README.md"
    lines = readme.read_text(encoding="utf-8").splitlines()
    start = lines.index(SECTION) + 1
    end = next((i + 1 for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines) + 1)
    return [b for b in markdown.blocks(readme) if start < b.line < end]


def _environment(scratch: Path) -> dict[str, str]:
    """A developer's shell: nothing of this checkout's venv, AWS or Gatehouse settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "GATEHOUSE_", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))
    }
    # `chalice new-project` comes from Chalice installed somewhere: here, this checkout's venv.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = env.get("HOME", str(scratch))
    return env


def _bash(script: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    scratch = tmp_path_factory.mktemp("adopt")
    env = _environment(scratch)
    wheels = scratch / "dist"
    subprocess.run(
        [*BUILD_WHEEL, wheels, ROOT],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = wheels.glob("gatehouse_chalice-*.whl")
    assert wheel.name == f"gatehouse_chalice-{__version__}-py3-none-any.whl"
    env["WHEEL"] = str(wheel)
    blocks = readme_section()
    assert [b.lang for b in blocks] == ["sh", "sh", "python", "sh"], [b.where for b in blocks]
    setup, create, app, init = blocks
    # The setup block builds the wheel in the checkout and puts its venv on PATH, as done above:
    # the path it gives WHEEL must be the file `make wheel` really builds.
    assert f"WHEEL=$PWD/dist/{wheel.name}\n" in setup.code, setup.code
    assert "PATH=$PWD/.venv/bin:$PATH" in setup.code, setup.code
    # The first block ends in the new project (`cd todos`); the next ones run there.
    _bash(create.code, scratch, env)
    directory = scratch / "todos"
    (directory / "app.py").write_text(app.code, encoding="utf-8")
    env["INIT_OUTPUT"] = _bash(init.code, directory, env)
    return directory, env


def _token(stack: LiveStack, username: str, password: str) -> str:
    status, _, body = stack.call(
        "POST",
        "/auth/token",
        {"grant_type": "password", "username": username, "password": password},
    )
    assert status == 200, body
    return str(body["access_token"])


def test_the_new_project_serves_its_own_table_behind_gatehouse(project: tuple[Path, dict[str, str]]) -> None:
    directory, env = project
    assert "created   .chalice/config.json" not in env["INIT_OUTPUT"]  # chalice's own, replaced
    assert "updated   .chalice/config.json" in env["INIT_OUTPUT"]
    assert (directory / "gatehouse.mk").is_file()
    chalice = [str(directory / ".venv" / "bin" / "chalice"), "local", "--no-autoreload"]
    with live_stack(command=chalice, ready_line=CHALICE_READY_LINE, cwd=directory, env=env) as stack:
        assert "Seeded user 'demo'" in stack.output()
        demo = {"Authorization": f"Bearer {_token(stack, 'demo', DEMO_PASSWORD)}"}
        status, _, added = stack.call("POST", "/todos", {"text": "water the plants"}, headers=demo)
        assert status == 200, added
        status, _, listed = stack.call("GET", "/todos", headers=demo)
        assert (status, listed) == (200, [added])
        # The README's app answers a body without its field with a 400, never a 500.
        status, _, refused = stack.call("POST", "/todos", {"txt": "typo"}, headers=demo)
        assert (status, refused["error"]) == (400, "invalid_request"), refused
        assert stack.call("GET", "/todos")[0] == 401
        status, _, body = stack.call("GET", "/todos/stats", headers=demo)
        assert (status, body["error"]) == (403, "forbidden"), body
        admin = {"Authorization": f"Bearer {_token(stack, 'admin', ADMIN_PASSWORD)}"}
        assert stack.call("GET", "/todos/stats", headers=admin)[2] == {"asked_by": "admin"}


def _statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    resources = template["Resources"]
    role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [s for p in resources[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def _dynamodb_targets(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    found = set()
    for statement in statements:
        if not isinstance(statement, dict) or "Action" not in statement:
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            if action.startswith("dynamodb:"):
                for resource in statement["Resource"]:
                    found.add((action, resource["Fn::GetAtt"][0]))
    return found


def test_make_package_builds_a_stack_with_the_apps_table_and_only_its_grant(
    project: tuple[Path, dict[str, str]],
) -> None:
    directory, env = project
    _bash("make package && make deploy-check", directory, env)
    template = json.loads((directory / "build" / "sam.json").read_text())
    resources = template["Resources"]
    table = resources["TodosTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert [k["AttributeName"] for k in table["Properties"]["KeySchema"]] == ["owner", "todo_id"]
    assert all(resources[f]["Type"] == "AWS::Serverless::Function" for f in FUNCTIONS)
    default_actions = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"}
    assert _dynamodb_targets(_statements(template, "APIHandler")) == {
        (f"dynamodb:{a}", "TodosTable") for a in default_actions
    }
    # No account-deleted actions declared: the auth function reaches Gatehouse's tables only.
    assert {t for _, t in _dynamodb_targets(_statements(template, "AuthFunction"))} == GATEHOUSE_TABLES
    for function in ("APIHandler", "AuthFunction"):
        assert resources[function]["Properties"]["Environment"]["Variables"]["TODOS_TABLE"] == {
            "Ref": "TodosTable"
        }
    zipped = directory / "build" / "deployment.zip"
    assert zipped.stat().st_size <= MAX_ZIP_BYTES
    with zipfile.ZipFile(zipped) as archive:
        names = set(archive.namelist())
    assert "app.py" in names
    assert any(n.startswith("gatehouse/component.") for n in names)
    assert not any(n.startswith(("moto/", "chalice/cli", "cfnlint/")) for n in names)
