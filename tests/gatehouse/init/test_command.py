"""``gatehouse init``: idempotent, never loses an edit, ``--check`` lists what differs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatehouse.init import command, files

ROOT = Path(__file__).resolve().parents[3]
# What `chalice new-project todos` writes (chalice 1.34), less its comments.
NEW_PROJECT_CONFIG = {"version": "2.0", "app_name": "todos", "stages": {"dev": {"api_gateway_stage": "api"}}}
HELLO_APP = "from chalice import Chalice\n\napp = Chalice(app_name='todos')\n"
TODOS_APP = """\
from chalice import Chalice
from gatehouse import Gatehouse

app = Chalice(app_name="todos")
gate = Gatehouse(app)
todos = gate.table("todos", partition_key="owner", sort_key="todo_id")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(NEW_PROJECT_CONFIG, indent=2) + "\n")
    (tmp_path / "app.py").write_text(HELLO_APP)
    return tmp_path


def init(project: Path, *options: str) -> int:
    return command.main([*options, "--project-dir", str(project)])


def test_init_writes_the_stages_policies_and_make_targets_then_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert init(project) == 0
    config = json.loads((project / files.CONFIG).read_text())
    assert config["app_name"] == "todos"
    assert config["stages"]["dev"]["environment_variables"]["GATEHOUSE_EMBEDDED_AWS"] == "true"
    assert set(config["stages"]["prod"]["lambda_functions"]) == {
        "api_handler",
        "auth_function",
        "gatehouse_auth",
    }
    assert "include gatehouse.mk" in (project / "Makefile").read_text()
    assert "gatehouse.release.template" in (project / "gatehouse.mk").read_text()
    written = {p: (project / p).read_text() for p in [*files.generated("todos", (), with_makefile=True)]}
    capsys.readouterr()
    assert init(project) == 0
    assert capsys.readouterr().out.split().count("unchanged") == len(written)
    assert {p: (project / p).read_text() for p in written} == written
    assert init(project, "--check") == 0


def _as_if_another_version_wrote(project: Path, path: str) -> None:
    """The manifest says init last wrote something else there: this version brings a change."""
    manifest = project / command.MANIFEST
    recorded = json.loads(manifest.read_text())
    recorded["files"][path] = "0" * 64
    manifest.write_text(json.dumps(recorded))


def test_an_edited_file_with_a_new_generated_version_stops_init_before_it_writes_anything(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert init(project) == 0
    mk = project / "gatehouse.mk"
    mk.write_text(mk.read_text() + "\n# mine\n")
    _as_if_another_version_wrote(project, "gatehouse.mk")
    (project / files.AUTHORIZER_POLICY).unlink()
    capsys.readouterr()
    assert init(project) == 1
    err = capsys.readouterr().err
    assert "gatehouse.mk differs" in err
    assert "--force" in err
    assert "Traceback" not in err
    assert not (project / files.AUTHORIZER_POLICY).exists()  # nothing written
    assert mk.read_text().endswith("# mine\n")
    assert init(project, "--check") == 1
    out = capsys.readouterr().out
    assert "gatehouse.mk: differs" in out
    assert "edited" in out
    assert f"{files.AUTHORIZER_POLICY}: differs" in out
    assert init(project, "--force") == 0
    assert "# mine" not in mk.read_text()
    assert init(project, "--check") == 0


def test_an_edited_config_is_kept_while_init_still_updates_the_policy_for_a_new_table(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A project that adopted Gatehouse keeps its own settings in config.json; declaring a
    # table afterwards must still bring the table's grants in, without a merge.
    assert init(project) == 0
    config_path = project / files.CONFIG
    config = json.loads(config_path.read_text())
    config["stages"]["dev"]["environment_variables"]["MY_SETTING"] = "mine"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    mine = config_path.read_text()
    (project / "app.py").write_text(TODOS_APP)
    capsys.readouterr()
    assert init(project) == 0
    out = capsys.readouterr().out
    assert f"kept      {files.CONFIG}" in out
    assert f"updated   {files.API_HANDLER_POLICY}" in out
    assert config_path.read_text() == mine
    policy = json.loads((project / files.API_HANDLER_POLICY).read_text())
    assert [s for s in policy["Statement"] if s["Sid"] == "AppTodosTable"]
    assert init(project, "--check") == 0
    assert f"kept with your edits: {files.CONFIG}" in capsys.readouterr().out


def test_a_file_init_wrote_and_nobody_edited_follows_the_apps_tables(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert init(project) == 0
    (project / "app.py").write_text(TODOS_APP)
    assert init(project, "--check") == 1
    assert "another version or for other tables" in capsys.readouterr().out
    assert init(project) == 0  # no --force needed: the policy was init's own
    policy = json.loads((project / files.API_HANDLER_POLICY).read_text())
    [grant] = [s for s in policy["Statement"] if s["Sid"] == "AppTodosTable"]
    assert grant["Resource"] == "arn:aws:dynamodb:*:*:table/todos-todos"
    assert init(project, "--check") == 0


def test_an_existing_makefile_is_left_alone_with_a_hint(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "Makefile").write_text("all:\n\techo mine\n")
    assert init(project) == 0
    assert (project / "Makefile").read_text() == "all:\n\techo mine\n"
    assert "include gatehouse.mk" in capsys.readouterr().out


def test_an_app_that_does_not_import_is_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "app.py").write_text("import no_such_module_here\n")
    assert init(project) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot import app.py (ModuleNotFoundError" in err


def test_outside_a_project_init_says_where_to_run_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert init(tmp_path) == 1
    assert "no Chalice project" in capsys.readouterr().err


def test_this_repository_is_what_init_generates() -> None:
    # python -m gatehouse, the way the README's users run it (here: in the project root).
    result = subprocess.run(
        [sys.executable, "-m", "gatehouse", "init", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_init_puts_back_the_callers_own_app_module(project: Path) -> None:
    import app as this_repositorys_app

    assert init(project, "--check") == 1
    assert sys.modules["app"] is this_repositorys_app
