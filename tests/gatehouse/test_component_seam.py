"""A second app, built only from Gatehouse's public seam, behind the real authorizer.

tests/example_app/ has an orders route, an admin-only report and a plain Chalice
route with ``authorizer=gate.authorizer``; nothing of the notes example.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from chalice.test import Client

from gatehouse.component import component_of
from tests.conftest import Credentials, bearer, json_body, post_json

EXAMPLE = Path(__file__).resolve().parents[1] / "example_app"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orders_example_app", EXAMPLE / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ORDERS = _load_example()


@pytest.fixture
def orders(rt: Any) -> Iterator[Client]:
    """The orders app on the same services as the notes app: one deployment, two apps."""
    ORDERS.gate.use_services(rt)
    yield Client(ORDERS.app, project_dir=str(EXAMPLE))
    ORDERS.gate.use_services(None)


@pytest.fixture
def token_for(orders: Client, client: Client) -> Callable[[Credentials], str]:
    """A token from the notes app's /auth/token: both apps share one Gatehouse deployment's keys."""

    def issue(creds: Credentials) -> str:
        body = {"grant_type": "password", "username": creds.username, "password": creds.password}
        response = post_json(orders, "/auth/token", body)
        assert response.status_code == 200, response.body
        return str(json_body(response)["access_token"])

    return issue


def test_the_example_imports_nothing_of_gatehouse_but_the_public_seam() -> None:
    tree = ast.parse((EXAMPLE / "app.py").read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {m for m in imported if m.split(".")[0] == "gatehouse"} == {"gatehouse"}


def test_a_signed_in_user_gets_their_orders_with_their_identity(orders, make_user, token_for) -> None:
    creds = make_user("alice")
    response = orders.http.get("/orders", headers=bearer(token_for(creds)))
    assert response.status_code == 200
    assert json_body(response) == {"owner": "alice", "orders": ["tea", "scones"]}


def test_no_token_is_401_with_the_bare_bearer_challenge(orders) -> None:
    response = orders.http.get("/orders")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_forged_token_is_401_invalid_token(orders, make_user, token_for) -> None:
    token = token_for(make_user())
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    response = orders.http.get("/orders", headers=bearer(tampered))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_admin_report_is_403_for_a_user_and_200_for_an_admin(orders, make_user, token_for) -> None:
    user = token_for(make_user())
    admin = make_user(roles=("admin", "user"))
    assert orders.http.get("/reports/2026-11-30", headers=bearer(user)).status_code == 403
    response = orders.http.get("/reports/2026-11-30", headers=bearer(token_for(admin)))
    assert response.status_code == 200
    assert json_body(response) == {"day": "2026-11-30", "prepared_for": admin.username, "orders": 2}


def test_the_policy_lists_the_report_only_for_admins(orders, make_user, token_for) -> None:
    def routes(creds: Credentials) -> set[str]:
        event = {
            "type": "TOKEN",
            "authorizationToken": f"Bearer {token_for(creds)}",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api-id/api/GET/orders",
        }
        policy = component_of(ORDERS.app).authorizer(event, None)
        [statement] = policy["policyDocument"]["Statement"]
        return {arn.split("/", 3)[-1] for arn in statement["Resource"]}

    user_routes = routes(make_user())
    assert "orders" in user_routes
    assert "plain" in user_routes
    assert not any(r.startswith("reports") for r in user_routes)
    assert "reports/*" in routes(make_user(roles=("admin", "user")))


def test_chalices_own_idiom_with_gate_authorizer_gets_the_identity(orders, make_user, token_for) -> None:
    creds = make_user()
    response = orders.http.get("/plain", headers=bearer(token_for(creds)))
    assert response.status_code == 200
    assert json_body(response)["user"] == creds.username
    assert orders.http.get("/plain").status_code == 401


def test_keyword_options_close_sign_up_and_leave_out_the_admin_routes(orders, make_user, token_for) -> None:
    response = post_json(orders, "/auth/register", {"username": "newcomer", "password": "Quiet-Lantern-42"})
    assert response.status_code == 403
    assert json_body(response)["error"] == "signup_disabled"
    admin = token_for(make_user(roles=("admin", "user")))
    assert orders.http.get("/admin/users", headers=bearer(admin)).status_code == 404
    assert not any(path.startswith("/admin") for path in ORDERS.app.routes)


def test_the_example_answers_errors_in_gatehouses_shape(orders) -> None:
    response = orders.http.post("/auth/token", headers={"Content-Type": "application/json"}, body="{")
    assert response.status_code == 400
    assert set(json.loads(response.body)) == {"error", "error_description"}


def test_a_view_that_reaches_a_missing_table_answers_500_and_logs_the_tables_name(
    orders, make_user, token_for, caplog
) -> None:
    token = token_for(make_user())
    with caplog.at_level("WARNING", logger="gatehouse.store"):
        response = orders.http.get("/archive", headers=bearer(token))
    assert response.status_code == 500
    assert json_body(response)["error"] == "storage_error"
    [line] = [r.getMessage() for r in caplog.records if r.name == "gatehouse.store"]
    assert "ResourceNotFoundException" in line
    assert ORDERS.archive.physical_name() == "orders-archive"
    assert "orders-archive" in line
