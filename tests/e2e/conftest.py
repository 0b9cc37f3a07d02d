"""Fixtures for the end-to-end tests: the stack `make test` started (moto + cargo lambda
watch), the admin CLI, and direct access to the tables to check what was stored."""

import base64
import functools
import http.client
import json
import os
import subprocess
import tempfile
import time
import uuid
from urllib.parse import urlsplit

import boto3
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

QUAY_REDIRECT = "https://my/internal/application/token_created"


def require(name):
    value = os.environ.get(name)
    if not value:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not set: run these tests through `make test`")
        pytest.skip(f"{name} is not set: run these tests through `make test`")
    return value


@pytest.fixture
def aws_stack():
    """For modules that need the local stack's moto: `pytestmark = usefixtures(...)`."""
    require("AWS_ENDPOINT_URL")


def uid(prefix):
    """A name no other test uses."""
    return prefix + uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def endpoint():
    return require("E2E_ENDPOINT")


@pytest.fixture(scope="session")
def dynamodb():
    require("AWS_ENDPOINT_URL")
    return boto3.client("dynamodb")


@functools.cache
def resources():
    """The tables and parameters of src/resources.rs, each with its role, kind, variable,
    local_name, output, optional and value (the name this environment gives it, or None), as
    `direct-oauth-admin env --output json` prints them: the list is never typed out here."""
    return json.loads(admin("env", "--output", "json").stdout)


@pytest.fixture(scope="session")
def tables():
    """Each table's name in the test stack, by role: users, tokens, codes, ..."""
    return {r["role"]: r["value"] for r in resources() if r["kind"] == "table"}


def admin(*args, stdin=None, check=True):
    """Runs direct-oauth-admin against the test stack."""
    return subprocess.run(
        [os.path.join(ROOT, "target", "debug", "direct-oauth-admin"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
    )


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def make_user():
    """Creates a fresh user; returns (name, password)."""

    def make(password="correct horse", superuser=False):
        name = "user-" + uuid.uuid4().hex[:10]
        args = ["user", "add", name, "--password-stdin"] + (["--superuser"] if superuser else [])
        admin(*args, stdin=password + "\n")
        return name, password

    return make


@pytest.fixture
def reset_failures(dynamodb, tables):
    def reset(username):
        dynamodb.delete_item(TableName=tables["failed_logins"], Key={"username": {"S": username}})

    return reset


def failed_logins(dynamodb, tables, username):
    """The failed-login counter item of a name, or None."""
    return dynamodb.get_item(
        TableName=tables["failed_logins"], Key={"username": {"S": username}}, ConsistentRead=True
    ).get("Item")


def tokens_of(dynamodb, tables, username):
    """Every token record of a user."""
    items = []
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=tables["tokens"],
        ConsistentRead=True,
        FilterExpression="username = :u",
        ExpressionAttributeValues={":u": {"S": username}},
    ):
        items += page["Items"]
    return items


def back_off_until(item):
    """When the back-off window of a failed-login item ends (epoch seconds): 0.5 s x
    (2^n - 1) after the last failure (docs/hardening.md, "Failed-login back-off")."""
    n, last_ms = int(item["failures"]["N"]), int(item["last_failure_ms"]["N"])
    return last_ms / 1000 + 0.5 * (2**n - 1)


def wait_out_back_off(dynamodb, tables, username):
    """Sleeps until the stored failures no longer hold the name back: judged from the
    record itself, so a slow machine waits longer instead of failing."""
    item = failed_logins(dynamodb, tables, username)
    # A name admitted and never failed has a counter item without failures.
    if item and "failures" in item:
        time.sleep(max(0.0, back_off_until(item) + 0.05 - time.time()))


def token_from(location):
    """The access token in a success Location."""
    assert location and "#access_token=" in location, location
    return location.split("access_token=", 1)[1].split("&", 1)[0]


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> list of values
        self.body = body

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def json(self):
        assert self.header("content-type") == "application/json", self.headers
        return json.loads(self.body)

    def fragment(self):
        from urllib.parse import parse_qsl

        location = self.header("location")
        assert location and "#" in location, location
        return parse_qsl(location.split("#", 1)[1], keep_blank_values=True)


def http_request(url, method="POST", body=None, headers=None):
    """One request, redirects not followed."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    path = parts.path + ("?" + parts.query if parts.query else "")
    data = body.encode() if isinstance(body, str) else body
    conn.request(method, path, body=data, headers=headers or {})
    resp = conn.getresponse()
    out = {}
    for k, v in resp.getheaders():
        out.setdefault(k.lower(), []).append(v)
    reply = Reply(resp.status, out, resp.read().decode("utf-8", "replace"))
    conn.close()
    return reply


@pytest.fixture
def post(endpoint):
    def send(
        body,
        auth=None,
        content_type="application/x-www-form-urlencoded",
        method="POST",
        extra_headers=None,
    ):
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if auth:
            headers["Authorization"] = auth
        headers.update(extra_headers or {})
        return http_request(endpoint, method=method, body=body, headers=headers)

    return send


def scan_all(dynamodb, tables):
    """Every attribute value of every item, as text."""
    values = []
    for table in tables.values():
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                values.append(json.dumps(item, default=lambda b: base64.b64encode(b).decode()))
    return values


def v2_event(form=None, auth=None, method="POST"):
    """An HTTP API (v2) event, from events/apigw-http-v2/success.json."""
    with open(os.path.join(ROOT, "events", "apigw-http-v2", "success.json")) as f:
        event = json.load(f)
    event["requestContext"]["http"]["method"] = method
    if auth is None:
        event["headers"].pop("authorization", None)
    else:
        event["headers"]["authorization"] = auth
    if form is not None:
        event["body"] = base64.b64encode(form.encode()).decode()
    return event


class Function:
    """The release-shaped binary on a local Runtime API, with its own environment."""

    def __init__(self, env, binary=None):
        from runtime_api import RuntimeApi

        self.api = RuntimeApi()
        binary = binary or os.path.join(ROOT, "target", "debug", "authorize-app")
        # A file, not a pipe: a chatty function must never block on a full pipe. It lives as
        # long as the instance (closed when it stops), so no `with`.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = self.api.start_function(binary, env, stdout=self.log, stderr=subprocess.STDOUT)
        self.output = None
        # Lambda hands the first event over once the start-up is done (the function asks
        # for it): what a test watches from here on is the requests' alone, not the
        # start-up's reads. A function that fails to start is left to the test.
        deadline = time.monotonic() + 60
        while self.api.ready_at is None and self.proc.poll() is None:
            assert time.monotonic() < deadline, "the function did not start in 60 s"
            time.sleep(0.005)

    def invoke(self, event):
        kind, reply, _ = self.api.invoke(event)
        assert kind == "response", reply
        headers = {k.lower(): v for k, v in (reply.get("headers") or {}).items()}
        return reply["statusCode"], headers, reply.get("body") or ""

    def stop(self):
        if self.output is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.log.seek(0)
            self.output = self.log.read().decode("utf-8", "replace")
            self.log.close()
            self.api.close()
        return self.output


@pytest.fixture
def start_function():
    started = []

    def start(**overrides):
        env = dict(os.environ)
        env.update({k: str(v) for k, v in overrides.items()})
        f = Function(env)
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()
