"""Which function serves which route in the deployable stack, and the auth function itself.

Chalice generates one API handler for every route; ``gatehouse.release.template``
re-points Gatehouse's routes at the auth function.  Checked on the packaged
template of this app, and on small apps with routes this one does not have yet.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import Any

import pytest
from chalice.app import Chalice, CORSConfig

import app as gatehouse_app
from gatehouse.authorizer import handler
from gatehouse.authorizer.policy import ROUTES_VARIABLE, RouteTable
from gatehouse.release import template
from gatehouse.release.template import AUTH_FUNCTION, FunctionSettings, ReleaseError, gatehouse_paths
from tests.conftest import ROOT, Package
from tests.release.stack import API_HANDLER, APP_TABLES, AUTHORIZER, FUNCTIONS, integration_target

pytestmark = pytest.mark.deploy

# The routes of this app that are Gatehouse's, and the example's own.
GATEHOUSE_ROUTES = {
    "/auth/register",
    "/auth/token",
    "/auth/revoke",
    "/auth/sessions",
    "/auth/sessions/{session_id}",
    "/auth/password",
    "/.well-known/jwks.json",
    "/me",
    "/admin/users",
    "/admin/users/{username}/disable",
    "/admin/users/{username}/enable",
    "/admin/users/{username}/unlock",
    "/admin/users/{username}/mfa/reset",
    "/auth/mfa/totp",
    "/auth/mfa/totp/confirm",
    "/auth/mfa/recovery-codes",
    "/auth/mfa/totp/remove",
    "/admin/users/{username}/events",
    "/auth/events",
    "/auth/email",
    "/auth/email/verify",
    "/auth/email/resend",
    "/auth/password/forgot",
    "/auth/password/reset",
    "/auth/account/delete",
    "/openapi.json",
    "/",
    "/client/{name}",
}
NOTES_ROUTES = {"/notes", "/notes/{note_id}"}
BASE = json.loads(template.BASE_TEMPLATE.read_text())
SETTINGS = FunctionSettings("python3.11", "x86_64", 1024, 10, {"GATEHOUSE_ISSUER": "orders"}, {})


def _operations(package: Package) -> dict[tuple[str, str], dict[str, Any]]:
    paths = package.api_body()["paths"]
    return {(path, method.upper()): op for path, ops in paths.items() for method, op in ops.items()}


def test_the_app_has_exactly_these_gatehouse_and_example_routes() -> None:
    # If this fails, a route was added: decide which function serves it (is_gatehouse_path).
    assert set(gatehouse_app.app.routes) == GATEHOUSE_ROUTES | NOTES_ROUTES
    assert gatehouse_paths(gatehouse_app.app) == GATEHOUSE_ROUTES


def test_every_gatehouse_route_integrates_with_the_auth_function(package: Package) -> None:
    operations = _operations(package)
    for path in GATEHOUSE_ROUTES:
        for method in gatehouse_app.app.routes[path]:
            assert integration_target(operations[(path, method)]) == AUTH_FUNCTION, (method, path)


def test_every_notes_route_integrates_with_the_api_handler(package: Package) -> None:
    operations = _operations(package)
    for path in NOTES_ROUTES:
        for method in gatehouse_app.app.routes[path]:
            assert integration_target(operations[(path, method)]) == API_HANDLER, (method, path)


def test_the_api_has_exactly_the_apps_routes_plus_a_preflight_per_path(package: Package) -> None:
    expected = {(path, method) for path, methods in gatehouse_app.app.routes.items() for method in methods}
    expected |= {(path, "OPTIONS") for path in gatehouse_app.app.routes}
    operations = _operations(package)
    assert set(operations) == expected
    for (path, method), operation in operations.items():
        target = integration_target(operation)
        if method == "OPTIONS":
            assert target is None, path  # a mock: API Gateway answers it (tests/release/test_deploy_cors.py)
        else:
            assert target in (AUTH_FUNCTION, API_HANDLER), (method, path)


def test_routes_behind_the_authorizer_keep_it_after_moving_to_the_auth_function(package: Package) -> None:
    operations = _operations(package)
    for (path, method), operation in operations.items():
        if method == "OPTIONS":
            continue
        protected = gatehouse_app.app.routes[path][method].authorizer is not None
        assert (operation.get("security") == [{"gatehouse_auth": []}]) == protected, (method, path)


# -- the rule, on routes this app does not have yet --------------------------------------------


def _app(*paths: str, cors: bool = False, options: str | None = None) -> Chalice:
    app = Chalice(app_name="orders")
    for index, path in enumerate(paths):
        app.route(path, methods=["POST", "GET"], cors=cors, name=f"view{index}")(lambda **_: {})
    if options is not None:
        app.route(options, methods=["OPTIONS"], name="own_preflight")(lambda **_: {})
    return app


FUTURE_GATEHOUSE = (
    "/auth/email",
    "/auth/email/verify",
    "/auth/email/resend",
    "/auth/password/forgot",
    "/auth/password/reset",
    "/auth/account/delete",
    "/admin/users/{username}/unlock",
)
NOT_GATEHOUSE = ("/orders", "/reports/{day}", "/messages", "/authors", "/administer", "/me2", "/clients")


def test_future_gatehouse_routes_are_gatehouse_paths_and_lookalikes_are_not() -> None:
    app = _app(*FUTURE_GATEHOUSE, *NOT_GATEHOUSE)
    assert gatehouse_paths(app) == set(FUTURE_GATEHOUSE)


def test_merge_document_points_only_existing_gatehouse_paths_at_the_auth_function() -> None:
    app = _app("/auth/email", "/orders")
    document = template.merge_document(app, BASE, SETTINGS)
    paths = document["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert set(paths) == {"/auth/email", "/orders"}  # nothing for routes the app does not have
    uri = {"uri": template.integration_uri(AUTH_FUNCTION)}
    assert paths["/auth/email"]["post"]["x-amazon-apigateway-integration"] == uri
    assert paths["/auth/email"]["get"]["x-amazon-apigateway-integration"] == uri
    # The app's own routes keep Chalice's integration (the API handler): nothing to override.
    assert set(paths["/orders"]) == {"options"}
    for operations in paths.values():
        assert operations["options"]["x-amazon-apigateway-integration"]["type"] == "mock"


def test_a_path_whose_app_answers_options_itself_keeps_that_route() -> None:
    app = _app("/orders", options="/orders")
    paths = template.merge_document(app, BASE, SETTINGS)["Resources"]["RestAPI"]["Properties"]
    assert "options" not in paths["DefinitionBody"]["paths"]["/orders"]


def test_chalice_cors_is_refused_because_its_static_preflight_would_survive_the_merge() -> None:
    with pytest.raises(ReleaseError, match=r"CORSConfig .* CorsAllowOrigins"):
        template.merge_document(_app("/orders", cors=True), BASE, SETTINGS)
    app = Chalice(app_name="orders")
    app.route("/orders", methods=["GET"], cors=CORSConfig(allow_origin="https://a.example"))(lambda: {})
    with pytest.raises(ReleaseError, match="GET /orders"):
        template.merge_document(app, BASE, SETTINGS)


def test_the_auth_function_takes_its_settings_from_the_caller_and_the_template() -> None:
    document = template.merge_document(_app("/auth/email"), BASE, SETTINGS)
    properties = document["Resources"][AUTH_FUNCTION]["Properties"]
    assert (properties["Runtime"], properties["Architectures"]) == ("python3.11", ["x86_64"])
    assert (properties["MemorySize"], properties["Timeout"]) == (1024, 10)
    env = properties["Environment"]["Variables"]
    assert env["GATEHOUSE_ISSUER"] == "orders"
    assert env["GATEHOUSE_USERS_TABLE"] == {"Ref": "UsersTable"}  # the template's wins


def test_an_unknown_stage_is_one_line_and_exit_status_2(tmp_path: Any) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gatehouse.release.template",
            "--stage",
            "nosuchstage",
            str(tmp_path / "m.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line == (
        "gatehouse.release.template: cannot build the merge template: "
        "no stage 'nosuchstage' in .chalice/config.json"
    )
    assert not (tmp_path / "m.json").exists()


# -- the auth function in the packaged template --------------------------------------------------


def test_the_auth_function_runs_the_api_handlers_code_from_the_same_zip(package: Package) -> None:
    auth = package.resources[AUTH_FUNCTION]
    chalice = package.resources[API_HANDLER]
    assert auth["Type"] == chalice["Type"]
    for name in ("CodeUri", "Handler", "Runtime", "Architectures"):
        assert auth["Properties"][name] == chalice["Properties"][name], name
    authorizer = package.resources[AUTHORIZER]["Properties"]
    assert authorizer["CodeUri"] == auth["Properties"]["CodeUri"]
    assert authorizer["Handler"] != auth["Properties"]["Handler"]


def test_the_auth_function_is_sized_by_its_entry_in_config_json(package: Package) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    entry = config["stages"]["prod"]["lambda_functions"][template.AUTH_FUNCTION_CONFIG]
    properties = package.resources[AUTH_FUNCTION]["Properties"]
    assert properties["MemorySize"] == entry["lambda_memory_size"]
    assert properties["Timeout"] == entry["lambda_timeout"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_api_gateway_may_invoke_each_function_of_this_api_only(package: Package, function: str) -> None:
    permissions = [
        r["Properties"]
        for r in package.resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["FunctionName"] in ({"Ref": function}, {"Fn::GetAtt": [function, "Arn"]})
    ]
    assert len(permissions) == 1
    [permission] = permissions
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["Principal"] == "apigateway.amazonaws.com"
    source = permission["SourceArn"]["Fn::Sub"]
    text, names = (source, {}) if isinstance(source, str) else source
    assert text.startswith("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${")
    # The API it names is this stack's RestAPI.
    assert "${RestAPI" in text or {"Ref": "RestAPI"} in names.values()


def _contained(small: Any, large: Any) -> bool:
    if isinstance(small, dict):
        return isinstance(large, dict) and all(
            k in large and _contained(v, large[k]) for k, v in small.items()
        )
    return bool(small == large)


def test_the_merge_template_only_adds_to_deploy_resources_json(package: Package) -> None:
    # The base plus the app's tables (tests/release/test_deploy_template.py checks those).
    assert _contained(template.with_app_tables(BASE, APP_TABLES), package.merge)
    added = set(package.merge["Resources"][AUTH_FUNCTION]["Properties"]) - set(
        BASE["Resources"][AUTH_FUNCTION]["Properties"]
    )
    assert added == {"Runtime", "Architectures", "MemorySize", "Timeout", "Tags"}


def test_make_package_writes_the_merge_template_and_packages_with_it() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    commands = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "package"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert commands.index("-m gatehouse.release.template") < commands.index("chalice package")
    assert "--merge-template build/merge.json" in commands
    assert "deploy/resources.json" not in commands


def test_the_split_rule_names_exactly_the_routes_the_component_registers() -> None:
    # The template decides by path; the component knows what it added.  They must agree,
    # or a Gatehouse route would run in the API handler (which cannot read the identity tables).
    import app as gatehouse_app
    from gatehouse.component import component_of
    from gatehouse.release.template import gatehouse_paths

    assert gatehouse_paths(gatehouse_app.app) == component_of(gatehouse_app.app).own_paths()


# -- the authorizer function: a lean handler and the route table it is given ---------------


def _registered_protected_routes() -> set[tuple[str, str, str | None]]:
    """(path, method, role) of every route the app put behind Gatehouse's authorizer, read from Chalice."""
    return {
        (path, method, gatehouse_app.gate.role_of(path, method))
        for path, methods in gatehouse_app.app.routes.items()
        for method, entry in methods.items()
        if entry.authorizer is not None and entry.authorizer.name == "gatehouse_auth"
    }


def test_the_authorizer_function_runs_the_lean_handler_with_the_apps_route_table(package: Package) -> None:
    properties = package.resources[AUTHORIZER]["Properties"]
    assert properties["Handler"] == handler.HANDLER == "gatehouse.authorizer.handler.gatehouse_auth"
    table = RouteTable.decode(package.env_of(AUTHORIZER)[ROUTES_VARIABLE])
    assert {(r.path, r.method, r.role) for r in table} == _registered_protected_routes()
    assert ("/admin/users", "GET", "admin") in _registered_protected_routes()
    assert ("/notes/{note_id}", "DELETE", None) in _registered_protected_routes()
    # The functions that import the app compute it themselves: only the authorizer is told.
    assert ROUTES_VARIABLE not in package.env_of(API_HANDLER)
    assert ROUTES_VARIABLE not in package.env_of(AUTH_FUNCTION)


def test_chalice_local_decides_with_the_table_the_deployed_function_gets(package: Package) -> None:
    deployed = RouteTable.decode(package.env_of(AUTHORIZER)[ROUTES_VARIABLE])
    assert gatehouse_app.gate.route_table() == deployed


def test_a_route_table_too_large_for_lambda_stops_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Chalice("big")
    from gatehouse.component import Gatehouse

    gate = Gatehouse(app, env={})
    for n in range(60):

        @gate.route(f"/some/quite/long/resource/path/number/{n}/items", methods=["GET", "PUT", "DELETE"])
        def view(identity: object) -> dict[str, str]:
            return {}

    with pytest.raises(ReleaseError, match=r"protected-route table is \d+ bytes"):
        template.merge_document(app, BASE, SETTINGS)
