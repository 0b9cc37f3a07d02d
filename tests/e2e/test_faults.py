"""AWS faults, against moto behind a proxy that can fail on demand: the function answers
503 (never 500, never a token it did not store) and recovers without a restart."""

import hashlib
import json
import os
import signal
import subprocess
import time

import pytest

import local_moto
from conftest import (
    QUAY_REDIRECT,
    ROOT,
    admin,
    basic,
    failed_logins,
    require,
    token_from,
    tokens_of,
    v2_event,
    wait_out_back_off,
)
from fault_proxy import FaultProxy
from tokens import id_of, secret_of

QUAY_AUTH = "Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl"
FORM = "client_id=some_client_id&redirect_uri=" + QUAY_REDIRECT + "&scope=repo:read"


@pytest.fixture
def proxies():
    upstream = require("AWS_ENDPOINT_URL")
    ddb, ssm = FaultProxy(upstream), FaultProxy(upstream)
    yield ddb, ssm
    ddb.close()
    ssm.close()


def through(ddb, ssm, **extra):
    return dict(AWS_ENDPOINT_URL_DYNAMODB=ddb.url, AWS_ENDPOINT_URL_SSM=ssm.url, **extra)


def token_count(dynamodb, tables):
    return dynamodb.scan(TableName=tables["tokens"], Select="COUNT")["Count"]


def assert_503(status, headers, body):
    assert status == 503, body
    assert json.loads(body)["error"] == "temporarily_unavailable"
    assert int(headers["retry-after"]) >= 1
    assert "location" not in headers


def test_ssm_failing_after_expiry_serves_the_last_list_for_a_bounded_time(
    proxies, start_function, reset_failures
):
    """Past the cache time, while SSM fails, the last list keeps answering; past cache +
    stale time it does not (503), and the same process recovers when SSM does. Two
    instances, so that every verdict waits only for a lower bound: one with a stale time
    far longer than the test (a slow first request cannot push the second past it), one
    with a short stale time that the test waits out."""
    ddb, ssm = proxies
    reset_failures("username")
    ok = v2_event(FORM, QUAY_AUTH)
    serving = start_function(
        **through(
            ddb,
            ssm,
            DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=1,
            DIRECT_OAUTH_WHITELIST_STALE_SECONDS=600,
        )
    )
    bounded = start_function(
        **through(
            ddb, ssm, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=1, DIRECT_OAUTH_WHITELIST_STALE_SECONDS=1
        )
    )
    assert serving.invoke(ok)[0] == 302
    assert bounded.invoke(ok)[0] == 302
    # Each list was fetched at its request's start, before this moment.
    fetched_by = time.time()
    ssm.mode = "refuse"
    time.sleep(1.2)  # past the cache time of both
    mark = ssm.mark()
    assert serving.invoke(ok)[0] == 302, "stale list served while SSM fails"
    assert ssm.wait_for("AmazonSSM.GetParameter", "refuse", since=mark), (
        "the list was past its cache time: the request asked SSM (beside it)"
    )
    # Past the short instance's cache + stale time (1 + 1 s): no list to serve.
    time.sleep(max(0.0, fetched_by + 2.2 - time.time()))
    assert_503(*bounded.invoke(ok))
    ssm.mode = "pass"
    time.sleep(1.1)  # past the pause after the failed fetch
    assert bounded.invoke(ok)[0] == 302, "recovers when SSM does"


def test_a_due_whitelist_refreshes_beside_the_request_that_finds_it(
    proxies, start_function, make_user
):
    """Past the cache time, within the stale bound: the request is answered from the held
    list while SSM has not answered yet, and the refresh it started is what the next
    request sees (here: a client removed from the whitelist is refused).

    Judged by what the proxy recorded, not by how fast the answers come. The refresh
    lands with a list dated from the start of the request that started it, due in turn
    1 s after that: on a slow machine the request that sees it may find it due and start
    a refresh of its own (sent after its answer, or before). Only the SSM calls recorded
    before that request count, each SDK call once (an attempt that timed out and was
    retried is still one refresh)."""
    ddb, ssm = proxies
    name, password = make_user()
    client = "refresh_" + name.replace("-", "_")
    admin("app", "add", client, "--redirect-uri", "https://refresh.example/cb")
    admin("whitelist", "add", client)
    try:
        f = start_function(
            **through(
                ddb,
                ssm,
                DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=1,
                DIRECT_OAUTH_WHITELIST_STALE_SECONDS=600,
            )
        )
        ok = v2_event(f"client_id={client}&scope=repo:read", basic(name, password))
        assert f.invoke(ok)[0] == 302
        admin("whitelist", "remove", client)
        ssm.fail_operations("AmazonSSM.GetParameter", how="hold", times=1)
        time.sleep(1.1)
        mark = ssm.mark()
        # SSM no longer lists the client: only the held list can answer 302, and SSM is
        # held until this answer is in.
        assert f.invoke(ok)[0] == 302, "answered from the held list"
        assert ssm.wait_for("AmazonSSM.GetParameter", "hold", since=mark), (
            "the request that found the list due started a refresh"
        )
        # While that refresh is held, the next request is answered from the held list too
        # (a quick one, so SSM is not held long: check 4 passes, then no credentials), and
        # starts no refresh of its own.
        status, _, body = f.invoke(v2_event(f"client_id={client}&scope=repo:read", None))
        assert (
            status == 401
            and json.loads(body)["error_description"]
            == "Basic credentials are missing or malformed"
        ), body
        ssm.release()
        deadline = time.time() + 30
        while True:  # the refresh may still be landing
            cut = ssm.mark()
            status, _, body = f.invoke(ok)
            if status != 302 or time.time() > deadline:
                break
            time.sleep(0.1)
        assert status == 403 and json.loads(body)["error"] == "unauthorized_client", body
        asks = [
            attempts for _, attempts, _ in ssm.operations(mark, cut, op="AmazonSSM.GetParameter")
        ]
        assert len(asks) == 1 and asks[0][0] == "hold", (
            "one refresh, started by the request that found the list due and not waited for",
            asks,
        )
    finally:
        admin("whitelist", "remove", client, check=False)


def test_dynamodb_unreachable_is_503_then_recovers(
    proxies, start_function, dynamodb, tables, reset_failures
):
    ddb, ssm = proxies
    reset_failures("username")
    f = start_function(**through(ddb, ssm))
    ok = v2_event(FORM, QUAY_AUTH)
    before = token_count(dynamodb, tables)
    ddb.mode = "refuse"
    assert_503(*f.invoke(ok))
    assert token_count(dynamodb, tables) == before
    ddb.mode = "pass"
    assert f.invoke(ok)[0] == 302


def test_dynamodb_throttling_is_503(proxies, start_function, reset_failures):
    ddb, ssm = proxies
    reset_failures("username")
    f = start_function(**through(ddb, ssm))
    ddb.mode = "throttle"
    assert_503(*f.invoke(v2_event(FORM, QUAY_AUTH)))


def test_a_failed_token_condition_is_retried_once_with_a_new_id(
    proxies, start_function, dynamodb, tables, reset_failures
):
    ddb, ssm = proxies
    reset_failures("username")
    f = start_function(**through(ddb, ssm))
    ok = v2_event(FORM, QUAY_AUTH)
    before = token_count(dynamodb, tables)
    ddb.mode, ddb.conflicts = "conflict", 1
    mark = ddb.mark()
    status, headers, _ = f.invoke(ok)
    assert status == 302
    # Counted by SDK call: an attempt that a slow machine timed out is not a new write.
    writes = ddb.operations(mark, op="TransactWriteItems")
    assert [attempts[0] for _, attempts, _ in writes] == ["conflict", "forwarded"], writes
    ids = [written_token_id(bodies[0]) for _, _, bodies in writes]
    assert ids[0] != ids[1], "the retry writes a new id"
    assert id_of(token_from(headers["location"])) == ids[1]
    assert token_count(dynamodb, tables) == before + 1

    ddb.conflicts = 2
    mark = ddb.mark()
    status, headers, body = f.invoke(ok)
    assert status == 500 and json.loads(body)["error"] == "server_error"
    assert "location" not in headers
    writes = ddb.operations(mark, op="TransactWriteItems")
    assert [attempts for _, attempts, _ in writes] == [["conflict"], ["conflict"]], writes
    assert token_count(dynamodb, tables) == before + 1


def written_token_id(body):
    """The token id a token write (TransactWriteItems) puts."""
    puts = [i["Put"] for i in body["TransactItems"] if "Put" in i]
    return puts[0]["Item"]["token_id"]["S"]


def provision(endpoint):
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    admin = os.path.join(
        os.path.dirname(__file__), "..", "..", "target", "debug", "direct-oauth-admin"
    )

    def run(*a, stdin=None):
        return subprocess.run(
            [admin, *a], env=env, input=stdin, text=True, capture_output=True, check=True
        )

    run("init")
    run("user", "add", "username", "--password-stdin", stdin="passwordhere\n")
    run("app", "add", "some_client_id", "--redirect-uri", QUAY_REDIRECT)
    run("whitelist", "add", "some_client_id")


def test_moto_stopped_and_restarted_mid_run(start_function):
    require("AWS_ENDPOINT_URL")
    # A private moto on a port of its own (retried if the port is taken before moto binds).
    moto, port = local_moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        provision(endpoint)
        f = start_function(
            AWS_ENDPOINT_URL=endpoint,
            DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=0,
            DIRECT_OAUTH_WHITELIST_STALE_SECONDS=0,
        )
        ok = v2_event(FORM, QUAY_AUTH)
        assert f.invoke(ok)[0] == 302
        os.killpg(moto.pid, signal.SIGKILL)
        moto.wait()
        time.sleep(1.1)  # past the whitelist retry pause
        assert_503(*f.invoke(ok))
        moto, _ = local_moto.start(port)  # the function's endpoint: the same port
        provision(endpoint)
        time.sleep(1.1)
        assert f.invoke(ok)[0] == 302, "the same process recovers"
    finally:
        os.killpg(moto.pid, signal.SIGKILL)
        moto.wait()


# ---- Writes that fail after a successful read ----

LONG_CACHE = dict(DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=3600)


def outcomes(requests):
    return [(op, outcome) for op, _, outcome in requests]


def ops(seen, outcome=None):
    """The operations seen, with the given outcome if one is given, as a sorted list."""
    return sorted(op for op, o in seen if outcome is None or o == outcome)


@pytest.mark.parametrize("how", ["refuse", "internal", "throttle"])
def test_a_token_write_failing_after_the_read_is_503_without_a_token(
    proxies, start_function, dynamodb, tables, make_user, how
):
    ddb, ssm = proxies
    name, password = make_user()
    f = start_function(**through(ddb, ssm, **LONG_CACHE))
    ddb.fail_operations("TransactWriteItems", how=how)
    mark = ddb.mark()
    assert_503(*f.invoke(v2_event(FORM, basic(name, password))))
    seen = outcomes(ddb.since(mark))
    # The read and the admission succeeded; the token write failed (each SDK attempt);
    # the lease was given up beside it (an UpdateItem too).
    assert ops(seen, "forwarded") == ["BatchGetItem", "UpdateItem", "UpdateItem"], seen
    assert ops(seen, how) == ["TransactWriteItems"] * 2, seen
    assert tokens_of(dynamodb, tables, name) == []
    # The same process issues once the write goes through again.
    ddb.heal()
    status, headers, _ = f.invoke(v2_event(FORM, basic(name, password)))
    assert status == 302 and "#access_token=" in headers["location"]
    assert len(tokens_of(dynamodb, tables, name)) == 1


def test_a_failing_token_write_hands_out_nothing_and_frees_the_name(
    proxies, start_function, dynamodb, tables, make_user
):
    """After a failure, a success writes the token and, beside it, gives its lease up; the
    count stays (it decays with time for every name: a reset would tell a prober that the
    name was used). When the token write fails, no token exists, the lease is given up all
    the same, and the name is free for the client's retry."""
    ddb, ssm = proxies
    name, password = make_user()
    f = start_function(**through(ddb, ssm, **LONG_CACHE))
    assert f.invoke(v2_event(FORM, basic(name, "wrong")))[0] == 401
    before = failed_logins(dynamodb, tables, name)
    assert before and before["failures"]["N"] == "1"
    wait_out_back_off(dynamodb, tables, name)
    ddb.fail_operations("TransactWriteItems", how="internal")
    mark = ddb.mark()
    assert_503(*f.invoke(v2_event(FORM, basic(name, password))))
    seen = outcomes(ddb.since(mark))
    assert ops(seen, "internal") == ["TransactWriteItems"] * 2, seen
    assert tokens_of(dynamodb, tables, name) == []
    after = failed_logins(dynamodb, tables, name)
    assert after["failures"]["N"] == "1" and "lease_id" not in after, "count kept, name free"
    ddb.heal()
    assert f.invoke(v2_event(FORM, basic(name, password)))[0] == 302, "the retry succeeds"


def test_a_failure_count_write_failing_is_503_without_a_token(
    proxies, start_function, dynamodb, tables, make_user
):
    """endpoints/direct_approval: a failed login whose count cannot be written answers 503
    (temporarily_unavailable, Retry-After), not 401: the count is never silently lost."""
    ddb, ssm = proxies
    name, password = make_user()
    f = start_function(**through(ddb, ssm, **LONG_CACHE))
    # Only the count's write (ADD failures); the admission, also an UpdateItem, passes.
    ddb.fail_operations("UpdateItem", how="refuse", matching="ADD failures")
    for user in (name, name + "-nobody"):  # wrong password, unknown user
        mark = ddb.mark()
        status, headers, body = f.invoke(v2_event(FORM, basic(user, "wrong")))
        assert_503(status, headers, body)
        assert "www-authenticate" not in headers
        seen = ddb.since(mark)
        counts = [b for op, b, o in seen if op == "UpdateItem" and o == "refuse"]
        assert counts and all("ADD failures" in b["UpdateExpression"] for b in counts), seen
        record = failed_logins(dynamodb, tables, user)
        assert record is None or "failures" not in record, record
    assert tokens_of(dynamodb, tables, name) == []
    # Only that write fails: the right password still gets a token, once the name's
    # lease, left by the failed count, has ended (as the record says: a lower bound).
    record = failed_logins(dynamodb, tables, name) or {}
    if "lease_until_ms" in record:
        time.sleep(max(0.0, int(record["lease_until_ms"]["N"]) / 1000 + 0.05 - time.time()))
    status, headers, _ = f.invoke(v2_event(FORM, basic(name, password)))
    assert status == 302 and "#access_token=" in headers["location"]
    assert len(tokens_of(dynamodb, tables, name)) == 1
    ddb.heal()
    assert f.invoke(v2_event(FORM, basic(name, "wrong")))[0] == 401
    assert failed_logins(dynamodb, tables, name)["failures"]["N"] == "1"


def test_a_lost_answer_to_the_token_write_hands_out_the_stored_token_alone(
    proxies, start_function, dynamodb, tables, make_user
):
    """moto stores the token but its answer is lost (the connection drops after the
    write). The SDK's retry then meets the id's condition; the function sees its own token
    there and hands it out: one record, no orphan. (DynamoDB itself answers such a retry
    with success, through the write's ClientRequestToken; moto ignores that token.)"""
    ddb, ssm = proxies
    name, password = make_user()
    f = start_function(**through(ddb, ssm, **LONG_CACHE))
    ddb.fail_operations("TransactWriteItems", how="lost", times=1)
    status, headers, body = f.invoke(v2_event(FORM, basic(name, password)))
    assert status == 302, body
    token = headers["location"].split("access_token=")[1].split("&")[0]
    writes = [o for op, o in outcomes(ddb.since(0)) if op == "TransactWriteItems"]
    assert writes == ["lost", "forwarded"], writes
    stored = {i["token_id"]["S"]: i for i in tokens_of(dynamodb, tables, name)}
    assert list(stored) == [id_of(token)], "the token handed out, and no other"
    secret_sha256 = hashlib.sha256(secret_of(token).encode()).digest()
    assert stored[id_of(token)]["secret_sha256"]["B"] == secret_sha256


def test_answers_lost_on_every_attempt_are_503_without_a_location(
    proxies, start_function, make_user
):
    """Both SDK attempts of the token write are stored by moto and their answers lost: the
    function cannot know the write happened, so it hands out nothing and answers 503."""
    ddb, ssm = proxies
    name, password = make_user()
    f = start_function(**through(ddb, ssm, **LONG_CACHE))
    ddb.fail_operations("TransactWriteItems", how="lost")
    assert_503(*f.invoke(v2_event(FORM, basic(name, password))))
    writes = [o for op, o in outcomes(ddb.since(0)) if op == "TransactWriteItems"]
    assert writes == ["lost", "lost"], writes


@pytest.mark.parametrize("command", [("user", "disable"), ("token", "revoke", "--user")])
def test_an_operator_command_whose_token_writes_fail_leaves_no_valid_token(
    proxies, post, make_user, tables, command
):
    """`user disable` and `token revoke --user` with every write to the tokens table
    throttled: whatever the command says, no token of the user passes a check afterwards.
    (Before, both flipped the user and then marked each token: a write failing midway left
    the user disabled, or its tokens revoked in name, with working tokens.)"""
    ddb, ssm = proxies
    name, password = make_user()
    tokens = []
    for _ in range(2):
        reply = post(FORM, auth=basic(name, password))
        assert reply.status == 302, reply.body
        tokens.append(token_from(reply.header("location")))
    ddb.fail_operations("UpdateItem", how="throttle", matching=tables["tokens"])
    env = dict(os.environ, **through(ddb, ssm))
    done = subprocess.run(
        [os.path.join(ROOT, "target", "debug", "direct-oauth-admin"), *command, name, "--yes"],
        env=env,
        capture_output=True,
        text=True,
    )
    throttled = [op for op, _, outcome in ddb.requests if outcome == "throttle"]
    print(
        f"\n{' '.join(command)} with the tokens table throttled: exit {done.returncode}, "
        f"token writes refused {len(throttled)}"
    )
    for token in tokens:
        verdict = admin("token", "verify", stdin=token, check=False)
        assert verdict.returncode == 1, (command, verdict.stdout)
