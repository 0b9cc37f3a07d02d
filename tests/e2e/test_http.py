"""The contract over HTTP, through `cargo lambda watch` (a function URL), against moto."""

import base64
import hashlib
import os
import re
import time
from urllib.parse import quote

from conftest import QUAY_REDIRECT, admin, basic, scan_all
from tokens import id_of, secret_of

QUAY_AUTH = "Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl"
QUAY_FORM = "client_id=some_client_id&redirect_uri=" + QUAY_REDIRECT + "&scope=repo:write,org:admin"
# Quay's fragment, then the issuer (RFC 9207), which the test stack names.
LOCATION = re.compile(
    re.escape(QUAY_REDIRECT)
    + r"#access_token=([A-Za-z0-9_.-]{43,})&token_type=Bearer&expires_in=315576000"
    + re.escape("&iss=" + quote(os.environ.get("DIRECT_OAUTH_ISSUER", ""), safe=""))
    + "$"
)


def assert_json_error(reply, status, error):
    assert reply.status == status, (reply.status, reply.body)
    assert reply.json()["error"] == error
    assert reply.header("location") is None
    assert reply.header("cache-control") == "no-store"
    assert reply.header("pragma") == "no-cache"


def test_quay_example_gets_a_stored_token(post, reset_failures, dynamodb, tables):
    reset_failures("username")
    reply = post(QUAY_FORM, auth=QUAY_AUTH)
    assert reply.status == 302, reply.body
    match = LOCATION.match(reply.header("location"))
    assert match, reply.header("location")
    assert reply.header("cache-control") == "no-store"
    assert reply.header("pragma") == "no-cache"
    assert reply.header("referrer-policy") == "no-referrer"
    assert not any(h.startswith("access-control-") for h in reply.headers)
    assert reply.body == ""

    token = match.group(1)
    token_id, secret = id_of(token), secret_of(token)
    item = dynamodb.get_item(
        TableName=tables["tokens"], Key={"token_id": {"S": token_id}}, ConsistentRead=True
    )["Item"]
    assert item["username"]["S"] == "username"
    assert item["client_id"]["S"] == "some_client_id"
    assert [s["S"] for s in item["scopes"]["L"]] == ["repo:write", "org:admin"]
    assert item["secret_sha256"]["B"] == hashlib.sha256(secret.encode()).digest()
    assert int(item["expires_at"]["N"]) - int(item["issued_at"]["N"]) == 315576000

    # Nothing anywhere holds the token, its secret or the password in clear.
    for value in scan_all(dynamodb, tables):
        assert token not in value and secret not in value
        assert "passwordhere" not in value
        assert base64.b64encode(secret.encode()).decode() not in value


def test_state_is_echoed(post, reset_failures):
    reset_failures("username")
    reply = post(QUAY_FORM + "&state=abc%20123", auth=QUAY_AUTH)
    assert reply.status == 302
    assert reply.fragment()[-2:] == [
        ("state", "abc 123"),
        ("iss", os.environ["DIRECT_OAUTH_ISSUER"]),
    ]


def test_not_whitelisted_is_403(post):
    reply = post(QUAY_FORM.replace("some_client_id", "not_on_the_list"), auth=QUAY_AUTH)
    assert_json_error(reply, 403, "unauthorized_client")


def test_wrong_password_is_401_with_a_challenge(post, make_user):
    name, _ = make_user()
    reply = post(QUAY_FORM, auth=basic(name, "wrong"))
    assert_json_error(reply, 401, "access_denied")
    assert reply.header("www-authenticate") == 'Basic realm="direct-oauth", charset="UTF-8"'


def test_unknown_user_answers_like_a_wrong_password(post, make_user):
    name, _ = make_user()
    wrong = post(QUAY_FORM, auth=basic(name, "wrong"))
    unknown = post(QUAY_FORM, auth=basic(name + "-nobody", "wrong"))
    assert (wrong.status, wrong.body, wrong.header("www-authenticate")) == (
        unknown.status,
        unknown.body,
        unknown.header("www-authenticate"),
    )


def test_missing_credentials_are_401_and_never_302(post):
    reply = post(QUAY_FORM)
    assert_json_error(reply, 401, "access_denied")
    assert reply.header("www-authenticate").startswith("Basic realm=")


def test_wrong_redirect_uri_is_400_without_location(post):
    for uri in [
        QUAY_REDIRECT + "/",
        QUAY_REDIRECT + "?x=1",
        "https://evil.example/",
        QUAY_REDIRECT.upper(),
    ]:
        reply = post(QUAY_FORM.replace(QUAY_REDIRECT, uri), auth=QUAY_AUTH)
        assert_json_error(reply, 400, "invalid_request")


def test_unknown_scope_redirects_with_invalid_scope(post, reset_failures):
    reset_failures("username")
    reply = post(QUAY_FORM.replace("repo:write", "repo:push") + "&state=s", auth=QUAY_AUTH)
    assert reply.status == 302
    assert reply.header("location").startswith(QUAY_REDIRECT + "#error=invalid_scope&")
    assert dict(reply.fragment())["state"] == "s"
    assert "access_token" not in reply.header("location")


def test_get_is_405(post):
    reply = post(None, method="GET", content_type=None)
    assert_json_error(reply, 405, "invalid_request")
    assert reply.header("allow") == "POST"


def test_json_body_is_415_and_oversized_is_413(post):
    assert_json_error(
        post('{"client_id": "some_client_id"}', auth=QUAY_AUTH, content_type="application/json"),
        415,
        "invalid_request",
    )
    big = QUAY_FORM + "&pad=" + "a" * 17000
    assert_json_error(post(big, auth=QUAY_AUTH), 413, "invalid_request")


def test_unregistered_client_is_400(post):
    admin("whitelist", "add", "whitelisted_but_unregistered")
    time.sleep(1.1)  # the test stack caches the whitelist for 1 s
    reply = post("client_id=whitelisted_but_unregistered&scope=repo:read", auth=QUAY_AUTH)
    assert_json_error(reply, 400, "invalid_request")
    assert reply.json()["error_description"] == "unknown client"


def test_whitelist_removal_takes_effect_within_the_cache_time(post, make_user):
    name, password = make_user()
    admin("app", "add", "short_lived", "--redirect-uri", "https://short.example/cb")
    admin("whitelist", "add", "short_lived")
    time.sleep(1.1)  # the test stack caches the whitelist for 1 s
    form = "client_id=short_lived&scope=repo:read"
    assert post(form, auth=basic(name, password)).status == 302
    admin("whitelist", "remove", "short_lived")
    time.sleep(1.1)
    assert_json_error(post(form, auth=basic(name, password)), 403, "unauthorized_client")
