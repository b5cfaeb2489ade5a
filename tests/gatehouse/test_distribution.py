"""One distribution: the version and licence every artifact carries are the package's own."""

from __future__ import annotations

import json
import re
import tomllib

import gatehouse
from tests.conftest import ROOT

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def test_the_version_is_semantic_and_the_changelog_has_its_section() -> None:
    assert SEMVER.fullmatch(gatehouse.__version__)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {gatehouse.__version__}" in changelog


def test_the_npm_client_carries_the_same_version_and_licence() -> None:
    npm = json.loads((ROOT / "client" / "package.json").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert npm["version"] == gatehouse.__version__
    assert npm["license"] == project["license"] == "MIT"
    assert (ROOT / "client" / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert "LICENSE" in npm["files"]


def test_the_example_app_installs_the_wheel_of_this_version_with_the_pinned_dependencies() -> None:
    lines = [
        line
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == f"dist/gatehouse_chalice-{gatehouse.__version__}-py3-none-any.whl"
    # The dev virtualenv pins the Lambda dependencies exactly as the Lambda package does.
    dev = set((ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines())
    assert set(lines[1:]) <= dev


def _pins(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    assert all(len(pair) == 2 for pair in pairs), name  # every requirement pinned exactly
    return {re.sub(r"[-_.]+", "-", package).lower(): version for package, version in pairs}


def test_the_tools_are_pinned_once_beside_what_make_test_installs() -> None:
    # `make test` installs requirements-dev.txt alone; the other targets add requirements-tools.txt,
    # constrained by it: a package in both would be pinned twice, and could disagree.
    dev, tools = _pins("requirements-dev.txt"), _pins("requirements-tools.txt")
    assert not set(dev) & set(tools)
    assert {"mypy", "ruff", "cfn-lint", "schemathesis", "playwright"} <= set(tools)
    assert {"pytest", "pytest-xdist", "hypothesis", "moto", "chalice"} <= set(dev)
