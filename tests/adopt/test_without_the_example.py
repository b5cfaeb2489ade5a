"""Nothing outside the example names the notes: without them the stack, the tests and the package work.

A copy of this checkout whose ``app.py`` has no notes routes and no
``chalicelib/notes``, less the tests of the notes (the files that import them):
the rest of the suite still collects, the component's and deployment's own tests
pass, ``make run``'s stack starts and serves a login, and the merge template and
``chalice package`` build, with no notes table anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adopt import BUILD_WHEEL, GATEHOUSE_TABLES
from tests.live_stack import DEMO_PASSWORD, live_stack

pytestmark = pytest.mark.adopt

ROOT = Path(__file__).resolve().parents[2]
APP_WITHOUT_NOTES = """\
from chalice import Chalice

from gatehouse import Gatehouse

app = Chalice(app_name="gatehouse")
gate = Gatehouse(app)
"""
# Tests that exercise the notes example: they go with it.
NOTES_TESTS = ("notes_table", "chalicelib.notes", "/notes")
# The tests of the component, the local stack and the deployment, run in the copy.
RUN_THERE = (
    "tests/gatehouse/test_component_seam.py",
    "tests/gatehouse/test_app_tables.py",
    "tests/gatehouse/init",
    "tests/release/test_deploy_template.py",
)


def _run_status(command: list[str], cwd: Path) -> str:
    """What a command printed, whatever its status (grep: 1 when nothing matched)."""
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False).stdout


def _run(command: list[str], cwd: Path, timeout: float = 400) -> str:
    # A run of its own, not a part of this one's xdist worker.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("without-notes") / "gatehouse"
    tracked = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT).split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file() or source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)
    (target / "app.py").write_text(APP_WITHOUT_NOTES)
    shutil.rmtree(target / "chalicelib" / "notes")
    shutil.rmtree(target / "tests" / "notes")
    # ... and the tests that import a helper of theirs, until none is left.
    marks = set(NOTES_TESTS)
    while gone := [
        test
        for test in (target / "tests").rglob("*.py")
        if any(mark in test.read_text(encoding="utf-8") for mark in marks)
    ]:
        for test in gone:
            test.unlink()
            marks.add(".".join(test.relative_to(target).with_suffix("").parts))
    (target / "dist").mkdir()
    _run([*BUILD_WHEEL, "dist", "."], target)
    # The chalice-deploy policy follows the app's tables: init (which wrote it) updates it.
    assert "updated   .chalice/policy-prod-api-handler.json" in _run(
        [sys.executable, "-m", "gatehouse", "init"], target
    )
    return target


def test_nothing_left_depends_on_the_notes(copy: Path) -> None:
    # Their module, table, resource and variable; the docs describe the example and build/ is
    # the wheel's build output.  (The demo page and the served OpenAPI text still show notes.)
    pattern = "chalicelib.notes\\|notes_table\\|NotesTable\\|NOTES_TABLE\\|gatehouse-notes"
    grep = ["grep", "-rIl", "--exclude-dir=tests", "--exclude-dir=docs", "--exclude-dir=build", pattern, "."]
    assert _run_status(grep, copy) == ""


def test_the_rest_of_the_suite_collects_and_the_components_tests_pass(copy: Path) -> None:
    _run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly"], copy)
    _run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-x", *RUN_THERE], copy)


def test_the_local_stack_starts_and_logs_in(copy: Path) -> None:
    command = [sys.executable, "-m", "gatehouse.dev.run"]
    with live_stack(command=command, cwd=copy) as stack:
        status, _, body = stack.call(
            "POST", "/auth/token", {"grant_type": "password", "username": "demo", "password": DEMO_PASSWORD}
        )
        assert status == 200, body
        me = stack.call("GET", "/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me[0] == 200


def test_the_stack_packages_without_a_notes_table(copy: Path) -> None:
    env_region = ["env", "AWS_DEFAULT_REGION=us-east-1"]
    _run(
        [
            *env_region,
            sys.executable,
            "-m",
            "gatehouse.release.template",
            "--stage",
            "prod",
            "build/merge.json",
        ],
        copy,
    )
    chalice = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())"]
    _run(
        [
            *env_region,
            *chalice,
            "package",
            "--stage",
            "prod",
            "--merge-template",
            "build/merge.json",
            "build/",
        ],
        copy,
    )
    template = json.loads((copy / "build" / "sam.json").read_text())
    tables = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert tables == GATEHOUSE_TABLES
