"""The record of AWS calls (tests/support/call_log.py) that IAM by evaluation reads: what one line
holds for each kind of request, that moto still gets the whole body, and that the caller
of a connection is found through /proc. Pure Python, with a stand-in for moto."""

import io
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

import call_log

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDAUTHORIZEAPP/20260101/us-east-1/dynamodb/aws4_request,"
    " SignedHeaders=host;x-amz-date, Signature=00"
)


def test_the_credential_and_the_sdk_are_read_from_the_headers():
    assert call_log.credential(AUTH) == ("AKIDAUTHORIZEAPP", "us-east-1", "dynamodb")
    assert call_log.credential(None) == (None, None, None)
    rust = (
        "aws-sdk-rust/1.3.9 ua/2.1 api/dynamodb/1.136.0 os/linux lang/rust/1.90.0 "
        "m/E app/token-authorizer"
    )
    assert call_log.sdk_of(rust) == ("aws-sdk-rust", "token-authorizer")
    assert call_log.sdk_of("Boto3/1.40.0 md/Botocore#1.40.0 ua/2.1") == ("Boto3", None)


def test_the_body_is_summed_up_by_what_names_resources():
    tx = json.dumps(
        {
            "TransactItems": [
                {"Put": {"TableName": "t-tokens", "Item": {"token_id": {"S": "secret"}}}},
                {"ConditionCheck": {"TableName": "t-users", "Key": {}}},
            ]
        }
    ).encode()
    assert call_log.summary("dynamodb", tx, "application/x-amz-json-1.0") == {
        "TransactItems": [["Put", "t-tokens"], ["ConditionCheck", "t-users"]]
    }
    batch = json.dumps({"RequestItems": {"b": {"Keys": []}, "a": {"Keys": []}}}).encode()
    assert call_log.summary("dynamodb", batch, "application/x-amz-json-1.0") == {
        "RequestItems": ["a", "b"]
    }
    query = json.dumps(
        {
            "TableName": "t",
            "IndexName": "by-username",
            "Select": "COUNT",
            "KeyConditionExpression": "username = :u",
        }
    ).encode()
    assert call_log.summary("dynamodb", query, "application/x-amz-json-1.1") == {
        "TableName": "t",
        "IndexName": "by-username",
        "Select": "COUNT",
        "Attributes": ["username"],
    }
    put = json.dumps({"Name": "/p", "Value": "a,b", "Type": "StringList", "Overwrite": True})
    assert call_log.summary("ssm", put.encode(), "application/x-amz-json-1.1") == {
        "Name": "/p",
        "Type": "StringList",
        "Overwrite": True,
    }
    form = b"Action=DescribeStacks&Version=2010-05-15&StackName=st-1"
    assert call_log.summary("cloudformation", form, "application/x-www-form-urlencoded") == {
        "Action": "DescribeStacks",
        "StackName": "st-1",
    }


def test_a_request_on_one_table_names_its_top_level_attributes():
    """dynamodb:Attributes: the key, the item, every expression's names (placeholders
    resolved, a nested path by its first name), never a value or a function."""
    last_use = {
        "TableName": "t-tokens",
        "Key": {"token_id": {"S": "abc"}},
        "UpdateExpression": "SET last_used_at = :now",
        "ConditionExpression": "attribute_exists(token_id) AND "
        "(attribute_not_exists(last_used_at) OR last_used_at <= :since)",
        "ExpressionAttributeValues": {":now": {"N": "2"}, ":since": {"N": "1"}},
    }
    assert call_log.attribute_names(last_use) == ["last_used_at", "token_id"]
    mixed = {
        "Key": {"username": {"S": ":marker"}},
        "UpdateExpression": "SET #s = if_not_exists(#s, :fresh), a.b[0].c = list_append(x, :v) "
        "REMOVE z",
        "ConditionExpression": "size(#1) > :one AND k BETWEEN :a AND :b AND j IN (:c, :d)",
        "ExpressionAttributeNames": {"#s": "secret", "#1": "dotted.name"},
    }
    assert call_log.attribute_names(mixed) == [
        "a",
        "dotted.name",
        "j",
        "k",
        "secret",
        "username",
        "x",
        "z",
    ]
    put = {"Item": {"session_key": {"S": "h"}, "csrf": {"S": "c"}}, "AttributesToGet": ["q"]}
    assert call_log.attribute_names(put) == ["csrf", "q", "session_key"]
    assert call_log.attribute_names({"TableName": "t"}) == [], "a Scan names none"


def fake_moto(seen):
    def app(environ, start_response):
        seen.append(environ["wsgi.input"].read())
        if b"missing" in seen[-1]:
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
            return [b'{"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"}']
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b"{}"]

    return app


def environ(body, **headers):
    env = {
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-amz-json-1.0",
        "REMOTE_ADDR": "10.0.0.1",
        "REMOTE_PORT": 1,
        "SERVER_PORT": "1",
    }
    env.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    return env


def test_one_line_per_call_and_moto_gets_the_whole_body(tmp_path):
    path, seen = tmp_path / "calls.jsonl", []
    log = call_log.CallLog(fake_moto(seen), str(path))
    key = {"username": {"S": "alice"}}
    body = json.dumps({"TableName": "direct-oauth-users", "Key": key}).encode()
    ua = "aws-sdk-rust/1.3.9 api/dynamodb/1 app/authorize-app"
    answer = log(
        environ(
            body, authorization=AUTH, x_amz_target="DynamoDB_20120810.GetItem", x_amz_user_agent=ua
        ),
        lambda *a: None,
    )
    log(
        environ(
            b'{"TableName": "missing"}',
            authorization=AUTH,
            x_amz_target="DynamoDB_20120810.GetItem",
            user_agent="Boto3/1",
        ),
        lambda *a: None,
    )
    log(environ(b"", path_info="/moto-api/"), lambda *a: None)  # not an AWS call: not recorded
    assert answer == [b"{}"] and seen[0] == body
    first, second = [json.loads(line) for line in path.read_text().splitlines()]
    assert {
        k: first[k] for k in ("service", "op", "key", "sdk", "app", "request", "status", "error")
    } == {
        "service": "dynamodb",
        "op": "GetItem",
        "key": "AKIDAUTHORIZEAPP",
        "sdk": "aws-sdk-rust",
        "app": "authorize-app",
        "request": {"TableName": "direct-oauth-users", "Attributes": ["username"]},
        "status": 200,
        "error": None,
    }
    assert (second["sdk"], second["status"], second["error"]) == (
        "Boto3",
        400,
        "ResourceNotFoundException",
    )


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="Linux only")
def test_the_caller_of_a_connection_is_found_through_proc():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    accepted, (_, port) = server.accept()
    try:
        found = call_log.Callers().find("127.0.0.1", port, str(server.getsockname()[1]))
        assert found["pid"] == os.getpid()
        assert found["exe"] == os.path.basename(os.path.realpath(sys.executable))
        assert "argv" not in found, "arguments only of the project's binaries"
        assert call_log.Callers().find("127.0.0.1", 1, "2") is None
    finally:
        for s in (accepted, client, server):
            s.close()


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="Linux only")
def test_behind_a_relay_the_one_binary_connected_to_it_is_the_caller(tmp_path):
    """This process relays: a stand-in for the admin CLI (a copy of Python under its name)
    is connected to its listening port while it calls "moto" on a connection of its own."""
    binary = tmp_path / "direct-oauth-admin"
    shutil.copy(os.path.realpath(sys.executable), binary)
    moto, relay = socket.socket(), socket.socket()
    for s in (moto, relay):
        s.bind(("127.0.0.1", 0))
        s.listen(1)
    child = subprocess.Popen(
        [
            str(binary),
            "-c",
            "import socket, sys, time; s = socket.create_connection(('127.0.0.1', "
            f"{relay.getsockname()[1]})); print('connected', flush=True); time.sleep(30)",
            "user",
            "list",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    opened = []
    try:
        if child.stdout.readline().strip() != "connected":
            pytest.skip("a copy of the Python executable does not run here")
        opened.append(relay.accept()[0])
        upstream = socket.create_connection(moto.getsockname())
        opened += [upstream, moto.accept()[0]]
        found = call_log.Callers().find(
            "127.0.0.1", upstream.getsockname()[1], str(moto.getsockname()[1])
        )
        assert (found["exe"], found["pid"], found["via"]) == (
            "direct-oauth-admin",
            child.pid,
            os.path.basename(os.path.realpath(sys.executable)),
        )
        assert found["argv"][-2:] == ["user", "list"]
    finally:
        child.kill()
        child.wait()
        for s in [*opened, moto, relay]:
            s.close()
