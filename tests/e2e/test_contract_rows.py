"""Contract rows 8, 10 and 11 (docs/contract.md, "The checks, in order") end to end: the real
binary against moto, answers and stored records checked.

Each test starts its own function instance (the whitelist is read at its first request, so
an application registered just before is seen at once) and uses fresh users."""

import json
import math
import os
import time
import uuid
from urllib.parse import parse_qsl, quote

import pytest

from conftest import (
    QUAY_REDIRECT,
    Function,
    admin,
    back_off_until,
    basic,
    failed_logins,
    require,
    token_from,
    tokens_of,
    v2_event,
    wait_out_back_off,
)
from tokens import id_of

LONG_CACHE = dict(DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=3600)
# Seconds of a back-off window the test keeps for two requests that must land in it.
ROOM = 3.0


def form(client_id="some_client_id", redirect_uri=QUAY_REDIRECT, scope="repo:read", extra=""):
    parts = [f"client_id={client_id}", "redirect_uri=" + quote(redirect_uri, safe="")]
    if scope is not None:
        parts.append("scope=" + quote(scope, safe=""))
    return "&".join(parts) + extra


def fragment(headers):
    location = headers.get("location")
    assert location and "#" in location, headers
    return location.split("#", 1)[0], dict(
        parse_qsl(location.split("#", 1)[1], keep_blank_values=True)
    )


def assert_redirect_error(reply, error, description, redirect_uri=QUAY_REDIRECT):
    status, headers, body = reply
    assert status == 302, (status, body)
    base, frag = fragment(headers)
    assert base == redirect_uri
    assert "access_token" not in frag, frag
    assert (frag["error"], frag["error_description"]) == (error, description), frag
    return frag


# ---- Row 8: back-off, shared by every instance through the failed-login table ----


def test_back_off_is_429_with_retry_after_and_shared_between_instances(
    start_function, post, make_user, dynamodb, tables
):
    """Failures counted through two instances (a Runtime API process and cargo lambda
    watch) add up in one item; then both refuse the name, even with the right password,
    with 429 and a Retry-After that covers what is left of the window."""
    require("E2E_ENDPOINT")
    name, password = make_user()
    a = start_function(**LONG_CACHE)

    def through_a(auth):
        status, headers, body = a.invoke(v2_event(form(), auth))
        return status, headers, body

    def through_b(auth):
        reply = post(form(), auth=auth)
        return reply.status, {k: v[0] for k, v in reply.headers.items()}, reply.body

    instances = [through_a, through_b]
    failures = 0
    while True:
        # Each failure goes through the other instance, once the last window has passed.
        wait_out_back_off(dynamodb, tables, name)
        status, _, body = instances[failures % 2](basic(name, "wrong"))
        assert status == 401, body
        failures += 1
        item = failed_logins(dynamodb, tables, name)
        assert int(item["failures"]["N"]) == failures, "one count for both instances"
        until = back_off_until(item)
        # From three failures on (a 3.5 s window), refuse through both instances, once the
        # window as stored has room for two refusals on a loaded machine: a right password
        # answered after it would be a token, and the count would start again. Short of
        # that room, one more failure doubles the window.
        if failures >= 3 and until - time.time() >= ROOM:
            break
        assert failures < 8, "never got ahead of the back-off window"
    left = until - time.time()
    replies = [through_b(basic(name, password)), through_a(basic(name, password))]
    for status, headers, body in replies:
        assert status == 429, (body, f"sent with {left:.2f} s of the window left")
        assert json.loads(body)["error"] == "temporarily_unavailable"
        retry_after = int(headers["retry-after"])
        assert 1 <= retry_after <= math.ceil(0.5 * (2**failures - 1)), headers
        assert "location" not in headers and "www-authenticate" not in headers
    assert tokens_of(dynamodb, tables, name) == []
    # Refusals in the window neither verify nor count.
    assert int(failed_logins(dynamodb, tables, name)["failures"]["N"]) == failures


# ---- Row 10: response_type ----


def test_unsupported_response_type_redirects_with_the_error(
    start_function, make_user, dynamodb, tables
):
    name, password = make_user()
    f = start_function(**LONG_CACHE)
    frag = assert_redirect_error(
        f.invoke(v2_event(form(extra="&response_type=id_token&state=st-1"), basic(name, password))),
        "unsupported_response_type",
        "response_type must be token or code",
    )
    assert frag["state"] == "st-1"
    assert tokens_of(dynamodb, tables, name) == []
    # Judged after the password (row 9 before row 10): a wrong one is still 401.
    assert f.invoke(v2_event(form(extra="&response_type=code"), basic(name, "wrong")))[0] == 401
    wait_out_back_off(dynamodb, tables, name)
    # The default and an explicit `token` issue.
    status, headers, _ = f.invoke(
        v2_event(form(extra="&response_type=token"), basic(name, password))
    )
    assert status == 302 and token_from(headers["location"])
    assert len(tokens_of(dynamodb, tables, name)) == 1


# ---- Row 11: scopes ----


def test_super_user_is_access_denied_for_a_non_superuser(
    start_function, make_user, dynamodb, tables
):
    name, password = make_user()
    boss, boss_password = make_user(superuser=True)
    f = start_function(**LONG_CACHE)
    assert_redirect_error(
        f.invoke(v2_event(form(scope="repo:read super:user"), basic(name, password))),
        "access_denied",
        "super:user is only granted to superusers",
    )
    assert tokens_of(dynamodb, tables, name) == []
    # The same request from a superuser is granted exactly that.
    status, headers, _ = f.invoke(
        v2_event(form(scope="repo:read super:user"), basic(boss, boss_password))
    )
    assert status == 302, headers
    token = token_from(headers["location"])
    [record] = tokens_of(dynamodb, tables, boss)
    assert record["token_id"]["S"] == id_of(token)
    assert [s["S"] for s in record["scopes"]["L"]] == ["repo:read", "super:user"]


CEILING = "repo:read repo:write"
CEILING_WITH_SUPER = "repo:read super:user"


@pytest.fixture(scope="module")
def ceilings():
    """Two applications with scope ceilings, one of them allowing super:user; a user and a
    superuser; one function instance started after they exist."""
    require("AWS_ENDPOINT_URL")
    suffix = uuid.uuid4().hex[:8]
    apps = {}
    for key, ceiling in [("plain", CEILING), ("super", CEILING_WITH_SUPER)]:
        client_id = f"ceiling_{key}_{suffix}"
        admin(
            "app",
            "add",
            client_id,
            "--redirect-uri",
            f"https://{key}.example/cb",
            "--scope-ceiling",
            ceiling,
        )
        admin("whitelist", "add", client_id)
        listed = admin("app", "list").stdout
        assert client_id in listed and ceiling.split()[0] in listed, listed
        apps[key] = client_id
    users = {}
    for kind, flags in [("user", []), ("superuser", ["--superuser"])]:
        name = f"ceil-{kind}-{suffix}"
        admin("user", "add", name, "--password-stdin", *flags, stdin="ceiling-pw\n")
        users[kind] = (name, basic(name, "ceiling-pw"))
    f = Function({**os.environ, **{k: str(v) for k, v in LONG_CACHE.items()}})
    yield f, apps, users
    f.stop()


# (application, who, requested scope) -> None for a token, or (error, description)
CEILING_CASES = [
    ("plain", "user", "repo:read", None),
    ("plain", "user", "repo:write repo:read", None),
    (
        "plain",
        "user",
        "repo:admin",
        ("invalid_scope", "scope repo:admin is not allowed for this application"),
    ),
    (
        "plain",
        "user",
        "repo:read org:admin",
        ("invalid_scope", "scope org:admin is not allowed for this application"),
    ),
    (
        "plain",
        "superuser",
        "super:user",
        ("invalid_scope", "scope super:user is not allowed for this application"),
    ),
    ("plain", "user", "repo:bogus", ("invalid_scope", "unknown scope repo:bogus")),
    ("plain", "user", None, ("invalid_scope", "scope is required")),
    ("super", "user", "super:user", ("access_denied", "super:user is only granted to superusers")),
    ("super", "superuser", "super:user repo:read", None),
    (
        "super",
        "superuser",
        "repo:write",
        ("invalid_scope", "scope repo:write is not allowed for this application"),
    ),
]


@pytest.mark.parametrize(
    "app,who,scope,expected", CEILING_CASES, ids=[f"{a}-{w}-{s}" for a, w, s, _ in CEILING_CASES]
)
def test_the_scope_ceiling(ceilings, dynamodb, tables, app, who, scope, expected):
    f, apps, users = ceilings
    redirect_uri = f"https://{app}.example/cb"
    name, auth = users[who]
    before = {t["token_id"]["S"] for t in tokens_of(dynamodb, tables, name)}
    reply = f.invoke(v2_event(form(apps[app], redirect_uri, scope), auth))
    after = {t["token_id"]["S"]: t for t in tokens_of(dynamodb, tables, name)}
    if expected is None:
        status, headers, body = reply
        assert status == 302, body
        token = token_from(headers["location"])
        assert headers["location"].startswith(redirect_uri + "#access_token=")
        assert set(after) - before == {id_of(token)}
        granted = [s["S"] for s in after[id_of(token)]["scopes"]["L"]]
        assert granted == list(dict.fromkeys(scope.split())), granted
    else:
        assert_redirect_error(reply, *expected, redirect_uri=redirect_uri)
        assert set(after) == before, "no token for a refused scope"
