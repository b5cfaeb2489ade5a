"""The protected-route table and the policy documents the authorizer builds from it."""

from __future__ import annotations

import json

import pytest
from chalice.app import AuthRequest, AuthResponse, AuthRoute

from gatehouse.authorizer.policy import (
    MAX_CACHED_POLICIES,
    ProtectedRoute,
    RouteTable,
    answer,
)
from gatehouse.jose.access_tokens import AccessClaims

TABLE = RouteTable(
    [
        ProtectedRoute("/me", "GET"),
        ProtectedRoute("/notes", "GET"),
        ProtectedRoute("/notes", "POST"),
        ProtectedRoute("/notes/{note_id}", "GET"),
        ProtectedRoute("/notes/{note_id}", "DELETE"),
        ProtectedRoute("/admin/users", "GET", "admin"),
        ProtectedRoute("/admin/users/{username}/disable", "POST", "admin"),
        ProtectedRoute("/reports/{year}/{month}", "GET", "auditor"),
    ]
)
ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/notes/n1"
ACCOUNT_ID = "0123456789abcdef0123456789abcdef"  # the token's sub


def _claims(*roles: str, sub: str = ACCOUNT_ID) -> AccessClaims:
    return AccessClaims(sub=sub, username="alice", sid="sid-1", jti="jti-1", roles=roles, iat=1, exp=2)


def test_the_table_round_trips_through_its_encoding() -> None:
    encoded = TABLE.encode()
    assert RouteTable.decode(encoded) == TABLE
    assert json.loads(encoded)["/admin/users"] == {"GET": {"role": "admin"}}
    assert json.loads(encoded)["/me"] == {"GET": {}}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "is not JSON"),
        ("[]", "must be a JSON object of paths"),
        ('{"me": {"GET": {}}}', "must be a path"),
        ('{"/me": {}}', "must be a path with an object of methods"),
        ('{"/me": {"FETCH": {}}}', "is not an HTTP method"),
        ('{"/me": {"GET": {"role": ""}}}', "role must be a non-empty string"),
        ('{"/me": {"GET": {"mfa": true}}}', "at most a role"),
        ('{"/me": {"GET": []}}', "requirements must be an object"),
    ],
)
def test_a_table_that_is_not_one_is_refused_saying_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        RouteTable.decode(text)


def test_a_role_route_is_in_the_policy_only_for_tokens_with_that_role() -> None:
    user = {glob for glob, _ in TABLE.allowed(["user"])}
    admin = {glob for glob, _ in TABLE.allowed(["user", "admin"])}
    assert "/admin/users" not in user
    assert admin - user == {"/admin/users", "/admin/users/*/disable"}
    assert ("/reports/*/*", ["GET"]) in TABLE.allowed(["auditor"])


@pytest.mark.parametrize("roles", [(), ("user",), ("admin", "user"), ("auditor",)])
@pytest.mark.parametrize(
    "method_arn",
    [
        ARN,
        "arn:aws:execute-api:us-east-1:1:api/stage/GET/",
        "arn:aws-cn:execute-api:cn-north-1:1:x/y/POST/a/b",
    ],
)
def test_the_policy_is_the_one_chalice_would_build(roles: tuple[str, ...], method_arn: str) -> None:
    # chalice local matches these ARNs against the request, so they must be spelt alike.
    claims = _claims(*roles)
    routes: list[str | AuthRoute] = [AuthRoute(glob, methods) for glob, methods in TABLE.allowed(roles)]
    context = {
        "account_id": ACCOUNT_ID,
        "username": "alice",
        "roles": ",".join(roles),
        "sid": "sid-1",
        "jti": "jti-1",
    }
    chalice = AuthResponse(routes=routes, principal_id=ACCOUNT_ID, context=context)
    request = AuthRequest("TOKEN", "Bearer x", method_arn)
    assert answer(claims, TABLE, method_arn) == chalice.to_dict(request)


def test_one_policy_document_per_role_set_and_stage_is_built_and_reused() -> None:
    table = RouteTable(TABLE)
    first = answer(_claims("user"), table, ARN)["policyDocument"]
    other_route = ARN.replace("GET/notes/n1", "DELETE/notes/n2")
    assert answer(_claims("user", sub="bob"), table, other_route)["policyDocument"] is first
    assert answer(_claims("admin", "user"), table, ARN)["policyDocument"] is not first
    other_stage = ARN.replace("/prod/", "/dev/")
    assert answer(_claims("user"), table, other_stage)["policyDocument"] is not first


def test_the_policy_cache_is_bounded() -> None:
    table = RouteTable(TABLE)
    for n in range(MAX_CACHED_POLICIES * 2):
        table.policy_document((f"role-{n}",), ARN)
    assert len(table._documents) <= MAX_CACHED_POLICIES


def test_what_a_role_set_opens_is_summed_up_once_per_container_for_the_log_line() -> None:
    table = RouteTable(TABLE)
    opened = table.opened(("user",))
    assert table.opened(("user",)) is opened
    assert opened.covers == "GET /me; GET,POST /notes; DELETE,GET /notes/*"
    assert opened.pattern.fullmatch("DELETE /notes/n1/x")  # * spans slashes, as in the ARNs
    assert not opened.pattern.fullmatch("POST /notes/n1")
    assert not opened.pattern.fullmatch("GET /admin/users")
    assert table.opened(("admin", "user")).pattern.fullmatch("GET /admin/users")
    assert not RouteTable([]).opened(("user",)).pattern.fullmatch("GET /me")
    for n in range(MAX_CACHED_POLICIES * 2):
        table.opened((f"role-{n}",))
    assert len(table._opened) <= MAX_CACHED_POLICIES


def test_the_context_carries_the_identity_as_strings() -> None:
    granted = answer(_claims("admin", "user"), TABLE, ARN)
    assert granted["context"] == {
        "account_id": ACCOUNT_ID,
        "username": "alice",
        "roles": "admin,user",
        "sid": "sid-1",
        "jti": "jti-1",
    }
    assert granted["principalId"] == ACCOUNT_ID
