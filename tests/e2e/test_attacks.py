"""Attacks against the running function (cargo lambda watch): each answers as the
contract says, and none writes a token."""

import base64
import json
import os
import subprocess
import time
import uuid
from urllib.parse import parse_qsl, quote

import pytest

from conftest import ROOT, admin, basic, http_request, require

# Fresh names per run: registration must succeed (check=True), never "already exists".
SUFFIX = uuid.uuid4().hex[:8]
CLIENT = "attack_client_" + SUFFIX
USER = "attacker-target-" + SUFFIX
REGISTERED = "https://app.example/cb"
LOOPBACK = "http://127.0.0.1/cb"

NO_MATCH = "redirect_uri does not match a registered redirect URI"
BAD_CREDENTIALS = "Basic credentials are missing or malformed"


@pytest.fixture(scope="module")
def attack_user(dynamodb, tables):
    """Registers the application, whitelists it and adds the user, then proves the setup
    works: the registered URIs get a token. Without that, every redirect case below would
    pass on "unknown client" (also a 400 invalid_request)."""
    require("E2E_ENDPOINT")
    admin("app", "add", CLIENT, "--redirect-uri", REGISTERED, "--redirect-uri", LOOPBACK)
    admin("whitelist", "add", CLIENT)
    admin("user", "add", USER, "--password-stdin", stdin="s3cret-pw\n")
    assert CLIENT in admin("whitelist", "list").stdout
    auth = basic(USER, "s3cret-pw")
    deadline = time.monotonic() + 30
    for uri in [REGISTERED, "http://127.0.0.1:8123/cb"]:
        while True:
            reply = http_request(
                require("E2E_ENDPOINT"),
                body=form(uri),
                headers={
                    "Authorization": auth,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            # The test stack caches the whitelist for 1 s: 403 until it has expired.
            if reply.status != 403 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert reply.status == 302, ("setup: the registered URI must work", uri, reply.body)
        assert reply.header("location").startswith(uri + "#access_token="), reply.headers
    return auth


def form(redirect_uri=None, scope="repo:read", extra=""):
    parts = [f"client_id={CLIENT}", f"scope={quote(scope, safe='')}"]
    if redirect_uri is not None:
        parts.append("redirect_uri=" + quote(redirect_uri, safe=""))
    return "&".join(parts) + extra


REDIRECT_ATTACKS = [
    "https://app.example/cb/extra",  # prefix
    "https://app.example/c",  # shorter
    "https://app.example/cbx",
    "https://evil.example@app.example/cb",  # userinfo
    "https://app.example@evil.example/cb",
    "https://app.example/cb/../../evil",  # traversal
    "https://app.example/cb/%2e%2e/evil",  # encoded traversal
    "https://app.example/cb%2F..%2Fevil",
    "https://app.example\\@evil.example/cb",  # backslashes
    "https:\\\\evil.example/cb",
    "https://APP.example/cb",  # case
    "HTTPS://app.example/cb",
    "https://app.example/CB",
    "https://app.example/cb?next=evil",  # extra query
    "https://app.example/cb#",  # fragments
    "https://app.example/cb#frag",
    "//app.example/cb",  # scheme-relative
    "javascript:alert(document.domain)//https://app.example/cb",
    "data:text/html,<script>alert(1)</script>",
    "http://app.example/cb",  # http, not loopback
    "http://127.0.0.1.evil.example/cb",  # loopback look-alikes
    "http://127.0.0.1@evil.example/cb",
    "http://127.0.0.1:80@evil.example/cb",
    "http://localhost/cb",
    "http://127.1/cb",
    "http://0x7f000001/cb",
    "http://[::ffff:127.0.0.1]/cb",
    "https://127.0.0.1/cb",
    "http://127.0.0.1:99999/cb",
    " https://app.example/cb",
    "https://app.example/cb ",
]


@pytest.mark.parametrize("uri", REDIRECT_ATTACKS)
def test_redirect_tricks_are_400_without_location(post, attack_user, uri):
    reply = post(form(uri), auth=attack_user)
    assert reply.status == 400, (uri, reply.status, reply.body)
    assert reply.json() == {"error": "invalid_request", "error_description": NO_MATCH}, uri
    assert reply.header("location") is None


def test_no_redirect_uri_with_two_registered_is_400(post, attack_user):
    reply = post(form(None), auth=attack_user)
    assert reply.status == 400 and reply.header("location") is None
    assert (
        reply.json()["error_description"]
        == "redirect_uri is required: the application has several registered"
    )


@pytest.mark.parametrize(
    "extra,field",
    [
        ("&client_id=other", "client_id"),
        ("&scope=repo:admin", "scope"),
        ("&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", "redirect_uri"),
        ("&state=a&state=b", "state"),
        ("&response_type=token&response_type=token", "response_type"),
    ],
)
def test_repeated_parameters_are_400(post, attack_user, extra, field):
    reply = post(form(REGISTERED, extra=extra), auth=attack_user)
    assert reply.status == 400 and reply.header("location") is None
    assert reply.json() == {
        "error": "invalid_request",
        "error_description": f"the field {field} is repeated",
    }


@pytest.mark.parametrize(
    "field,value,description",
    [
        ("state", "x&access_token=evil&token_type=Bearer", "unknown scope repo:push"),
        ("state", "x#access_token=evil", "unknown scope repo:push"),
        ("scope", "repo:read&access_token=evil", "unknown scope repo:read&access_token=evil"),
        ("scope", "repo:push#access_token=evil", "unknown scope repo:push#access_token=evil"),
    ],
)
def test_state_and_scope_cannot_inject_a_token(post, attack_user, field, value, description):
    body = form(REGISTERED, scope=value if field == "scope" else "repo:push")
    if field == "state":
        body += "&state=" + quote(value, safe="")
    reply = post(body, auth=attack_user)
    assert reply.status == 302
    location = reply.header("location")
    base, fragment = location.split("#", 1)
    assert base == REGISTERED
    pairs = parse_qsl(fragment, keep_blank_values=True)
    names = [k for k, _ in pairs]
    assert names[0] == "error" and "access_token" not in names, location
    assert "#" not in fragment
    assert pairs[:2] == [("error", "invalid_scope"), ("error_description", description)], pairs
    # What follows the error is the state, when sent, and the issuer (RFC 9207), last.
    sent = [("state", value)] if field == "state" else []
    assert pairs[2:] == [*sent, ("iss", os.environ["DIRECT_OAUTH_ISSUER"])], pairs


# Each carries the real user's name and password where it can, so only the malformation
# can be what refuses it.
_U = USER.encode()
BAD_BASIC = {
    "no colon": "Basic " + base64.b64encode(_U + b"s3cret-pw").decode(),
    "empty user": "Basic " + base64.b64encode(b":s3cret-pw").decode(),
    "invalid base64": "Basic $$$not*base64$$$",
    "unencoded": "Basic " + USER + ":s3cret-pw",
    "invalid utf-8": "Basic " + base64.b64encode(_U + b":s3cret-pw\xff\xfe").decode(),
    "control characters": "Basic " + base64.b64encode(_U + b"\x00:s3cret-pw").decode(),
    "8 KB value": "Basic " + "A" * 8192,
    "300-byte username": "Basic " + base64.b64encode(b"u" * 300 + b":s3cret-pw").decode(),
    "another scheme": "Bearer " + base64.b64encode(_U + b":s3cret-pw").decode(),
    "digest": f'Digest username="{USER}", realm="x"',
    "scheme only": "Basic",
}


@pytest.mark.parametrize("name", sorted(BAD_BASIC))
def test_malformed_basic_is_401(post, attack_user, name):
    reply = post(form(REGISTERED), auth=BAD_BASIC[name])
    assert reply.status == 401, (name, reply.body)
    assert reply.json() == {"error": "access_denied", "error_description": BAD_CREDENTIALS}
    assert reply.header("www-authenticate").startswith('Basic realm="')
    assert reply.header("location") is None


def invoke_event(event, name):
    port = require("WATCH_PORT")
    path = os.path.join(ROOT, ".local", "test", name + ".json")
    with open(path, "w") as f:
        json.dump(event, f)
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
    headers = {k.lower(): v for k, v in (reply.get("headers") or {}).items()}
    for k, v in (reply.get("multiValueHeaders") or {}).items():
        headers[k.lower()] = v[0]
    return reply["statusCode"], headers, reply.get("body") or ""


def door_event(door):
    with open(os.path.join(ROOT, "events", door, "success.json")) as f:
        return json.load(f)


def test_two_credentials_are_401(attack_user):
    other = basic("someone-else", "x")
    # HTTP APIs and function URLs join repeated headers with commas.
    v2 = door_event("apigw-http-v2")
    v2["headers"]["authorization"] = attack_user + ", " + other
    # REST APIs and ALBs with multi-value headers keep both.
    v1 = door_event("apigw-rest-v1")
    v1["multiValueHeaders"]["Authorization"] = [attack_user, other]
    v1["headers"]["Authorization"] = other
    alb = door_event("alb-multi-value")
    alb["multiValueHeaders"]["authorization"] = [attack_user, other]
    for name, event in [("v2", v2), ("v1", v1), ("alb", alb)]:
        status, headers, body = invoke_event(event, "two-credentials-" + name)
        assert status == 401, (name, body)
        assert json.loads(body)["error_description"] == BAD_CREDENTIALS, (name, body)
        assert headers["www-authenticate"].startswith("Basic realm=")


def test_an_oversized_state_is_400(post, attack_user):
    reply = post(form(REGISTERED) + "&state=" + "s" * 1025, auth=attack_user)
    assert reply.status == 400 and reply.json() == {
        "error": "invalid_request",
        "error_description": "state is longer than 1024 bytes",
    }


NOT_A_FORM = "the body must be application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "content_type,body,status,description",
    [
        (
            "application/json",
            json.dumps({"client_id": CLIENT, "scope": "repo:read"}),
            415,
            NOT_A_FORM,
        ),
        # JSON read as a form: one field named `{"client_id": "..."}`, so no client_id.
        (
            "application/x-www-form-urlencoded",
            json.dumps({"client_id": CLIENT}),
            400,
            "client_id is required",
        ),
        (
            "application/x-www-form-urlencoded",
            form(REGISTERED) + "&pad=" + "a" * 17000,
            413,
            "the body is larger than 16384 bytes",
        ),
        ("text/plain", form(REGISTERED), 415, NOT_A_FORM),
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="client_id"\r\n\r\nc\r\n--x--',
            415,
            NOT_A_FORM,
        ),
        (
            "application/x-www-form-urlencoded",
            "client_id=%zz",
            400,
            "the body has an invalid percent-escape",
        ),
        (
            "application/x-www-form-urlencoded",
            "client_id=%ff%fe",
            400,
            "the body is not valid UTF-8 once decoded",
        ),
        (
            "application/x-www-form-urlencoded; charset=iso-8859-1",
            form(REGISTERED),
            415,
            NOT_A_FORM,
        ),
    ],
)
def test_bodies_that_are_not_small_forms(
    post, attack_user, content_type, body, status, description
):
    reply = post(body, auth=attack_user, content_type=content_type)
    assert reply.status == status, (reply.status, reply.body)
    assert reply.json() == {"error": "invalid_request", "error_description": description}


def test_body_flagged_base64_that_is_not():
    event = door_event("apigw-http-v2")
    event["body"] = "this is not base64 %%%"
    status, _headers, body = invoke_event(event, "bad-base64")
    assert status == 400
    assert json.loads(body) == {
        "error": "invalid_request",
        "error_description": "the body is flagged as base64 but is not valid base64",
    }
