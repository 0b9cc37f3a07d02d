"""The binary started by hand on a local Lambda Runtime API, to control its environment:
here, an SSM that cannot be reached at cold start."""

import json
import os
import subprocess

import pytest

from conftest import ROOT, require
from runtime_api import RuntimeApi

BINARY = os.path.join(ROOT, "target", "debug", "authorize-app")


def event(door, scenario):
    with open(os.path.join(ROOT, "events", door, scenario + ".json")) as f:
        return json.load(f)


@pytest.fixture
def runtime():
    require("AWS_ENDPOINT_URL")
    api = RuntimeApi()
    yield api
    api.close()


def count_tokens(dynamodb, tables):
    return dynamodb.scan(TableName=tables["tokens"], Select="COUNT")["Count"]


def test_ssm_unreachable_at_cold_start_is_503(runtime, dynamodb, tables, reset_failures):
    reset_failures("username")
    before = count_tokens(dynamodb, tables)
    env = dict(os.environ, AWS_ENDPOINT_URL_SSM="http://127.0.0.1:9")
    proc = runtime.start_function(BINARY, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        kind, reply, _ = runtime.invoke(event("apigw-http-v2", "success"))
    finally:
        proc.kill()
        proc.wait()
    assert kind == "response", reply
    assert reply["statusCode"] == 503
    assert json.loads(reply["body"])["error"] == "temporarily_unavailable"
    assert "retry-after" in {k.lower() for k in reply["headers"]}
    assert "location" not in {k.lower() for k in reply["headers"]}
    assert count_tokens(dynamodb, tables) == before


def test_the_same_binary_issues_when_ssm_is_there(runtime, reset_failures):
    reset_failures("username")
    proc = runtime.start_function(
        BINARY, dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _kind, reply, _ = runtime.invoke(event("apigw-http-v2", "success"))
    finally:
        proc.kill()
        proc.wait()
    assert reply["statusCode"] == 302
    assert "#access_token=" in reply["headers"]["location"]
