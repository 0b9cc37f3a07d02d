"""Refresh tokens (issue 35) against the local stack, driven by a third-party client:
Authlib's `OAuth2Session`, configured from the issuer's metadata alone (RFC 8414), gets a
code by direct approval with PKCE, exchanges it and refreshes. What a client sees is
checked beside what the server stored (the refresh-tokens table, read with boto3): the
token rotates at each use; a retired one presented after the grace window revokes the
family and the access tokens it issued (refused by introspection and the authorizer);
within the grace window a retry gets the next token and retires the lost one;
`token revoke --user|--client` and `user disable` end the family at its next use; and 16
refreshes of one token on 16 instances at once give one token, never two live families.
Each refusal is counted in moto's call log (MOTO_CALL_LOG): what it wrote, if anything."""

import json
import os
import time
import uuid
from collections import Counter
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from conftest import admin, basic, require, tokens_of, v2_event
from fleet import Fleet
from test_authorizer import invoke
from test_code_flow import approve, discover
from test_dpop import authorizer_event
from test_refused_writes import writes_during
from tokens import family_of, id_of, refresh_sha256

pytestmark = pytest.mark.usefixtures("aws_stack")

REDIRECT = "https://client.example/cb"
# The local stack speaks plain HTTP on 127.0.0.1; Authlib refuses that unless told.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
REUSED = "already used; its family is revoked"
AT_ONCE = "used by another request at the same moment"


@pytest.fixture(scope="module")
def issuer():
    return require("DIRECT_OAUTH_ISSUER")


@pytest.fixture(scope="module")
def meta(issuer):
    found = discover(issuer)
    assert "refresh_token" in found["grant_types_supported"], found
    return found


def register(*terms):
    """A confidential application on the whitelist that gets refresh tokens (`terms`: more
    of app add's refresh flags); its id and secret, once the whitelist cache took it."""
    client_id = "refresh_" + uuid.uuid4().hex[:10]
    out = admin(
        "app",
        "add",
        client_id,
        "--redirect-uri",
        REDIRECT,
        "--scope-ceiling",
        "repo:read repo:write",
        "--confidential",
        "--refresh-tokens",
        *terms,
    ).stdout
    admin("whitelist", "add", client_id)
    secret = next(line.rsplit(" ", 1)[1] for line in out.splitlines() if "client secret" in line)
    time.sleep(1.1)  # the stack caches the whitelist for 1 s
    return client_id, secret


def make_user():
    name = "refresh-" + uuid.uuid4().hex[:8]
    admin("user", "add", name, "--password-stdin", stdin="refresh pw 123\n")
    return name, "refresh pw 123"


def client_for(meta, client_id, secret):
    """Authlib's client, every endpoint and its authentication from the metadata."""
    methods = meta["token_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in methods, methods
    return OAuth2Session(
        client_id,
        secret,
        scope="repo:read",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        **meta,
    )


def signed_in(issuer, session, name, password):
    """The token response of a code got by direct approval (Authlib's PKCE pair and state,
    the answer's `iss` checked) and exchanged by Authlib at the discovered endpoint."""
    verifier = generate_token(64)
    location, state = approve(issuer + "/oauth/authorizeapp", session, name, password, verifier)
    assert dict(parse_qsl(urlsplit(location).query))["iss"] == issuer, location
    token = session.fetch_token(
        authorization_response=location, state=state, code_verifier=verifier
    )
    assert token["refresh_token"].startswith("dor_"), token
    assert token["token_type"] == "Bearer" and token["scope"] == "repo:read", token
    return token


def family(dynamodb, tables, refresh_token):
    return dynamodb.get_item(
        TableName=tables["refresh_tokens"],
        Key={"family_id": {"S": family_of(refresh_token)}},
        ConsistentRead=True,
    ).get("Item")


def active(session, token):
    """Whether introspection (the application's own token, RFC 7662) says it is active."""
    url = session.metadata["introspection_endpoint"]
    return session.introspect_token(url, token=token).json().get("active")


def authorized(token, name):
    """The token authorizer's decision on `Bearer token` (cargo lambda invoke)."""
    answer, err = invoke(authorizer_event("Bearer " + token), name)
    assert answer is not None, err
    return answer["isAuthorized"]


def refused(session, refresh_token):
    """The `error_description` of the invalid_grant Authlib gets for `refresh_token`."""
    with pytest.raises(OAuthError) as caught:
        session.refresh_token(refresh_token=refresh_token)
    assert caught.value.error == "invalid_grant", caught.value
    return caught.value.description


def writes(lines):
    return Counter(line.split(" ", 1)[0] for line in lines)


def test_authlib_refreshes_and_each_use_rotates_the_refresh_token(meta, issuer, dynamodb, tables):
    """Three refreshes: a new refresh token and a new access token each time; the family
    stores the live token's hash and the one it retired, and lists every access token."""
    client_id, secret = register()
    name, password = make_user()
    session = client_for(meta, client_id, secret)
    token = signed_in(issuer, session, name, password)
    assert 0 < token["expires_in"] <= 3600, "an hour when refresh tokens come with it"
    seen = [token["refresh_token"]]
    access = [token["access_token"]]
    for _ in range(3):
        before = seen[-1]
        token = session.refresh_token()
        assert token["refresh_token"] not in seen, "not rotated"
        assert family_of(token["refresh_token"]) == family_of(before), "one family"
        stored = family(dynamodb, tables, token["refresh_token"])
        assert stored["current_sha256"]["B"] == refresh_sha256(token["refresh_token"])
        assert stored["previous_sha256"]["B"] == refresh_sha256(before), "the old one retired"
        assert "revoked_at" not in stored
        seen.append(token["refresh_token"])
        access.append(token["access_token"])
    assert len(set(access)) == 4 and all(active(session, a) for a in access)
    stored = family(dynamodb, tables, seen[0])
    assert set(stored["access_tokens"]["M"]) == {id_of(a) for a in access}
    assert stored["username"]["S"] == name and stored["client_id"]["S"] == client_id
    assert {id_of(a) for a in access} == {
        t["token_id"]["S"] for t in tokens_of(dynamodb, tables, name)
    }
    assert authorized(access[-1], "refresh-rotated-valid") is True


def test_a_retired_token_after_the_grace_revokes_the_family_and_its_access_tokens(
    meta, issuer, dynamodb, tables
):
    """No grace: the retired token presented again is reuse. Authlib gets invalid_grant;
    the family is revoked, and so are both access tokens it issued (introspection and the
    authorizer refuse the rotated one); the family's live token is worthless after. The
    reuse writes the revocation and nothing else: no token."""
    client_id, secret = register("--refresh-grace-seconds", "0")
    name, password = make_user()
    session = client_for(meta, client_id, secret)
    first = signed_in(issuer, session, name, password)
    retired = first["refresh_token"]
    second = dict(session.refresh_token())
    assert authorized(second["access_token"], "refresh-before-reuse") is True
    count = len(tokens_of(dynamodb, tables, name))

    why, wrote = writes_during(lambda: refused(session, retired))
    assert REUSED in why, why
    # The family's UpdateItem, then each of its live access tokens'.
    assert writes(wrote) == {"UpdateItem": 3}, wrote
    assert sorted(w.split(" ", 1)[1] for w in wrote) == sorted(
        [tables["refresh_tokens"], tables["tokens"], tables["tokens"]]
    ), wrote
    stored = family(dynamodb, tables, retired)
    assert "revoked_at" in stored
    for access in (first["access_token"], second["access_token"]):
        assert active(session, access) is False
    assert authorized(second["access_token"], "refresh-after-reuse") is False

    why, wrote = writes_during(lambda: refused(session, second["refresh_token"]))
    assert "revoked" in why and wrote == [], (why, wrote)
    assert len(tokens_of(dynamodb, tables, name)) == count, "a refusal wrote a token"


def test_a_retry_within_the_grace_gets_the_next_token_and_retires_the_lost_one(
    meta, issuer, dynamodb, tables
):
    """Five seconds of grace: the client lost the answer of its refresh and presents the
    same token again; it gets a third token (not the lost one), and the family keeps the
    retired token's window as it was. The lost token, never used, is reuse when it comes;
    and past the window the retired one is too."""
    client_id, secret = register("--refresh-grace-seconds", "5")
    name, password = make_user()
    session = client_for(meta, client_id, secret)
    retired = signed_in(issuer, session, name, password)["refresh_token"]
    lost = dict(session.refresh_token())
    window = int(family(dynamodb, tables, retired)["grace_until"]["N"])
    retried = dict(session.refresh_token(refresh_token=retired))
    assert retried["refresh_token"] not in (lost["refresh_token"], retired)
    stored = family(dynamodb, tables, retired)
    assert stored["current_sha256"]["B"] == refresh_sha256(retried["refresh_token"])
    assert stored["previous_sha256"]["B"] == refresh_sha256(retired)
    assert int(stored["grace_until"]["N"]) == window, "a retry never stretches the window"
    assert "revoked_at" not in stored and active(session, retried["access_token"])

    # The client goes on with the retried answer: its token is the live one.
    going_on = dict(session.refresh_token(refresh_token=retried["refresh_token"]))
    assert active(session, going_on["access_token"])
    # The lost answer's token is reuse: the family ends, the access tokens with it.
    assert REUSED in refused(session, lost["refresh_token"])
    assert "revoked_at" in family(dynamodb, tables, retired)
    for access in (lost, retried, going_on):
        assert active(session, access["access_token"]) is False


def test_past_the_grace_the_retired_token_is_reuse(meta, issuer, dynamodb, tables):
    client_id, secret = register("--refresh-grace-seconds", "1")
    name, password = make_user()
    session = client_for(meta, client_id, secret)
    retired = signed_in(issuer, session, name, password)["refresh_token"]
    rotated = dict(session.refresh_token())
    until = int(family(dynamodb, tables, retired)["grace_until"]["N"])
    time.sleep(max(0.0, until + 0.1 - time.time()))
    assert REUSED in refused(session, retired)
    assert active(session, rotated["access_token"]) is False


ENDINGS = {
    "token revoke --user": lambda name, client_id: admin(
        "token", "revoke", "--user", name, "--yes"
    ),
    "user disable": lambda name, client_id: admin("user", "disable", name, "--yes"),
    "token revoke --client": lambda name, client_id: admin(
        "token", "revoke", "--client", client_id, "--yes"
    ),
    "app update --no-refresh-tokens": lambda name, client_id: admin(
        "app", "update", client_id, "--no-refresh-tokens"
    ),
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_the_user_and_the_application_decide_at_every_refresh(
    ending, meta, issuer, dynamodb, tables
):
    """After the operator's command the next refresh is invalid_grant, and it writes
    nothing: no token, no revocation (the family is refused, not judged reused)."""
    client_id, secret = register()
    name, password = make_user()
    session = client_for(meta, client_id, secret)
    token = signed_in(issuer, session, name, password)
    token = dict(session.refresh_token())
    ENDINGS[ending](name, client_id)
    count = len(tokens_of(dynamodb, tables, name))
    why, wrote = writes_during(lambda: refused(session, token["refresh_token"]))
    assert wrote == [], (why, wrote)
    assert len(tokens_of(dynamodb, tables, name)) == count
    stored = family(dynamodb, tables, token["refresh_token"])
    assert "revoked_at" not in stored, why
    assert stored["current_sha256"]["B"] == refresh_sha256(token["refresh_token"])


def token_event(form, client_id, secret):
    event = v2_event(form, basic(client_id, secret))
    path = "/oauth/access_token"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST " + path
    return event


CONCURRENT = 16


def test_concurrent_refreshes_of_one_token_on_many_instances_give_one_token(
    meta, issuer, dynamodb, tables
):
    """16 instances, warm, each handed the same refresh token at one moment (no grace):
    one answer 200, the others invalid_grant; judged by what was stored: one family whose
    live token is the winner's, one new access token (the winner's) beside the first,
    and no other token written. A request that read the family before the winner's write
    loses its conditional write (refused "at the same moment", no revocation); one that
    read it after sees a retired token with no grace left, which is reuse: the family is
    then revoked, the winner's access token with it. Either way no second family lives."""
    client_id, secret = register("--refresh-grace-seconds", "0")
    name, password = make_user()
    session = client_for(meta, client_id, secret)
    first = signed_in(issuer, session, name, password)
    presented = first["refresh_token"]
    form = "grant_type=refresh_token&refresh_token=" + quote(presented, safe="")
    # A refresh token that cannot be one of ours: refused without a read, so the warm-up
    # loads each instance and its connections and leaves the family alone.
    warm = token_event("grant_type=refresh_token&refresh_token=dor_x", client_id, secret)
    with Fleet(CONCURRENT) as fleet:
        assert Counter(a[0] for a in fleet.warm(warm)) == {400: CONCURRENT}
        answers = fleet.fire([token_event(form, client_id, secret)] * CONCURRENT)
    statuses = Counter(a[0] for a in answers)
    bodies = [json.loads(a[2]) for a in answers]
    won = [b for a, b in zip(answers, bodies, strict=True) if a[0] == 200]
    lost = [b for a, b in zip(answers, bodies, strict=True) if a[0] != 200]
    at_once = sum(AT_ONCE in b.get("error_description", "") for b in lost)
    reused = sum(REUSED in b.get("error_description", "") for b in lost)
    stored = family(dynamodb, tables, presented)
    print(
        f"\n{CONCURRENT} refreshes of one token at once: {dict(statuses)}; refused at the "
        f"same moment {at_once}, as reuse {reused}; family revoked: {'revoked_at' in stored}"
    )
    assert statuses == {200: 1, 400: CONCURRENT - 1}, [a[:3] for a in answers]
    assert all(b["error"] == "invalid_grant" for b in lost), lost
    assert at_once + reused == CONCURRENT - 1, lost
    (winner,) = won
    assert family_of(winner["refresh_token"]) == family_of(presented)
    assert stored["current_sha256"]["B"] == refresh_sha256(winner["refresh_token"])
    assert stored["previous_sha256"]["B"] == refresh_sha256(presented)
    issued = {id_of(first["access_token"]), id_of(winner["access_token"])}
    assert set(stored["access_tokens"]["M"]) == issued
    assert {t["token_id"]["S"] for t in tokens_of(dynamodb, tables, name)} == issued
    families = dynamodb.scan(
        TableName=tables["refresh_tokens"],
        ConsistentRead=True,
        FilterExpression="username = :u",
        ExpressionAttributeValues={":u": {"S": name}},
    )["Items"]
    assert len(families) == 1, families
    if reused:
        assert "revoked_at" in stored
        assert active(session, winner["access_token"]) is False
        why, wrote = writes_during(lambda: refused(session, winner["refresh_token"]))
        assert "revoked" in why and wrote == [], (why, wrote)
    else:
        assert "revoked_at" not in stored
        assert active(session, winner["access_token"]) is True
        again = dict(session.refresh_token(refresh_token=winner["refresh_token"]))
        assert again["refresh_token"] != winner["refresh_token"]
