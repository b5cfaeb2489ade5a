"""Step-up: ``mfa=True`` routes and the admin setting answer 401 insufficient_user_authentication."""

from __future__ import annotations

import pytest

from tests.conftest import bearer, json_body, post_json
from tests.gatehouse.test_component_seam import ORDERS
from tests.gatehouse.web.test_mfa_login import challenge, otp_grant

STEP_UP = (
    'Bearer error="insufficient_user_authentication", '
    'error_description="A login with a second factor is required"'
)
PAYOUTS_ARN = "arn:aws:execute-api:us-east-1:123456789012:api-id/api/POST/payouts"


def aal2_token(client, user, authenticator) -> str:
    response = otp_grant(client, challenge(client, user.creds), authenticator.next_code(user.secret))
    assert response.status_code == 200, response.body
    return str(json_body(response)["access_token"])


@pytest.fixture
def orders(rt):
    """The orders example app on the test's services (one deployment, two apps)."""
    from chalice.test import Client

    ORDERS.gate.use_services(rt)
    yield Client(ORDERS.app)
    ORDERS.gate.use_services(None)


def test_a_token_without_a_second_factor_never_runs_the_view(orders, make_mfa_user) -> None:
    admin = make_mfa_user(roles=("admin", "user"))
    response = orders.http.post(
        "/payouts", headers={"Content-Type": "application/json", **bearer(admin.access_token)}, body="{}"
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == STEP_UP
    assert json_body(response)["error"] == "insufficient_user_authentication"
    assert "paid_by" not in response.body.decode()


def test_a_token_from_a_login_with_a_second_factor_runs_it(
    orders, client, make_mfa_user, authenticator
) -> None:
    admin = make_mfa_user(roles=("admin", "user"))
    token = aal2_token(client, admin, authenticator)
    response = orders.http.post(
        "/payouts", headers={"Content-Type": "application/json", **bearer(token)}, body="{}"
    )
    assert response.status_code == 200
    assert json_body(response) == {"paid_by": admin.creds.username, "aal": 2, "amr": ["pwd", "otp", "mfa"]}


def test_the_role_is_checked_first_a_user_gets_the_plain_403(orders, make_user, login) -> None:
    token = login(make_user())
    response = orders.http.post(
        "/payouts", headers={"Content-Type": "application/json", **bearer(token)}, body="{}"
    )
    assert response.status_code == 403


def test_deployed_the_authorizer_allows_and_passes_aal_so_the_view_can_answer_401(
    orders, make_mfa_user
) -> None:
    """A TOKEN authorizer's Deny is always the gateway's 403: the decision is the view wrapper's."""
    from gatehouse.component import component_of

    admin = make_mfa_user(roles=("admin", "user"))
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {admin.access_token}", "methodArn": PAYOUTS_ARN}
    answer = component_of(ORDERS.app).authorizer(event, None)
    [statement] = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert any(arn.endswith("/POST/payouts") for arn in statement["Resource"])
    assert answer["context"]["aal"] == "1"
    assert all(isinstance(v, (str, int, bool)) for v in answer["context"].values())


def test_the_admin_routes_need_aal_2_when_the_setting_says_so(
    client, make_runtime, make_mfa_user, authenticator
) -> None:
    make_runtime(admin_requires_mfa=True)
    admin = make_mfa_user(roles=("admin", "user"))
    refused = client.http.get("/admin/users", headers=bearer(admin.access_token))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == STEP_UP
    allowed = client.http.get("/admin/users", headers=bearer(aal2_token(client, admin, authenticator)))
    assert allowed.status_code == 200
    [listed] = [u for u in json_body(allowed) if u["username"] == admin.creds.username]
    assert listed["mfa"] is True


def test_by_default_the_admin_routes_take_a_password_login(client, make_user, login) -> None:
    admin = login(make_user(roles=("admin", "user")))
    response = client.http.get("/admin/users", headers=bearer(admin))
    assert response.status_code == 200
    assert all(u["mfa"] is False for u in json_body(response))


def test_an_enrolment_needs_no_second_factor_even_under_the_admin_setting(
    client, make_runtime, make_user, login
) -> None:
    make_runtime(admin_requires_mfa=True)
    creds = make_user(roles=("admin", "user"))
    response = post_json(client, "/auth/mfa/totp", {"current_password": creds.password}, bearer(login(creds)))
    assert response.status_code == 200


@pytest.mark.parametrize(("amr", "aal"), [(("pwd",), "1"), (("pwd", "otp", "mfa"), "2")])
def test_the_deployed_lean_authorizer_allows_an_mfa_route_and_passes_the_level(
    monkeypatch: pytest.MonkeyPatch, amr: tuple[str, ...], aal: str
) -> None:
    """The function deployed as the authorizer (its route table from the template, not the app):
    an admin's token gets Allow on POST /payouts whatever its level, and the level rides in the
    context to the view wrapper, which answers 401 for aal 1 (above). A Deny here could only be
    API Gateway's plain 403."""
    import json
    import os
    import time

    from gatehouse.authorizer import handler
    from gatehouse.authorizer.policy import ROUTES_VARIABLE
    from gatehouse.component import protected_routes
    from gatehouse.jose.access_tokens import issue_access_token
    from gatehouse.jose.keys import generate_signing_jwk, load_signing_key, public_jwks
    from gatehouse.settings import load_settings, token_rules

    jwk = generate_signing_jwk()
    env = {
        "GATEHOUSE_JWKS": json.dumps(public_jwks([jwk])),
        "GATEHOUSE_CHECK_SESSIONS": "false",
        ROUTES_VARIABLE: protected_routes(ORDERS.app).encode(),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    handler.reset()
    try:
        token, _ = issue_access_token(
            load_signing_key(json.dumps(jwk)),
            token_rules(load_settings({**os.environ, **env})),
            subject="0" * 32,
            username="ann",
            session_id="sid-1",
            roles=("admin", "user"),
            now=int(time.time()),
            amr=amr,
        )
        answer = handler.gatehouse_auth(
            {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": PAYOUTS_ARN}, None
        )
    finally:
        handler.reset()
    [statement] = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert PAYOUTS_ARN in statement["Resource"]
    assert (answer["context"]["aal"], answer["context"]["amr"]) == (aal, ",".join(amr))
