"""AWS faults, against moto behind a proxy that can fail on demand: the function answers
503 (never 500, never a token it did not store) and recovers without a restart."""

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import QUAY_REDIRECT, admin, require, v2_event
from fault_proxy import FaultProxy

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
        proxies, start_function, reset_failures):
    ddb, ssm = proxies
    reset_failures("username")
    f = start_function(**through(ddb, ssm, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=1,
                                 DIRECT_OAUTH_WHITELIST_STALE_SECONDS=2))
    ok = v2_event(FORM, QUAY_AUTH)
    assert f.invoke(ok)[0] == 302
    ssm.mode = "refuse"
    time.sleep(1.2)
    assert f.invoke(ok)[0] == 302, "stale list served while SSM fails"
    time.sleep(2.2)
    assert_503(*f.invoke(ok))
    ssm.mode = "pass"
    time.sleep(1.1)
    assert f.invoke(ok)[0] == 302, "recovers when SSM does"


def test_dynamodb_unreachable_is_503_then_recovers(proxies, start_function, dynamodb, tables,
                                                   reset_failures):
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
        proxies, start_function, dynamodb, tables, reset_failures):
    ddb, ssm = proxies
    reset_failures("username")
    f = start_function(**through(ddb, ssm))
    ok = v2_event(FORM, QUAY_AUTH)
    before = token_count(dynamodb, tables)
    ddb.mode, ddb.conflicts = "conflict", 1
    status, headers, _ = f.invoke(ok)
    assert status == 302
    puts = [c for c in ddb.calls if c.endswith(".PutItem")]
    assert len(puts) == 2
    assert token_count(dynamodb, tables) == before + 1

    ddb.conflicts = 2
    status, headers, body = f.invoke(ok)
    assert status == 500 and json.loads(body)["error"] == "server_error"
    assert "location" not in headers
    assert token_count(dynamodb, tables) == before + 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(port):
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto did not start")


def provision(endpoint):
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    run = lambda *a, stdin=None: subprocess.run(  # noqa: E731
        [os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug",
                      "direct-oauth-admin"), *a], env=env, input=stdin, text=True,
        capture_output=True, check=True)
    run("init")
    run("user", "add", "username", "--password-stdin", stdin="passwordhere\n")
    run("app", "add", "some_client_id", "--redirect-uri", QUAY_REDIRECT)
    run("whitelist", "add", "some_client_id")


def test_moto_stopped_and_restarted_mid_run(start_function):
    require("AWS_ENDPOINT_URL")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = start_moto(port)
    try:
        provision(endpoint)
        f = start_function(AWS_ENDPOINT_URL=endpoint, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=0,
                           DIRECT_OAUTH_WHITELIST_STALE_SECONDS=0)
        ok = v2_event(FORM, QUAY_AUTH)
        assert f.invoke(ok)[0] == 302
        os.killpg(moto.pid, signal.SIGKILL)
        moto.wait()
        time.sleep(1.1)  # past the whitelist retry pause
        assert_503(*f.invoke(ok))
        moto = start_moto(port)
        provision(endpoint)
        time.sleep(1.1)
        assert f.invoke(ok)[0] == 302, "the same process recovers"
    finally:
        os.killpg(moto.pid, signal.SIGKILL)
        moto.wait()
