"""Every file in events/ through `cargo lambda invoke --data-file`: the same request must
get the same answer through API Gateway REST (v1), HTTP API (v2), ALB (single and
multi-value headers) and a function URL."""

import glob
import json
import os
import subprocess

import pytest

from conftest import QUAY_REDIRECT, ROOT, require

# events/token-authorizer holds the authorizer's events (tests/e2e/test_authorizer.py).
DOORS = sorted(
    os.path.basename(d)
    for d in glob.glob(os.path.join(ROOT, "events", "*"))
    if os.path.isdir(d) and os.path.basename(d) != "token-authorizer"
)
SCENARIOS = [
    "success",
    "wrong-password",
    "not-whitelisted",
    "redirect-mismatch",
    "get",
    "code",
    "exchange-unknown-code",
    "introspect-public-client",
    "discovery",
    "dpop-stale-proof",
]

# scenario -> (status, error code or None, headers that must be present)
EXPECTED = {
    "success": (302, None, {"location", "cache-control", "pragma", "referrer-policy"}),
    "wrong-password": (401, "access_denied", {"www-authenticate", "content-type"}),
    "not-whitelisted": (403, "unauthorized_client", {"content-type"}),
    "redirect-mismatch": (400, "invalid_request", {"content-type"}),
    "get": (405, "invalid_request", {"allow", "content-type"}),
    "code": (302, None, {"location", "cache-control"}),
    "exchange-unknown-code": (400, "invalid_grant", {"content-type"}),
    "introspect-public-client": (400, "invalid_client", {"content-type"}),
    "discovery": (200, None, {"content-type"}),
    "dpop-stale-proof": (400, "invalid_dpop_proof", {"content-type"}),
}
# Where a success sends the client: a token in the fragment, a code in the query.
LOCATION = {"success": QUAY_REDIRECT + "#access_token=", "code": QUAY_REDIRECT + "?code="}


def invoke(path):
    port = require("WATCH_PORT")
    out = subprocess.run(
        [
            "cargo",
            "lambda",
            "invoke",
            "authorize-app",
            "--data-file",
            path,
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            port,
            "--output-format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    reply = json.loads(out.stdout)
    headers = {}
    for name, value in (reply.get("headers") or {}).items():
        headers.setdefault(name.lower(), []).append(value)
    for name, values in (reply.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = list(values)
    return reply, headers


def normalise(reply, headers):
    body = reply.get("body") or ""
    error = json.loads(body).get("error") if body else None
    location = headers.get("location", [""])[0].split("#access_token=")[0].split("?code=")[0]
    return reply["statusCode"], error, location, sorted(headers)


def test_every_door_has_every_scenario():
    assert set(DOORS) >= {
        "apigw-rest-v1",
        "apigw-http-v2",
        "alb",
        "alb-multi-value",
        "function-url",
    }
    for door in DOORS:
        for scenario in SCENARIOS:
            assert os.path.exists(os.path.join(ROOT, "events", door, scenario + ".json"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_all_doors_answer_alike(scenario, reset_failures):
    status, error, must_have = EXPECTED[scenario]
    seen = {}
    for door in DOORS:
        reset_failures("username")
        reply, headers = invoke(os.path.join(ROOT, "events", door, scenario + ".json"))
        assert reply["statusCode"] == status, (door, reply)
        assert must_have <= set(headers), (door, headers)
        assert headers["cache-control"] == ["no-store"], door
        assert not any(h.startswith("access-control-") for h in headers), door
        if error:
            assert json.loads(reply["body"])["error"] == error, door
            assert "location" not in headers, door
        elif scenario in LOCATION:
            assert headers["location"][0].startswith(LOCATION[scenario]), door
        else:
            body = json.loads(reply["body"])
            assert body["token_endpoint"] == body["issuer"] + "/oauth/access_token", door
        if door.startswith("alb"):
            assert reply.get("statusDescription", "").startswith(str(status)), door
        seen[door] = normalise(reply, headers)
    first = next(iter(seen.values()))
    for door, answer in seen.items():
        assert answer[:3] == first[:3], (door, answer, first)
