"""No write before authentication (issue 32): a request refused by the whitelist, by
client authentication, or for an unknown token writes nothing to DynamoDB, even with a
valid DPoP proof; and a proof without the server's nonce is refused with no write either
(nonces are a MAC over a time window, not stored items). Counted from moto's own call log
(MOTO_CALL_LOG): every write call made while the request was served."""

import json
import os
import time

import pytest

from conftest import basic, http_request, require
from test_authorizer import invoke
from test_code_flow import register
from test_dpop import WHOAMI, Client, approve, authorizer_event, instance_event
from tokens import id_of, made_of, secret_of

pytestmark = pytest.mark.usefixtures("aws_stack")

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
ROWS = []


def writes_during(action):
    """`action`'s result and the DynamoDB writes moto recorded while it ran."""
    path = require("MOTO_CALL_LOG")
    start = os.path.getsize(path)
    result = action()
    # moto writes its line as it answers: a moment lets the last one land.
    time.sleep(0.3)
    with open(path) as f:
        f.seek(start)
        lines = [json.loads(line) for line in f if line.strip()]
    return result, [
        f"{line['op']} {line.get('request', {}).get('TableName', '')}"
        for line in lines
        if line.get("service") == "dynamodb" and line.get("op") in WRITES
    ]


@pytest.fixture
def user(make_user):
    return make_user("refused writes pw")


def test_a_client_off_the_whitelist_writes_nothing(endpoint, user):
    client = Client()
    form = "client_id=not_on_the_list&redirect_uri=https://x.example/cb&scope=repo:read"
    reply, writes = writes_during(
        lambda: approve(endpoint, user, client.proof("POST", endpoint), form=form)
    )
    ROWS.append(("direct approval, client off the whitelist", reply.status, writes))
    assert reply.status == 403, reply.body
    assert json.loads(reply.body)["error"] == "unauthorized_client"
    assert writes == [], writes


def test_a_client_that_fails_authentication_writes_nothing(endpoint):
    client_id, _ = register()
    url = endpoint.rsplit("/oauth/", 1)[0] + "/oauth/access_token"
    form = (
        f"grant_type=authorization_code&code=no-such-code&code_verifier={'v' * 43}"
        f"&client_id={client_id}"
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": basic(client_id, "wrong"),
        "DPoP": Client().proof("POST", url),
    }
    reply, writes = writes_during(lambda: http_request(url, body=form, headers=headers))
    ROWS.append(("token endpoint, wrong client secret", reply.status, writes))
    assert reply.status == 401, reply.body
    assert json.loads(reply.body)["error"] == "invalid_client"
    assert writes == [], writes


def test_an_unknown_or_forged_token_at_the_authorizer_writes_nothing(endpoint, user):
    client = Client()
    token = dict(approve(endpoint, user, client.proof("POST", endpoint)).fragment())["access_token"]
    # Our tokens are a 22-character id and a secret: another id, or another secret.
    flip = {"A": "B"}
    unknown = made_of("".join(flip.get(c, "A") for c in id_of(token)), secret_of(token))
    forged = made_of(id_of(token), "".join(flip.get(c, "A") for c in secret_of(token)))
    for case, presented in [("unknown token", unknown), ("wrong secret", forged)]:
        proof = client.proof("GET", WHOAMI, token=presented)
        (answer, err), writes = writes_during(
            lambda presented=presented, proof=proof: invoke(
                authorizer_event("DPoP " + presented, proof), "refused-writes"
            )
        )
        ROWS.append((f"authorizer, {case} with a valid proof", answer, writes))
        assert answer == {"isAuthorized": False}, (case, answer, err)
        assert writes == [], (case, writes)


def test_a_proof_without_the_nonce_is_refused_with_no_write(user, start_function):
    endpoint = require("E2E_ENDPOINT")
    instance = start_function(DIRECT_OAUTH_DPOP_NONCE_SECONDS=300)
    client = Client()
    # The instance's first ask reads (or, once per stack, makes) the nonces' secret.
    assert instance.invoke(instance_event(user, client.proof("POST", endpoint)))[0] == 400
    for case, proof in [
        ("no nonce", client.proof("POST", endpoint)),
        ("a made-up nonce", client.proof("POST", endpoint, nonce="n" * 32)),
        ("a 3 KB nonce", client.proof("POST", endpoint, nonce="n" * 3000)),
    ]:
        (status, headers, body), writes = writes_during(
            lambda proof=proof: instance.invoke(instance_event(user, proof))
        )
        ROWS.append((f"direct approval, {case}", status, writes))
        assert (status, json.loads(body)["error"]) == (400, "use_dpop_nonce"), (case, body)
        assert headers.get("dpop-nonce"), case
        assert writes == [], (case, writes)
    with_nonce = client.proof("POST", endpoint, nonce=headers["dpop-nonce"])
    status, _, body = instance.invoke(instance_event(user, with_nonce))
    assert status == 302, body


def test_zz_print_the_table():
    print("\n| refused request | answer | DynamoDB writes |\n|---|---|---|")
    for case, answer, writes in ROWS:
        print(f"| {case} | {answer} | {len(writes)} {writes or ''} |")
