"""`make rehearse` end to end: the packaged stack passes, and each way a deployment breaks that
only running it shows makes it fail with a line naming the function and what is wrong.

Each case copies the session's package (tests/conftest.py), breaks one thing in the copy and
runs `python -m gatehouse.release.rehearsal` on it, as `make rehearse` does (its own process:
the rehearsal's moto server must not share this process's moto backends)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatehouse.release.rehearsal.run import _names_part_of
from tests.conftest import ROOT, Package

# Each test packages and rehearses a whole stack (20-30 s): they run in `make test-rehearse`
# (CI runs it beside `make rehearse`), which keeps `make test` quick.
pytestmark = [pytest.mark.deploy, pytest.mark.rehearsal]

Rehearse = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def rehearse(package: Package, tmp_path: Path) -> Rehearse:
    """Run the rehearsal on a copy of the package, after ``change(template, build_dir)``."""

    def run(change: Callable[[dict[str, Any], Path], None] | None = None) -> subprocess.CompletedProcess[str]:
        build = tmp_path / "build"
        build.mkdir()
        shutil.copyfile(package.zip_path, build / "deployment.zip")
        template = json.loads(package.text)
        if change is not None:
            change(template, build)
        (build / "sam.json").write_text(json.dumps(template))
        return subprocess.run(
            [sys.executable, "-m", "gatehouse.release.rehearsal", str(build)],
            cwd=ROOT,
            env=package.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run


def statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        s
        for p in template["Resources"][role]["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
    ]


def test_the_packaged_stack_passes_the_rehearsal_with_every_route_reached(rehearse: Rehearse) -> None:
    result = rehearse()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rehearsal passed" in result.stdout
    for function in ("APIHandler", "GatehouseAuth", "AuthFunction"):
        assert function in result.stdout.splitlines()[-1]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_permission_removed_from_a_role_fails_naming_the_function_and_the_action(
    rehearse: Rehearse,
) -> None:
    def without_session_queries(template: dict[str, Any], _: Path) -> None:
        for statement in statements(template, "AuthFunctionRole"):
            if isinstance(statement.get("Action"), list) and "dynamodb:Query" in statement["Action"]:
                resource = json.dumps(statement.get("Resource"))
                if "SessionsTable" in resource:
                    statement["Action"].remove("dynamodb:Query")
                    return
        raise AssertionError("no Query grant on the sessions table to remove")

    result = rehearse(without_session_queries)
    assert result.returncode == 1, result.stdout
    refused = [line for line in result.stdout.splitlines() if "its role refused dynamodb:Query" in line]
    assert refused, result.stdout
    assert refused[0].strip().startswith("AuthFunction (gatehouse-rehearsal-auth, role AuthFunctionRole)")
    assert "SessionsTable" in refused[0]


@pytest.mark.parametrize(
    ("package_dir", "symptom"),
    [
        ("chalice", "Runtime.ImportModuleError: Unable to import module 'app': No module named 'chalice'"),
        ("jwt", "answered 500; its log says: ModuleNotFoundError: No module named 'jwt'"),
    ],
    ids=["imported-at-start", "imported-on-first-use"],
)
def test_a_module_missing_from_the_zip_fails_naming_it_and_the_function(
    rehearse: Rehearse, package_dir: str, symptom: str
) -> None:
    def without_it(_: dict[str, Any], build: Path) -> None:
        source = build / "deployment.zip"
        kept = build / "kept.zip"
        with zipfile.ZipFile(source) as old, zipfile.ZipFile(kept, "w", zipfile.ZIP_DEFLATED) as new:
            for item in old.infolist():
                if not item.filename.startswith(package_dir + "/"):
                    new.writestr(item, old.read(item))
        kept.replace(source)

    result = rehearse(without_it)
    assert result.returncode == 1, result.stdout
    failed = [line for line in result.stdout.splitlines() if symptom in line]
    assert failed, result.stdout
    assert any("AuthFunction (gatehouse-rehearsal-auth, role AuthFunctionRole)" in line for line in failed)


def test_a_wrong_handler_string_fails_naming_the_handler(rehearse: Rehearse) -> None:
    def wrong_handler(template: dict[str, Any], _: Path) -> None:
        template["Resources"]["GatehouseAuth"]["Properties"]["Handler"] = (
            "gatehouse.authorizer.handler.no_such_entry_point"
        )

    result = rehearse(wrong_handler)
    assert result.returncode == 1, result.stdout
    assert (
        "rehearsal failed: GatehouseAuth (gatehouse-rehearsal-authorizer, role GatehouseAuthRole): "
        "handler gatehouse.authorizer.handler.no_such_entry_point: Runtime.HandlerNotFound: "
        "Handler 'no_such_entry_point' missing on module 'gatehouse.authorizer.handler'"
    ) in result.stdout


def test_a_missing_environment_variable_fails_naming_the_variable(rehearse: Rehearse) -> None:
    def without_sessions_table(template: dict[str, Any], _: Path) -> None:
        del template["Resources"]["GatehouseAuth"]["Properties"]["Environment"]["Variables"][
            "GATEHOUSE_SESSIONS_TABLE"
        ]

    result = rehearse(without_sessions_table)
    assert result.returncode == 1, result.stdout
    assert (
        "GatehouseAuth read GATEHOUSE_SESSIONS_TABLE, which the template does not set on it" in result.stdout
    )
    # Its default names a table outside the stack, which its role may not read.
    assert (
        "its role refused dynamodb:GetItem on "
        "arn:aws:dynamodb:us-east-1:123456789012:table/gatehouse-sessions" in result.stdout
    )


def test_a_template_it_cannot_resolve_stops_with_one_line(rehearse: Rehearse) -> None:
    def imported(template: dict[str, Any], _: Path) -> None:
        variables = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
        variables["SHARED"] = {"Fn::ImportValue": "shared-name"}

    result = rehearse(imported)
    assert result.returncode == 2, result.stdout
    assert result.stdout.strip().splitlines()[-1] == (
        "rehearsal cannot run: Resources.APIHandler.Properties.Environment.Variables.SHARED: "
        "Fn::ImportValue is not supported by the rehearsal"
    )


def test_a_variable_is_suspected_when_a_distinctive_part_of_its_name_was_refused() -> None:
    refused = "arn:aws:dynamodb:us-east-1:123456789012:table/gatehouse-events"
    assert _names_part_of("GATEHOUSE_EVENTS_TABLE", refused)
    assert not _names_part_of("GATEHOUSE_USERS_TABLE", refused)  # "gatehouse" and "table" say nothing
