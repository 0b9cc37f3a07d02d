"""The Lambda authorizer through `cargo lambda invoke` with events/token-authorizer/, and
revocation end to end: issue -> allowed -> revoke -> denied."""

import json
import os
import subprocess

import pytest

from conftest import QUAY_REDIRECT, ROOT, require
from gen_events import AUTHORIZER_SCENARIOS
from sample_tokens import write as write_sample_tokens
from tokens import id_of, made_of

DOORS = ["http-api-v2", "rest-token", "rest-request"]
QUAY_AUTH = "Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl"


@pytest.fixture(scope="module", autouse=True)
def sample_tokens():
    require("AWS_ENDPOINT_URL")
    write_sample_tokens()


def invoke(event, name):
    port = require("WATCH_PORT")
    if isinstance(event, str):
        path = event
    else:
        path = os.path.join(ROOT, ".local", "test", name + ".json")
        with open(path, "w") as f:
            json.dump(event, f)
    out = subprocess.run(
        [
            "cargo",
            "lambda",
            "invoke",
            "token-authorizer",
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
        timeout=300,
        cwd=ROOT,
    )
    if out.returncode != 0:
        return None, out.stdout + out.stderr
    return json.loads(out.stdout), ""


def event_path(door, scenario):
    return os.path.join(ROOT, "events", "token-authorizer", door, scenario + ".json")


def allowed(door, answer):
    if door == "http-api-v2":
        return answer["isAuthorized"] is True
    return answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"


@pytest.mark.parametrize("door", DOORS)
def test_a_valid_token_is_allowed_with_its_context(door):
    answer, err = invoke(event_path(door, "valid"), None)
    assert answer is not None, err
    assert allowed(door, answer), answer
    assert answer["context"] == {
        "username": "username",
        "client_id": "some_client_id",
        "scopes": "repo:read org:admin",
        "token_id": "sampleValidTokenId0001",
    }
    if door != "http-api-v2":
        assert answer["principalId"] == "username"


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    "scenario",
    [
        "wrong-secret",
        "unknown",
        "expired",
        "revoked",
        "malformed",
        "basic-scheme",
        "missing-header",
        "dpop-bound-as-bearer",
        "dpop-stale-proof",
    ],
)
def test_bad_or_missing_tokens_are_refused(door, scenario):
    """An HTTP API gets a refusal (API Gateway's 403; an HTTP API cannot send a challenge).
    A REST API gets `Unauthorized`, its 401, whatever is wrong with the token: with the
    UNAUTHORIZED gateway response the README shows, `WWW-Authenticate: Bearer
    error="invalid_token"` (RFC 6750 §3.1), never a 403 without a challenge."""
    answer, err = invoke(event_path(door, scenario), None)
    if door == "http-api-v2":
        assert answer == {"isAuthorized": False}, (answer, err)
    else:
        assert answer is None and "Unauthorized" in err, (answer, err)


def test_every_scenario_has_an_event():
    for door in DOORS:
        for scenario in AUTHORIZER_SCENARIOS:
            assert os.path.exists(event_path(door, scenario)), (door, scenario)


def v2_authorizer_event(token):
    with open(event_path("http-api-v2", "valid")) as f:
        event = json.load(f)
    event["headers"]["authorization"] = "Bearer " + token
    event["identitySource"] = ["Bearer " + token]
    return event


def test_revocation_end_to_end(post, endpoint, reset_failures):
    from conftest import http_request

    reset_failures("username")
    reply = post(
        "client_id=some_client_id&redirect_uri=" + QUAY_REDIRECT + "&scope=repo:read",
        auth=QUAY_AUTH,
    )
    assert reply.status == 302, reply.body
    token = dict(reply.fragment())["access_token"]

    answer, err = invoke(v2_authorizer_event(token), "revocation-before")
    assert answer and answer["isAuthorized"] is True, (answer, err)

    revoke_url = endpoint.replace("/oauth/authorizeapp", "/oauth/revoke")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    revoked = http_request(
        revoke_url, body="token=" + token + "&token_type_hint=access_token", headers=form
    )
    assert revoked.status == 200, revoked.body
    assert revoked.body == ""
    assert revoked.header("cache-control") == "no-store"

    answer, err = invoke(v2_authorizer_event(token), "revocation-after")
    assert answer == {"isAuthorized": False}, (answer, err)

    # RFC 7009: 200 for a token that does not exist, or again for the same token.
    again = http_request(revoke_url, body="token=" + token, headers=form)
    assert again.status == 200
    unknown = http_request(revoke_url, body="token=whatever", headers=form)
    assert unknown.status == 200
    missing = http_request(revoke_url, body="token_type_hint=access_token", headers=form)
    assert missing.status == 400 and missing.json()["error"] == "invalid_request"
    get = http_request(revoke_url, method="GET")
    assert get.status == 405


def test_knowing_the_id_is_not_enough_to_revoke(post, endpoint, reset_failures):
    from conftest import http_request

    reset_failures("username")
    reply = post("client_id=some_client_id&scope=repo:read", auth=QUAY_AUTH)
    token = dict(reply.fragment())["access_token"]
    forged = made_of(id_of(token), "A" * 43)
    revoke_url = endpoint.replace("/oauth/authorizeapp", "/oauth/revoke")
    assert (
        http_request(
            revoke_url,
            body="token=" + forged,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ).status
        == 200
    )
    answer, err = invoke(v2_authorizer_event(token), "revocation-forged")
    assert answer and answer["isAuthorized"] is True, (answer, err)
