"""DPoP (RFC 9449) end to end, with every proof made by a third-party JOSE library,
joserfc (https://jose.authlib.org): a direct approval with a proof gets a token bound to
the client's key; the attacks of RFC 9449 §11 are each refused; one proof sent to several
instances at once gets one token; the code flow's exchange binds too, introspection shows
the key, and the authorizer takes a bound token only with a proof by its key."""

import base64
import hashlib
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlsplit

import pytest
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwk, jws

from conftest import ROOT, admin, basic, http_request, require, v2_event
from test_authorizer import event_path, invoke
from test_code_flow import REDIRECT, code_for, introspect, register
from test_code_flow import approve as approve_code
from tokens import id_of

pytestmark = pytest.mark.usefixtures("aws_stack")

FORM = (
    "client_id=some_client_id&redirect_uri=https://my/internal/application/token_created"
    "&scope=repo:read"
)
# The sample authorizer events' API (tools/gen_events.py).
WHOAMI = "https://abcdef123.execute-api.us-east-1.amazonaws.com/whoami"


class Client:
    """A DPoP client: its own key pair, a proof per request."""

    def __init__(self, key=None):
        self.key = key or jwk.ECKey.generate_key("P-256")

    def jkt(self):
        return self.key.thumbprint()

    def proof(self, htm, htu, iat=None, token=None, nonce=None, header=None, jti=None):
        claims = {
            "jti": jti or uuid.uuid4().hex,
            "htm": htm,
            "htu": htu,
            "iat": int(time.time()) if iat is None else iat,
        }
        if token:
            claims["ath"] = b64(hashlib.sha256(token.encode()).digest())
        if nonce:
            claims["nonce"] = nonce
        protected = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.key.as_dict(private=False)}
        protected.update(header or {})
        return jws.serialize_compact(protected, json.dumps(claims), self.key)


def b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unsigned(htm, htu):
    """`alg: none`: no library signs that, so it is put together by hand."""
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": Client().key.as_dict(private=False)}
    claims = {"jti": uuid.uuid4().hex, "htm": htm, "htu": htu, "iat": int(time.time())}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def hmac_proof(htm, htu):
    key = jwk.OctKey.import_key(b"a shared secret of thirty-two by")
    claims = {"jti": uuid.uuid4().hex, "htm": htm, "htu": htu, "iat": int(time.time())}
    return jws.serialize_compact(
        {"typ": "dpop+jwt", "alg": "HS256"}, json.dumps(claims), key, algorithms=["HS256"]
    )


def approve(endpoint, user, proof, form=FORM):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic(*user)}
    if proof is not None:
        headers["DPoP"] = proof
    return http_request(endpoint, body=form, headers=headers)


def tokens_bound_to(dynamodb, tables, username, jkt):
    items = dynamodb.scan(
        TableName=tables["tokens"],
        ConsistentRead=True,
        FilterExpression="username = :u",
        ExpressionAttributeValues={":u": {"S": username}},
    )["Items"]
    return [i for i in items if i.get("dpop_jkt", {}).get("S") == jkt]


@pytest.fixture
def user(make_user):
    return make_user("dpop user pw")


def test_a_proof_gets_a_token_bound_to_its_key(endpoint, user, dynamodb, tables):
    client = Client()
    reply = approve(endpoint, user, client.proof("POST", endpoint))
    assert reply.status == 302, reply.body
    fragment = dict(reply.fragment())
    assert fragment["token_type"] == "DPoP"
    (record,) = tokens_bound_to(dynamodb, tables, user[0], client.jkt())
    assert record["token_id"]["S"] == id_of(fragment["access_token"])
    plain = approve(endpoint, user, None)
    assert dict(plain.fragment())["token_type"] == "Bearer", "no proof, no binding"


ATTACKS = {
    # case: (how the proof is made from (client, endpoint), the error)
    "wrong htm": (lambda c, e: c.proof("PUT", e), "invalid_dpop_proof"),
    "wrong htu": (
        lambda c, e: c.proof("POST", e.replace("authorizeapp", "token")),
        "invalid_dpop_proof",
    ),
    "old iat": (lambda c, e: c.proof("POST", e, iat=int(time.time()) - 600), "invalid_dpop_proof"),
    "future iat": (
        lambda c, e: c.proof("POST", e, iat=int(time.time()) + 600),
        "invalid_dpop_proof",
    ),
    "alg none": (lambda c, e: unsigned("POST", e), "invalid_dpop_proof"),
    "HMAC": (lambda c, e: hmac_proof("POST", e), "invalid_dpop_proof"),
    "a private key in the header": (
        lambda c, e: c.proof("POST", e, header={"jwk": c.key.as_dict(private=True)}),
        "invalid_dpop_proof",
    ),
    "a proof for another key": (
        lambda c, e: c.proof("POST", e, header={"jwk": Client().key.as_dict(private=False)}),
        "invalid_dpop_proof",
    ),
    "typ JWT": (lambda c, e: c.proof("POST", e, header={"typ": "JWT"}), "invalid_dpop_proof"),
    "two proofs in one header": (
        lambda c, e: c.proof("POST", e) + "," + c.proof("POST", e),
        "invalid_dpop_proof",
    ),
}


@pytest.mark.parametrize("case", ATTACKS)
def test_each_attack_is_refused_and_writes_no_token(case, endpoint, user, dynamodb, tables):
    make, error = ATTACKS[case]
    client = Client()
    reply = approve(endpoint, user, make(client, endpoint))
    assert (reply.status, reply.json()["error"]) == (400, error), reply.body
    assert "location" not in reply.headers
    assert tokens_bound_to(dynamodb, tables, user[0], client.jkt()) == []


def instance_event(user, proof):
    event = v2_event(form=FORM, auth=basic(*user))
    event["headers"]["dpop"] = proof
    return event


def test_a_proof_replayed_on_another_instance_is_refused(endpoint, user, start_function):
    client = Client()
    proof = client.proof("POST", endpoint)
    assert approve(endpoint, user, proof).status == 302
    other = start_function()
    status, _, body = other.invoke(instance_event(user, proof))
    assert (status, json.loads(body)["error"]) == (400, "invalid_dpop_proof"), body
    assert "already used" in json.loads(body)["error_description"]


def test_one_proof_on_many_instances_at_once_gets_one_token(user, start_function, dynamodb, tables):
    endpoint = require("E2E_ENDPOINT")
    instances = [start_function() for _ in range(4)]
    # Each answers once first, so the race below is between warm instances.
    for f in instances:
        assert f.invoke(v2_event(method="GET"))[0] == 405
    client = Client()
    proof = client.proof("POST", endpoint)
    with ThreadPoolExecutor(len(instances)) as pool:
        answers = list(pool.map(lambda f: f.invoke(instance_event(user, proof)), instances))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [302, 400, 400, 400], answers
    assert len(tokens_bound_to(dynamodb, tables, user[0], client.jkt())) == 1, "what was stored"


def test_an_application_that_requires_dpop_refuses_a_request_without_a_proof(endpoint, user):
    client_id = "dpop_" + uuid.uuid4().hex[:8]
    admin("app", "add", client_id, "--redirect-uri", REDIRECT, "--require-dpop")
    admin("whitelist", "add", client_id)
    time.sleep(1.1)  # the test stack's whitelist cache
    form = f"client_id={client_id}&redirect_uri={REDIRECT}&scope=repo:read"
    refused = approve(endpoint, user, None, form)
    assert (refused.status, refused.json()["error"]) == (400, "invalid_dpop_proof")
    client = Client()
    ok = approve(endpoint, user, client.proof("POST", endpoint), form)
    assert ok.status == 302 and dict(ok.fragment())["token_type"] == "DPoP"
    listed = json.loads(admin("app", "list", "--output", "json").stdout)
    assert next(a for a in listed if a["client_id"] == client_id)["require_dpop"] is True
    admin("app", "update", client_id, "--no-require-dpop")
    assert approve(endpoint, user, None, form).status == 302


def test_the_exchange_binds_the_token_and_introspection_shows_the_key(endpoint, user):
    time.sleep(1.1)
    client_id, secret = register()
    time.sleep(1.1)  # the whitelist cache
    base = endpoint.rsplit("/oauth/authorizeapp", 1)[0]
    verifier = "v" * 50
    code = code_for(base, client_id, *user, verifier)["code"]
    token_url = base + "/oauth/access_token"
    client = Client()
    form = (
        f"grant_type=authorization_code&code={code}&code_verifier={verifier}"
        f"&redirect_uri={REDIRECT}"
    )
    reply = http_request(
        token_url,
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": basic(client_id, secret),
            "DPoP": client.proof("POST", token_url),
        },
    )
    assert reply.status == 200, reply.body
    issued = reply.json()
    assert issued["token_type"] == "DPoP"
    seen = introspect(base, client_id, secret, issued["access_token"])
    assert seen["active"] is True
    assert (seen["token_type"], seen["cnf"]) == ("DPoP", {"jkt": client.jkt()})


def test_a_code_asked_for_with_dpop_jkt_is_redeemed_only_by_that_key(endpoint, user):
    time.sleep(1.1)
    client_id, secret = register()
    time.sleep(1.1)  # the whitelist cache
    base = endpoint.rsplit("/oauth/authorizeapp", 1)[0]
    client, verifier = Client(), "w" * 50
    # Authlib builds the authorization request; dpop_jkt is joserfc's thumbprint (§10).
    session = OAuth2Session(
        client_id, None, scope="repo:read", redirect_uri=REDIRECT, code_challenge_method="S256"
    )
    location, _ = approve_code(base, session, *user, verifier, dpop_jkt=client.jkt())
    code = dict(parse_qsl(urlsplit(location).query))["code"]
    token_url = base + "/oauth/token"
    form = (
        f"grant_type=authorization_code&code={code}&code_verifier={verifier}"
        f"&redirect_uri={REDIRECT}"
    )

    def exchange(proof):
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": basic(client_id, secret),
        }
        if proof:
            headers["DPoP"] = proof
        return http_request(token_url, body=form, headers=headers)

    for proof in (None, Client().proof("POST", token_url)):
        refused = exchange(proof)
        assert (refused.status, refused.json()["error"]) == (400, "invalid_grant"), refused.body
    reply = exchange(client.proof("POST", token_url))
    assert reply.status == 200, "the refusals did not use the code up: " + reply.body
    seen = introspect(base, client_id, secret, reply.json()["access_token"])
    assert seen["cnf"] == {"jkt": client.jkt()}


def authorizer_event(authorization, proof=None):
    with open(event_path("http-api-v2", "valid")) as f:
        event = json.load(f)
    event["headers"]["authorization"] = authorization
    event["identitySource"] = [authorization]
    if proof:
        event["headers"]["dpop"] = proof
    return event


def test_the_authorizer_takes_a_bound_token_only_with_a_fresh_proof_by_its_key(endpoint, user):
    client = Client()
    reply = approve(endpoint, user, client.proof("POST", endpoint))
    token = dict(reply.fragment())["access_token"]
    proof = client.proof("GET", WHOAMI, token=token)
    answer, err = invoke(authorizer_event("DPoP " + token, proof), "dpop-valid")
    assert answer and answer["isAuthorized"] is True, (answer, err)
    refused = {
        "the same proof again": authorizer_event("DPoP " + token, proof),
        "the bound token as Bearer": authorizer_event("Bearer " + token),
        "no ath": authorizer_event("DPoP " + token, client.proof("GET", WHOAMI)),
        "another key's proof": authorizer_event(
            "DPoP " + token, Client().proof("GET", WHOAMI, token=token)
        ),
        "another URL's proof": authorizer_event(
            "DPoP " + token, client.proof("GET", WHOAMI + "x", token=token)
        ),
    }
    for case, event in refused.items():
        answer, err = invoke(event, "dpop-" + case.replace(" ", "-").replace("'", ""))
        assert answer == {"isAuthorized": False}, (case, answer, err)


def test_with_nonces_the_server_names_the_one_to_use(user, start_function):
    endpoint = require("E2E_ENDPOINT")
    instance = start_function(DIRECT_OAUTH_DPOP_NONCE_SECONDS=300)
    client = Client()
    status, headers, body = instance.invoke(instance_event(user, client.proof("POST", endpoint)))
    assert (status, json.loads(body)["error"]) == (400, "use_dpop_nonce"), body
    nonce = headers["dpop-nonce"]
    with_nonce = client.proof("POST", endpoint, nonce=nonce)
    status, headers, body = instance.invoke(instance_event(user, with_nonce))
    assert status == 302, body


def test_the_readme_s_script_gets_a_bound_token_with_curl(endpoint, user, tmp_path):
    """The README's client section, as a user runs it: the script's proof, curl's request."""
    import subprocess
    import sys

    script = [sys.executable, f"{ROOT}/examples/dpop_proof.py", str(tmp_path / "key.jwk")]
    proof = subprocess.run(
        [*script, "POST", endpoint], capture_output=True, text=True, check=True
    ).stdout.strip()
    out = subprocess.run(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "-X",
            "POST",
            endpoint,
            "-u",
            ":".join(user),
            "-H",
            f"DPoP: {proof}",
            "--data",
            FORM,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "token_type=DPoP" in out, out
    assert (tmp_path / "key.jwk").stat().st_mode & 0o077 == 0, "the key is the client's alone"
