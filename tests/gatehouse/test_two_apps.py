"""Two Gatehouse apps in one process: each keeps its own settings, error mappings and hooks.

Nothing of the component is process-wide: a second ``Gatehouse(app)`` (a test
app, a second API in one Lambda, a worker) never changes the first one's
issuer, signup rule, error answers or hooks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import jwt
import pytest
from chalice import Chalice
from chalice.test import Client

from gatehouse import Gatehouse, Identity
from gatehouse.errors import ConfigError
from gatehouse.services import Services
from gatehouse.settings import Settings
from tests.conftest import ROOT, FakeClock, bearer, json_body, post_json


class OutOfStock(Exception):
    """One exception class that both apps map, each to its own answer."""


@dataclass
class App:
    gate: Gatehouse
    client: Client
    deleted: list[str]


def _app(name: str, mapped: tuple[int, str] | None) -> App:
    app = Chalice(app_name=name)
    gate = Gatehouse(app, env={})
    deleted: list[str] = []
    if mapped is not None:
        gate.map_error(OutOfStock, *mapped)
    gate.on_account_deleted(deleted.append)

    @gate.route("/stock", methods=["GET"])
    def stock(identity: Identity) -> dict[str, Any]:
        raise OutOfStock(f"nothing left for {identity.username}")

    return App(gate, Client(app, project_dir=str(ROOT)), deleted)


@pytest.fixture
def two_apps(
    make_runtime: Callable[..., Services], clock: FakeClock, signing_jwk: dict[str, str]
) -> tuple[App, App]:
    """Both on the same tables and keys; "shop" with its own issuer and no signup."""
    tables = make_runtime()  # creates the tables

    def services(settings: Settings) -> Services:
        return Services(settings, clock=clock, signing_key_source=lambda _name: json.dumps(signing_jwk))

    shop, outlet = _app("shop", (409, "out_of_stock")), _app("outlet", (404, "sold_out"))
    shop.gate.use_services(services(replace(tables.settings, issuer="shop", allow_signup=False)))
    outlet.gate.use_services(services(replace(tables.settings, issuer="outlet", allow_signup=True)))
    return shop, outlet


def _token(app: App, username: str, password: str) -> str:
    body = {"grant_type": "password", "username": username, "password": password}
    response = post_json(app.client, "/auth/token", body)
    assert response.status_code == 200, response.body
    return str(json_body(response)["access_token"])


def test_each_app_signs_with_its_own_issuer_and_refuses_the_others_tokens(two_apps, make_user) -> None:
    shop, outlet = two_apps
    creds = make_user()
    shop_token = _token(shop, creds.username, creds.password)
    outlet_token = _token(outlet, creds.username, creds.password)

    assert jwt.decode(shop_token, options={"verify_signature": False})["iss"] == "shop"
    assert jwt.decode(outlet_token, options={"verify_signature": False})["iss"] == "outlet"
    assert shop.client.http.get("/me", headers=bearer(shop_token)).status_code == 200
    assert shop.client.http.get("/me", headers=bearer(outlet_token)).status_code == 401
    assert outlet.client.http.get("/me", headers=bearer(shop_token)).status_code == 401


def test_signup_is_closed_in_one_app_and_open_in_the_other(two_apps) -> None:
    shop, outlet = two_apps
    body = {"username": "newcomer", "password": "tulip-Marble-9-sunset"}
    assert post_json(shop.client, "/auth/register", body).status_code == 403
    assert post_json(outlet.client, "/auth/register", body).status_code == 201


def test_one_exception_maps_to_each_apps_own_answer(two_apps, make_user) -> None:
    shop, outlet = two_apps
    creds = make_user()

    at_shop = shop.client.http.get("/stock", headers=bearer(_token(shop, creds.username, creds.password)))
    at_outlet = outlet.client.http.get(
        "/stock", headers=bearer(_token(outlet, creds.username, creds.password))
    )

    assert (at_shop.status_code, json_body(at_shop)["error"]) == (409, "out_of_stock")
    assert (at_outlet.status_code, json_body(at_outlet)["error"]) == (404, "sold_out")


def test_an_exception_mapped_only_by_other_apps_stays_a_500(two_apps, make_user) -> None:
    shop, _outlet = two_apps
    bare = _app("bare", None)
    bare.gate.use_services(shop.gate.services())
    creds = make_user()

    response = bare.client.http.get("/stock", headers=bearer(_token(bare, creds.username, creds.password)))

    assert response.status_code == 500
    assert "out_of_stock" not in response.body.decode()


def test_an_account_deleted_through_one_app_runs_only_that_apps_hooks(two_apps, make_user) -> None:
    shop, outlet = two_apps
    creds = make_user()
    token = _token(shop, creds.username, creds.password)

    response = post_json(
        shop.client, "/auth/account/delete", {"current_password": creds.password}, headers=bearer(token)
    )

    assert response.status_code == 204, response.body
    assert shop.deleted == [creds.account_id]
    assert outlet.deleted == []


def test_settings_come_from_the_apps_own_environment_once_on_first_use() -> None:
    env = {"GATEHOUSE_ISSUER": "first"}
    gate = Gatehouse(Chalice(app_name="env-app"), env=env)
    other = Gatehouse(Chalice(app_name="other-app"), env={"GATEHOUSE_ISSUER": "second"})

    assert gate.settings.issuer == "first"
    env["GATEHOUSE_ISSUER"] = "changed"
    assert gate.settings.issuer == "first"  # read once: a warm Lambda keeps its settings
    assert other.settings.issuer == "second"


def test_a_bad_environment_is_a_config_error_naming_the_variable_on_first_use() -> None:
    gate = Gatehouse(Chalice(app_name="bad-env"), env={"GATEHOUSE_MAX_TOKEN_BYTES": "huge"})
    with pytest.raises(ConfigError, match="GATEHOUSE_MAX_TOKEN_BYTES"):
        gate.services()


def _logging_after_import(extra_env: dict[str, str]) -> dict[str, Any]:
    script = (
        "import json, logging\n"
        "import app\n"
        "events = logging.getLogger('gatehouse.events')\n"
        "print(json.dumps({'handlers': len(events.handlers), 'root': len(logging.getLogger().handlers),"
        " 'botocore': logging.getLogger('botocore').level}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", **extra_env}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stdout))


def test_importing_an_app_with_gatehouse_configures_no_logging() -> None:
    assert _logging_after_import({}) == {"handlers": 0, "root": 0, "botocore": 0}


def test_inside_lambda_the_component_sends_its_events_to_the_log_and_quiets_botocore() -> None:
    configured = _logging_after_import({"AWS_LAMBDA_FUNCTION_NAME": "api"})
    assert configured == {"handlers": 1, "root": 0, "botocore": 30}
