"""Quay's code flow with PKCE, end to end, driven by a third-party OAuth client: Authlib's
`OAuth2Session` (https://authlib.org) builds the authorization request with its own PKCE
pair and state, exchanges the code with client_secret_basic, introspects and revokes the
token. The direct-approval step (the user's password in a Basic header, whitelisted
client) is the one thing no generic client does: the test posts Authlib's authorization
parameters as the form. Then the attacks: replay, wrong verifier, another code's verifier,
a changed redirect URI, another client's code, an expired code, `plain`, no PKCE."""

import json
import os
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import rfc8414, rfc9207

from conftest import admin, basic, http_request, require

REDIRECT = "https://client.example/cb"
# The local stack speaks plain HTTP on 127.0.0.1; Authlib refuses that unless told.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


@pytest.fixture(scope="module")
def base():
    return require("E2E_ENDPOINT").rsplit("/oauth/authorizeapp", 1)[0]


def register(confidential=True):
    """A new application on the whitelist; its client secret when confidential."""
    client_id = "code_" + uuid.uuid4().hex[:10]
    args = [
        "app",
        "add",
        client_id,
        "--redirect-uri",
        REDIRECT,
        "--scope-ceiling",
        "repo:read repo:write",
    ]
    out = admin(*args, *(["--confidential"] if confidential else [])).stdout
    admin("whitelist", "add", client_id)
    secret = None
    for line in out.splitlines():
        if line.startswith("client secret"):
            secret = line.rsplit(" ", 1)[1]
    assert (secret is not None) == confidential, out
    return client_id, secret


@pytest.fixture(scope="module")
def whitelist_settles():
    # The test stack caches the whitelist for 1 s: wait out one expiry for new clients.
    time.sleep(1.1)


def approve(endpoint, session, user, password, verifier, **extra):
    """Authlib's authorization URL for `endpoint` (the base URL or the authorization
    endpoint itself), posted as the direct-approval form; returns the Location the server
    answered (and the state Authlib chose)."""
    if not endpoint.endswith("/oauth/authorizeapp"):
        endpoint += "/oauth/authorizeapp"
    url, state = session.create_authorization_url(endpoint, code_verifier=verifier, **extra)
    form = urlsplit(url).query
    reply = post_to(endpoint, form, basic(user, password))
    assert reply.status == 302, (reply.status, reply.body)
    return reply.header("location"), state


def post_to(url, form, auth=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if auth:
        headers["Authorization"] = auth
    return http_request(url, body=form, headers=headers)


def post(base, path, form, auth=None):
    return post_to(base + path, form, auth)


def make_user():
    name = "code-user-" + uuid.uuid4().hex[:8]
    admin("user", "add", name, "--password-stdin", stdin="code flow pw\n")
    return name, "code flow pw"


def test_authlib_drives_the_code_flow_then_introspects_and_revokes(base, whitelist_settles):
    client_id, secret = register()
    name, password = make_user()
    time.sleep(1.1)  # the whitelist
    meta = json.loads(
        http_request(base + "/.well-known/oauth-authorization-server", method="GET").body
    )
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["token_endpoint"].endswith("/oauth/access_token")
    session = OAuth2Session(
        client_id, secret, scope="repo:read", redirect_uri=REDIRECT, code_challenge_method="S256"
    )
    verifier = generate_token(64)
    location, state = approve(base, session, name, password, verifier)
    assert location.startswith(REDIRECT + "?code="), location
    # Authlib checks the state and sends the code, the verifier and client_secret_basic.
    token = session.fetch_token(
        base + "/oauth/access_token", authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer" and token["scope"] == "repo:read"
    access = token["access_token"]

    seen = session.introspect_token(base + "/oauth/introspect", token=access).json()
    assert seen["active"] is True and seen["username"] == name
    assert seen["client_id"] == client_id and seen["scope"] == "repo:read"
    assert session.revoke_token(base + "/oauth/revoke", token=access).status_code == 200
    assert session.introspect_token(base + "/oauth/introspect", token=access).json() == {
        "active": False
    }
    assert state in location


def discover(issuer):
    """The metadata of `issuer`, found as a client given only the issuer finds it: at the
    RFC 8414 §3.1 location (well-known path inserted before the issuer's path); where the
    front door cannot route that (cargo lambda watch, a REST stage on its execute-api
    domain), at the issuer's path plus the well-known path, as docs/contract.md says."""
    for url in (
        rfc8414.get_well_known_url(issuer, external=True),
        issuer.rstrip("/") + "/.well-known/oauth-authorization-server",
    ):
        reply = http_request(url, method="GET")
        if reply.status == 200:
            meta = rfc8414.AuthorizationServerMetadata(json.loads(reply.body))
            meta.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
            return meta
    raise AssertionError(f"no metadata for {issuer}")


def test_a_client_given_only_the_issuer_discovers_the_stack_and_runs_the_code_flow(
    whitelist_settles,
):
    """Everything from the metadata: the endpoints, S256, and the issuer, which must be the
    one given byte for byte, and which every authorization response names (`iss`, RFC
    9207): a client checks it against the server it asked, so a mix-up is caught."""
    issuer = require("DIRECT_OAUTH_ISSUER")
    meta = discover(issuer)
    assert meta["issuer"] == issuer
    assert meta["authorization_response_iss_parameter_supported"] is True
    client_id, secret = register()
    name, password = make_user()
    time.sleep(1.1)  # the whitelist
    session = OAuth2Session(
        client_id, secret, scope="repo:read", redirect_uri=REDIRECT, code_challenge_method="S256"
    )
    verifier = generate_token(64)
    # Direct approval is Quay's extension beside the standard pages (test_web_approval.py):
    # its URL is the issuer's, not the authorization endpoint discovery names.
    direct = issuer + "/oauth/authorizeapp"
    location, _ = approve(direct, session, name, password, verifier)
    answer = dict(parse_qsl(urlsplit(location).query))
    assert answer["iss"] == issuer, location
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    seen = session.introspect_token(
        meta["introspection_endpoint"], token=token["access_token"]
    ).json()
    assert seen["active"] is True and seen["username"] == name
    refused = post_to(
        direct,
        f"client_id={client_id}&redirect_uri={REDIRECT}&scope=no:such",
        basic(name, password),
    )
    error = dict(parse_qsl(urlsplit(refused.header("location")).fragment))
    assert (error["error"], error["iss"]) == ("invalid_scope", issuer), error


def code_for(base, client_id, name, password, verifier, redirect=True, method="S256"):
    session = OAuth2Session(
        client_id,
        None,
        scope="repo:read",
        redirect_uri=REDIRECT if redirect else None,
        code_challenge_method=method,
    )
    location, _ = approve(base, session, name, password, verifier)
    return dict(parse_qsl(urlsplit(location).query))


def exchange(base, client_id, code, verifier, secret=None, redirect=REDIRECT):
    form = f"grant_type=authorization_code&code={code}&code_verifier={verifier}"
    form += f"&client_id={client_id}" + (f"&redirect_uri={redirect}" if redirect else "")
    auth = basic(client_id, secret) if secret else None
    return post(base, "/oauth/access_token", form, auth)


def introspect(base, client_id, secret, token):
    return json.loads(
        post(base, "/oauth/introspect", f"token={token}", basic(client_id, secret)).body
    )


def test_attacks_on_the_code_flow(base, whitelist_settles):
    client_id, secret = register()
    other_id, other_secret = register()
    public_id, _ = register(confidential=False)
    name, password = make_user()
    time.sleep(1.1)
    v = generate_token(64)

    # Replay: invalid_grant, and the token the first exchange gave no longer works.
    code = code_for(base, client_id, name, password, v)["code"]
    first = exchange(base, client_id, code, v, secret)
    assert first.status == 200, first.body
    token = first.json()["access_token"]
    again = exchange(base, client_id, code, v, secret)
    assert (again.status, again.json()["error"]) == (400, "invalid_grant")
    assert introspect(base, client_id, secret, token) == {"active": False}

    # Wrong verifier, another code's verifier, a changed redirect URI, another client: all
    # invalid_grant, and the code still works for its owner afterwards.
    code = code_for(base, client_id, name, password, v)["code"]
    other_v = generate_token(64)
    code_for(base, client_id, name, password, other_v)
    for reply in [
        exchange(base, client_id, code, generate_token(64), secret),
        exchange(base, client_id, code, other_v, secret),
        exchange(base, other_id, code, v, other_secret),
    ]:
        assert (reply.status, reply.json()["error"]) == (400, "invalid_grant"), reply.body
    changed = exchange(base, client_id, code, v, secret, redirect="https://client.example/other")
    assert changed.json()["error"] == "invalid_grant"

    # A public client: PKCE alone is its proof; no verifier, no token.
    code = code_for(base, public_id, name, password, v)["code"]
    no_verifier = post(
        base,
        "/oauth/access_token",
        f"grant_type=authorization_code&code={code}&client_id={public_id}&redirect_uri={REDIRECT}",
    )
    assert no_verifier.json()["error"] == "invalid_request"
    assert exchange(base, public_id, code, v).status == 200

    # `plain` and no PKCE at all: the redirect error invalid_request, in the query.
    for method in ["plain", None]:
        session = OAuth2Session(
            public_id, None, scope="repo:read", redirect_uri=REDIRECT, code_challenge_method=method
        )
        url, _ = session.create_authorization_url(
            base + "/oauth/authorizeapp", code_verifier=v if method else None
        )
        reply = http_request(
            base + "/oauth/authorizeapp",
            body=urlsplit(url).query,
            headers={"Authorization": basic(name, password)},
        )
        query = dict(parse_qsl(urlsplit(reply.header("location")).query))
        assert query["error"] == "invalid_request", (method, query)


def test_an_expired_code_is_invalid_grant(base, whitelist_settles):
    """`make test`'s stack gives codes 10 s (DIRECT_OAUTH_CODE_LIFETIME_SECONDS)."""
    lifetime = int(os.environ.get("DIRECT_OAUTH_CODE_LIFETIME_SECONDS", "60"))
    client_id, secret = register()
    name, password = make_user()
    time.sleep(1.1)
    v = generate_token(64)
    code = code_for(base, client_id, name, password, v)["code"]
    time.sleep(lifetime + 1)
    reply = exchange(base, client_id, code, v, secret)
    assert (reply.status, reply.json()["error"]) == (400, "invalid_grant")


def test_a_rotated_secret_replaces_the_old_one_at_once(base, whitelist_settles):
    client_id, old = register()
    name, password = make_user()
    out = admin("app", "rotate-secret", client_id).stdout
    new = next(line for line in out.splitlines() if line.startswith("client secret")).rsplit(
        " ", 1
    )[1]
    time.sleep(1.1)
    v = generate_token(64)
    code = code_for(base, client_id, name, password, v)["code"]
    refused = exchange(base, client_id, code, v, old)
    assert (refused.status, refused.json()["error"]) == (401, "invalid_client")
    assert exchange(base, client_id, code, v, new).status == 200


def test_another_applications_token_is_inactive_unless_the_caller_may_introspect_any(
    base, whitelist_settles
):
    """RFC 7662 §4: application B learns nothing of A's token; registered as a resource
    server (`--introspect-any`, at add or by update) it does; A always sees its own."""
    a_id, a_secret = register()
    b_id, b_secret = register()
    name, password = make_user()
    time.sleep(1.1)
    v = generate_token(64)
    code = code_for(base, a_id, name, password, v)["code"]
    token = exchange(base, a_id, code, v, a_secret).json()["access_token"]

    assert introspect(base, b_id, b_secret, token) == {"active": False}
    own = introspect(base, a_id, a_secret, token)
    assert own["active"] is True and own["client_id"] == a_id, own

    admin("app", "update", b_id, "--introspect-any")
    seen = introspect(base, b_id, b_secret, token)
    assert seen["active"] is True and seen["username"] == name, seen
    listed = json.loads(admin("app", "list", "--output", "json").stdout)
    assert next(a for a in listed if a["client_id"] == b_id)["introspect_any"] is True
    admin("app", "update", b_id, "--no-introspect-any")
    assert introspect(base, b_id, b_secret, token) == {"active": False}

    rs_id = "rs_" + uuid.uuid4().hex[:10]
    out = admin(
        "app", "add", rs_id, "--redirect-uri", REDIRECT, "--confidential", "--introspect-any"
    ).stdout
    rs_secret = next(line for line in out.splitlines() if line.startswith("client secret")).rsplit(
        " ", 1
    )[1]
    assert introspect(base, rs_id, rs_secret, token)["active"] is True
