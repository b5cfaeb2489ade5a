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
