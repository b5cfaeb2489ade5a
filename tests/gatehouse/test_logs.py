"""Log lines that are metrics (CloudWatch EMF) and log lines that do not mislead."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gatehouse import log_lines, logs
from gatehouse.authorizer.decision import covered
from gatehouse.authorizer.policy import ProtectedRoute, RouteTable
from tests.conftest import bearer, post_json


def lines(caplog: pytest.LogCaptureFixture, kind: str) -> list[dict[str, Any]]:
    found = [json.loads(r.getMessage()) for r in caplog.records if r.name == "gatehouse.events"]
    return [line for line in found if line["event"] == kind]


def test_a_line_with_metrics_is_an_embedded_metric_format_record() -> None:
    record = logs.emf({"LoginsFailed": 1, "Lockouts": 1}, now=1_800_000_000.5)
    assert record["_aws"] == {
        "Timestamp": 1_800_000_000_500,
        "CloudWatchMetrics": [
            {
                "Namespace": "Gatehouse",
                "Dimensions": [["FunctionName"]],
                "Metrics": [{"Name": "Lockouts", "Unit": "Count"}, {"Name": "LoginsFailed", "Unit": "Count"}],
            }
        ],
    }
    # Every metric and every dimension named in the directive is a member of the same line.
    assert (record["FunctionName"], record["LoginsFailed"], record["Lockouts"]) == (logs.FUNCTION, 1, 1)


def test_a_line_is_its_fields_and_its_emf_members_with_sorted_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_lines.time, "time", lambda: 1_800_000_000.5)
    text = log_lines.line(
        "authorizer",
        metrics={"AuthorizerDeny": 1, "AuthorizerErrors": 1},
        outcome="deny",
        route=None,
        reason="x",
    )
    record = json.loads(text)
    expected = {"event": "authorizer", "outcome": "deny", "reason": "x"}
    assert record == {
        **expected,
        **logs.emf({"AuthorizerDeny": 1, "AuthorizerErrors": 1}, now=1_800_000_000.5),
    }
    # One record, one spelling: the same as encoding the whole record with sorted keys.
    assert text == json.dumps(record, separators=(",", ":"), sort_keys=True)


def test_a_field_that_would_sort_among_the_emf_members_is_refused() -> None:
    for name in ("FunctionName", "Lockouts", "_aws", "Zed"):
        with pytest.raises(ValueError, match="lower-case"):
            log_lines.line("x", metrics={"Lockouts": 1}, **{name: "spoof"})


def test_logins_count_as_metrics_in_their_own_log_line(client, make_user, caplog) -> None:
    caplog.set_level("INFO")
    creds = make_user()
    body = {"grant_type": "password", "username": creds.username, "password": "Wrong-password-1"}
    post_json(client, "/auth/token", body)
    post_json(client, "/auth/token", {**body, "password": creds.password})
    failed, succeeded = lines(caplog, "login")
    assert (failed["outcome"], failed[logs.LOGINS_FAILED]) == ("failed", 1)
    assert (succeeded["outcome"], succeeded[logs.LOGINS_SUCCEEDED]) == ("succeeded", 1)
    assert "password" not in json.dumps([failed, succeeded])


def test_the_authorizer_line_says_what_the_policy_opens_and_whether_the_route_is_in_it(
    client, make_user, login, caplog
) -> None:
    token = login(make_user())
    caplog.set_level("INFO")
    assert client.http.get("/admin/users", headers=bearer(token)).status_code == 403
    [allowed] = lines(caplog, "authorizer")
    assert (allowed["outcome"], allowed["route"], allowed["route_allowed"]) == (
        "allow",
        "GET /admin/users",
        0,
    )
    assert "GET /me" in allowed["policy_covers"]
    assert "/admin/users" not in allowed["policy_covers"]
    assert allowed[logs.AUTHORIZER_ALLOW] == 1
    # ... and the gateway's refusal has its own line, with the route.
    [refused] = lines(caplog, "gateway")
    assert (refused["status"], refused["error"], refused["route"]) == (403, "forbidden", "GET /admin/users")


def test_a_denied_token_is_a_deny_metric_and_the_gateways_401_is_logged(client, caplog) -> None:
    caplog.set_level("INFO")
    assert client.http.get("/me", headers=bearer("not.a.token")).status_code == 401
    [denied] = lines(caplog, "authorizer")
    assert (denied["outcome"], denied[logs.AUTHORIZER_DENY]) == ("deny", 1)
    assert logs.AUTHORIZER_ERRORS not in denied  # a bad token is no failure of the authorizer
    [refused] = lines(caplog, "gateway")
    assert (refused["status"], refused["error"], refused["route"]) == (401, "invalid_token", "GET /me")
    assert client.http.get("/me").status_code == 401
    assert lines(caplog, "gateway")[-1]["error"] == "missing_token"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("GET /notes/abc", True),
        ("GET /notes/a/b", True),  # a policy's * spans slashes, as in the resource ARN
        ("DELETE /notes/abc", False),
        ("GET /admin/users", False),
        ("GET /me", True),
        ("GET /men", False),
    ],
)
def test_whether_a_route_is_covered_matches_the_policys_globs(where: str, expected: bool) -> None:
    table = RouteTable(
        [
            ProtectedRoute("/notes/{id}", "GET"),
            ProtectedRoute("/me", "GET"),
            ProtectedRoute("/admin/users", "GET", "admin"),
        ]
    )
    assert covered(where, table.allowed(("user",))) is expected
