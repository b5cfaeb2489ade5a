"""Forged tokens against an ES256 service, and the nastiest forgeries over real HTTP (``-m e2e``)."""

from __future__ import annotations

import http.client
import http.server
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gatehouse.jose.access_tokens import verify_access_token
from tests.attacks import (
    ATTACKS,
    EDDSA_ATTACKS,
    ES256_ATTACKS,
    Victim,
    es256_high_s,
    sign,
)
from tests.gatehouse.authorizer.forgery_rig import (
    INVALID_TOKEN,
    assert_refused,
    send,
)
from tests.live_stack import DEMO_PASSWORD, LiveStack, live_stack

# -- a service signing with ES256 (and still publishing its EdDSA key) --------------------------


def test_control_the_es256_services_victim_token_is_valid(es256):
    rt = es256.rt
    assert verify_access_token(es256.victim.token, rt.keyset, rt.rules, now=rt.now()).username == "victim"


ES256_GENERIC = [
    "alg-none-without-signature",
    "alg-nOnE-keeping-the-real-signature",
    "empty-signature",
    "signature-all-zero-bytes",
    "signature-truncated-to-half",
    "hs256-with-an-empty-key-and-our-kid",
    "hs256-keyed-with-our-public-key-as-pem",
    "hs256-keyed-with-our-public-key-as-pem-without-trailing-newline",
    "hs256-keyed-with-our-public-key-as-der",
    "hs256-keyed-with-our-public-key-as-raw-bytes",
    "hs384-keyed-with-our-public-key-as-jwk-json",
    "hs512-keyed-with-our-public-key-as-jwks-json-as-served",
    "embedded-p256-jwk-of-the-attacker-es256-with-our-kid",
    "x5c-self-signed-p256-certificate-es256-with-our-kid",
    "jku-pointing-at-the-attacker-with-our-kid",
    "signed-by-another-key-of-the-same-algorithm-with-our-kid",
    "signed-by-the-attacker-in-the-other-family-with-our-kid",
    "alg-relabelled-to-the-other-family-keeping-the-signature",
    "roles-escalated-to-admin-keeping-the-signature",
    "refresh-token-used-as-a-bearer-token",
]


@pytest.mark.parametrize("name", sorted(ES256_ATTACKS) + ES256_GENERIC)
def test_forgery_against_an_es256_service_is_refused(es256, watch, name):
    build = ES256_ATTACKS.get(name) or ATTACKS[name]
    assert_refused(send(es256.client, watch, build(es256.victim)), watch)


def test_valid_eddsa_signature_under_the_es256_kid_is_refused(es256, service_key, watch):
    # Both keys are ours and trusted; the kid must still pin the algorithm.
    v = es256.victim
    forged = sign({**v.header, "alg": "EdDSA"}, v.payload, service_key.key, "EdDSA")
    assert_refused(send(es256.client, watch, forged), watch)


def test_valid_es256_signature_under_the_eddsa_kid_is_refused(es256, service_key, watch):
    v = es256.victim
    forged = sign({**v.header, "kid": service_key.kid}, v.payload, es256.key.key, "ES256")
    assert_refused(send(es256.client, watch, forged), watch)


def test_es256_high_s_twin_of_a_real_token_is_refused(es256, watch):
    # ECDSA malleability: (r, n - s) is a second valid signature over the same claims.  The
    # service signs low S only and the verifier accepts nothing else: one token, one spelling.
    assert_refused(send(es256.client, watch, es256_high_s(es256.victim)), watch)


# -- end to end: the nastiest forgeries against `chalice local` over real HTTP ------------------

E2E_ATTACKS = [
    "alg-nOnE-without-signature",
    "alg-none-keeping-the-real-signature",
    "empty-signature",
    "hs256-with-an-empty-key-and-our-kid",
    "hs256-keyed-with-our-public-key-as-pem",
    "hs256-keyed-with-our-public-key-as-jwks-json-as-served",
    "embedded-jwk-of-the-attacker-with-our-kid",
    "jku-pointing-at-the-attacker-with-our-kid",
    "x5u-pointing-at-the-attacker-with-the-attacker-kid",
    "x5c-self-signed-ed25519-certificate-with-our-kid",
    "kid-path-traversal-to-dev-null-hs256-with-an-empty-key",
    "kid-sql-or-1-equals-1-signed-by-the-attacker",
    "roles-escalated-to-admin-keeping-the-signature",
    "sub-changed-to-admin-keeping-the-signature",
    "signed-by-another-key-of-the-same-algorithm-with-our-kid",
    "ed25519-signature-with-s-plus-the-group-order",
    "header-invalid-utf8-keeping-the-signature",
    "refresh-token-used-as-a-bearer-token",
]
_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _KeyServer(http.server.BaseHTTPRequestHandler):
    """Where jku / x5u point in the e2e run: the server must never call it."""

    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'{"keys":[]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Live:
    stack: LiveStack
    key_server_url: str
    key_server_hits: list[str]


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    hits: list[str] = []
    server = http.server.HTTPServer(("127.0.0.1", 0), type("Handler", (_KeyServer,), {"hits": hits}))
    serving = threading.Thread(target=server.serve_forever, name="attacker-key-server", daemon=True)
    serving.start()
    try:
        with live_stack() as stack:
            yield Live(stack, f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", hits)
    finally:
        server.shutdown()
        server.server_close()
        serving.join(timeout=10)


@pytest.fixture(scope="module")
def live_victim(live: Live) -> Victim:
    status, _, grant = live.stack.call(
        "POST", "/auth/token", {"grant_type": "password", "username": "demo", "password": DEMO_PASSWORD}
    )
    assert status == 200, grant
    # The exact bytes served: one of the key-confusion secrets is the JWKS document itself.
    with _no_proxy.open(live.stack.base_url + "/.well-known/jwks.json", timeout=10) as reply:
        jwks = reply.read()
    return Victim(grant["access_token"], jwks, grant["refresh_token"], attacker_url=live.key_server_url)


@pytest.mark.e2e
def test_e2e_control_the_real_demo_token_reaches_the_resource(live, live_victim):
    status, _, body = live.stack.call("GET", "/me", headers={"Authorization": f"Bearer {live_victim.token}"})
    assert status == 200, body
    assert body["username"] == "demo"


@pytest.mark.e2e
def test_e2e_control_the_attacker_key_server_hears_a_fetch(live):
    with _no_proxy.open(live.key_server_url + "?control", timeout=10) as reply:
        assert reply.status == 200
    assert live.key_server_hits == ["/.well-known/jwks.json?control"]


@pytest.mark.e2e
@pytest.mark.parametrize("name", E2E_ATTACKS)
def test_e2e_forged_token_is_refused_over_http(live, live_victim, name):
    build = ATTACKS.get(name) or EDDSA_ATTACKS[name]
    path = "/admin/users" if "admin" in name else "/notes"
    headers = {"Authorization": f"Bearer {build(live_victim)}"}
    status, answer_headers, body = live.stack.call("GET", path, headers=headers)
    assert status == 401, body
    assert answer_headers["WWW-Authenticate"] == INVALID_TOKEN
    assert body["error"] == "invalid_token"
    assert live.stack.process.poll() is None


@pytest.mark.e2e
def test_e2e_server_is_still_up_fetched_no_key_and_logged_no_traceback(live, live_victim):
    # Runs after the forgeries above (file order).
    status, _, body = live.stack.call("GET", "/me", headers={"Authorization": f"Bearer {live_victim.token}"})
    assert status == 200, body
    assert live.stack.process.poll() is None
    fetched = [hit for hit in live.key_server_hits if not hit.endswith("?control")]
    assert fetched == [], "the server fetched a key from a URL a token named"
    output = live.stack.output()
    assert "Traceback" not in output
    assert '"reason":"authorizer_error"' not in output
    assert output.count('"outcome":"deny"') >= len(E2E_ATTACKS)
