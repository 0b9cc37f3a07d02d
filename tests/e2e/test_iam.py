"""Least privilege, proven by enforcement: each function and the admin CLI run with the
credentials of an IAM user holding exactly the actions of its role in template.yaml (read
from the template, Resource "*"), against a moto of its own that checks IAM. Every flow
passes; and without any one of those actions some flow fails, so none is spare.

moto enforces IAM after INITIAL_NO_AUTH_ACTION_COUNT unauthenticated actions. It checks
actions, not resources (every DynamoDB request is checked against Resource "*"), so the
users hold the role's actions on "*": which table an action is needed on is not proven
here, only that the action is.

moto checks a transaction as one action, `dynamodb:TransactWriteItems`, which IAM does
not have: AWS authorizes each item of it as its own action (PutItem, UpdateItem,
DeleteItem, ConditionCheckItem; "Using IAM with DynamoDB transactions" in the DynamoDB
guide). So the restricted users' DynamoDB and SSM requests go through a gateway here that
applies that rule to TransactWriteItems, forwards every request unchanged (moto checks
the rest) and records every refusal; and every user also holds
`dynamodb:TransactWriteItems`, only so that moto lets through what the gateway allowed.

With all of its actions a principal must pass every flow and be refused nothing. Without
one, some flow must fail, and every failure must come from the refusal of that action.

Prints the table of the result and writes it to .local/iam-table.md.
"""

import base64
import hashlib
import http.client
import http.server
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import quote

import bcrypt
import boto3
import pytest
from cfnlint.decode import decode_str

import local_moto
from http_relay import answer, forward
from conftest import ROOT, Function, basic, v2_event

ADMIN_CLI = os.path.join(ROOT, "target", "debug", "direct-oauth-admin")
AUTHORIZE_APP = os.path.join(ROOT, "target", "debug", "authorize-app")
TOKEN_AUTHORIZER = os.path.join(ROOT, "target", "debug", "token-authorizer")
TABLE_OUT = os.path.join(ROOT, ".local", "iam-table.md")
REGION = "us-east-1"

# Unauthenticated actions moto serves before it checks IAM: an upper bound of what the
# setup needs (about 25: tables, demo data, the admin IAM user). What the setup leaves of
# it is spent with requests signed by an unknown key until moto refuses one, which is
# also the proof that enforcement is on.
NO_AUTH_ACTIONS = 200

# Actions of the template these tests cannot make necessary, and why.
NOT_EXERCISED = {
    "logs:CreateLogStream": "Lambda's own delivery of the function's logs, not a call of "
                            "its code; no Lambda service here",
    "logs:PutLogEvents": "Lambda's own delivery of the function's logs, not a call of its "
                         "code; no Lambda service here",
    "xray:PutTraceSegments": "sent by Lambda's X-Ray daemon when EnableTracing is true, not "
                             "by the function's code; no Lambda service here",
    "xray:PutTelemetryRecords": "sent by Lambda's X-Ray daemon when EnableTracing is true, "
                                "not by the function's code; no Lambda service here",
    "kms:Decrypt": "SSM calls KMS with the caller's permissions only for a SecureString "
                   "whitelist (WhitelistKmsKeyArn); moto's SSM calls no KMS",
    "kms:Encrypt": "SSM calls KMS with the caller's permissions only for a SecureString "
                   "whitelist (WhitelistKmsKeyArn); moto's SSM calls no KMS",
}

# A stack in moto whose outputs name the test's tables and parameter, as template.yaml's do.
STACK_NAME = "iam-stack"

# After a flow's failure: the gateway refused an item of a TransactWriteItems.
GATEWAY_MARK = "¹"
# After a flow's failure: nothing was refused during it, the action was refused before
# it in the same process, which kept that answer (a failed whitelist read is not retried
# for a second, src/whitelist/cache/).
EARLIER_MARK = "²"

# The moto artefact every user holds besides its actions (see the module's docstring).
MOTO_TRANSACTION_ACTION = "dynamodb:TransactWriteItems"
TRANSACTION_ITEM_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
                            "Delete": "dynamodb:DeleteItem",
                            "ConditionCheck": "dynamodb:ConditionCheckItem"}

CLIENT = "iam_client"
REDIRECT = "https://iam.example/cb"
FORM = f"client_id={CLIENT}&redirect_uri={REDIRECT}&scope=repo:read"
PASSWORD = "correct horse"


# ---- The template's actions ----

def _template():
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template, errors = decode_str(f.read())
    assert not errors, errors
    return template


def _branches(node, conditions=()):
    """(conditions, node) for each value `node` can take: both sides of an Fn::If (the
    false side as "!condition"), nothing for AWS::NoValue."""
    if isinstance(node, dict) and list(node) == ["Fn::If"]:
        condition, yes, no = node["Fn::If"]
        yield from _branches(yes, conditions + (condition,))
        yield from _branches(no, conditions + ("!" + condition,))
    elif isinstance(node, dict) and node == {"Ref": "AWS::NoValue"}:
        return
    else:
        yield conditions, node


def granted(resource):
    """action -> the conditions it is granted under (empty: always), from a role's inline
    policies or a managed policy's document."""
    props = _template()["Resources"][resource]["Properties"]
    documents = [((), props["PolicyDocument"])] if "PolicyDocument" in props else []
    for policy in props.get("Policies", []):
        for conditions, p in _branches(policy):
            documents.append((conditions, p["PolicyDocument"]))
    actions = {}
    for conditions, document in documents:
        for statement in document["Statement"]:
            for held_under, s in _branches(statement, conditions):
                assert s["Effect"] == "Allow", s
                listed = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                for action in listed:
                    actions.setdefault(action, set()).update(held_under)
    return actions


# ---- moto, and the gateway in front of it ----

def access_key_of(headers):
    auth = headers.get("Authorization", "")
    return auth.partition("Credential=")[2].partition("/")[0]


class Seen:
    """One request through the gateway: who sent it, the operation, what became of it
    ("forwarded", "lost", "denied"), and the actions refused (by moto or the gateway)."""

    def __init__(self, key, op, outcome="forwarded", refused=()):
        self.key, self.op, self.outcome, self.refused = key, op, outcome, set(refused)


class Gateway:
    """The restricted users' DynamoDB and SSM requests, forwarded to moto unchanged (the
    Host header too: moto checks each request's signature, which covers it), and what
    became of each. A TransactWriteItems is first authorized as AWS does, each item by
    its own action, from `held` (access key -> actions); moto then checks the rest.
    `lose(op)` forwards the next request for `op` and drops its answer: fault_proxy.py's
    how="lost", which cannot serve here because it rewrites the Host header, so moto
    refuses every signature it forwards."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.held = {}
        self.losing = {}
        self.seen = []
        self.lock = threading.Lock()
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status, headers, data):
                answer(self, status, headers, data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = gateway.decide(access_key_of(self.headers),
                                      self.headers.get("X-Amz-Target", "").rpartition(".")[2],
                                      body)
                if seen.outcome == "denied":
                    refused = ", ".join(sorted(seen.refused))
                    self._answer(400, [("Content-Type", "application/x-amz-json-1.0")],
                                 json.dumps({
                                     "__type": "com.amazon.coral.service#AccessDeniedException",
                                     "Message": f"User: {seen.key} is not authorized to perform: "
                                                f"{refused} (in TransactWriteItems)"}).encode())
                    return
                # The Host header stays: the caller signed it, and moto checks signatures.
                status, headers, data = forward(gateway.upstream, "POST", self.path,
                                                self.headers, body, timeout=10, host=False)
                if status == 403:
                    # moto refuses in XML: "User: arn:... is not authorized to perform: X"
                    text = data.decode("utf-8", "replace")
                    action = text.partition("not authorized to perform: ")[2].partition("<")[0]
                    with gateway.lock:
                        seen.refused.add(action or text[:200])
                if seen.outcome == "lost":
                    self.close_connection = True
                    self.connection.close()
                    return
                self._answer(status, headers, data)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A caller that stopped waiting (a function answering 503 while a read it
                # no longer needs is in flight) closes its connection: nothing to report.
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def decide(self, key, op, body):
        with self.lock:
            seen = Seen(key, op)
            if op == "TransactWriteItems" and key in self.held:
                items = json.loads(body).get("TransactItems", [])
                needed = {TRANSACTION_ITEM_ACTIONS[kind] for item in items for kind in item}
                seen.refused = needed - self.held[key]
                if seen.refused:
                    seen.outcome = "denied"
            if seen.outcome == "forwarded" and self.losing.get(op, 0) > 0:
                self.losing[op] -= 1
                seen.outcome = "lost"
            self.seen.append(seen)
            return seen

    def since(self, mark, key):
        """The requests of `key` from index `mark` on."""
        with self.lock:
            return [s for s in self.seen[mark:] if s.key == key]

    def lose(self, op, times=1):
        with self.lock:
            self.losing[op] = times

    def heal(self):
        with self.lock:
            self.losing.clear()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def burn_free_actions(port, limit):
    """Sends DynamoDB ListTables signed by a key moto does not know until moto refuses
    one: the free actions are spent and every later request is checked. Returns how many
    were spent."""
    body = b"{}"
    for spent in range(limit + 1):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/", body=body, headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNKEY0000000/"
                             f"{time.strftime('%Y%m%d', time.gmtime())}/{REGION}/dynamodb/"
                             "aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        })
        resp = conn.getresponse()
        answer = resp.read().decode()
        conn.close()
        if resp.status != 200:
            assert resp.status == 403 and "security token" in answer.lower(), answer
            return spent
    raise AssertionError(f"moto still answered an unknown key after {limit} requests: "
                         "IAM is not enforced")


class Admin:
    """Setup and checks with a key that may do anything (after the free actions)."""

    def __init__(self, endpoint, key, secret, names):
        kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key,
                  aws_secret_access_key=secret)
        self.ddb = boto3.client("dynamodb", **kw)
        self.ssm = boto3.client("ssm", **kw)
        self.iam = boto3.client("iam", **kw)
        self.t = names
        self.argon2_hash = None

    def put_user(self, name, password_hash=None, enabled=True, table=None):
        self.ddb.put_item(TableName=table or self.t["users"], Item={
            "username": {"S": name}, "password_hash": {"S": password_hash or self.argon2_hash},
            "generation": {"N": "0"}, "enabled": {"BOOL": enabled},
            "superuser": {"BOOL": False}})

    def user(self, name):
        return self.ddb.get_item(TableName=self.t["users"], Key={"username": {"S": name}},
                                 ConsistentRead=True).get("Item")

    def mint_token(self, username, revoked=False, user_disabled=False):
        """A token stored as the function stores one; returns the whole token."""
        token = secrets.token_urlsafe(16)[:22] + secrets.token_urlsafe(32)[:43]
        now = int(time.time())
        item = {"token_id": {"S": token[:22]},
                "secret_sha256": {"B": hashlib.sha256(token[22:].encode()).digest()},
                "username": {"S": username}, "client_id": {"S": CLIENT},
                "scopes": {"L": [{"S": "repo:read"}]}, "issued_at": {"N": str(now)},
                "expires_at": {"N": str(now + 3600)}}
        if revoked:
            item["revoked_at"] = {"N": str(now)}
        if user_disabled:
            item["user_disabled"] = {"BOOL": True}
        self.ddb.put_item(TableName=self.t["tokens"], Item=item)
        self.ddb.put_item(TableName=self.t["user_tokens"], Item={
            "username": {"S": username}, "token_id": {"S": token[:22]},
            "expires_at": {"N": str(now + 3600)}})
        return token

    def token(self, token_id):
        return self.ddb.get_item(TableName=self.t["tokens"], Key={"token_id": {"S": token_id}},
                                 ConsistentRead=True).get("Item")

    def tokens_of(self, username):
        items = []
        for page in self.ddb.get_paginator("scan").paginate(
                TableName=self.t["tokens"], ConsistentRead=True,
                FilterExpression="username = :u",
                ExpressionAttributeValues={":u": {"S": username}}):
            items += page["Items"]
        return items

    def failed_logins(self, username):
        return self.ddb.get_item(TableName=self.t["failed_logins"],
                                 Key={"username": {"S": username}},
                                 ConsistentRead=True).get("Item")

    def put_app(self, client_id, name="before", secret=None):
        item = {"client_id": {"S": client_id}, "name": {"S": name},
                "redirect_uris": {"L": [{"S": REDIRECT}]}}
        if secret:
            item["secret_sha256"] = {"B": hashlib.sha256(secret.encode()).digest()}
        self.ddb.put_item(TableName=self.t["applications"], Item=item)

    def app(self, client_id):
        return self.ddb.get_item(TableName=self.t["applications"],
                                 Key={"client_id": {"S": client_id}},
                                 ConsistentRead=True).get("Item")

    def whitelist(self):
        value = self.ssm.get_parameter(Name=self.t["parameter"])["Parameter"]["Value"]
        return {i for i in value.split(",") if i}

    def set_whitelist(self, ids):
        self.ssm.put_parameter(Name=self.t["parameter"], Value=",".join(sorted(ids)) or ",",
                               Type="StringList", Overwrite=True)

    def empty_table(self, table):
        for page in self.ddb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                self.ddb.delete_item(TableName=table, Key={"username": item["username"]})

    def principal(self, label, actions):
        """An IAM user holding exactly `actions` on "*" (and the moto artefact); returns
        its access key and secret."""
        name = f"iam-{label}-{uuid.uuid4().hex[:6]}"
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(UserName=name, PolicyName="held", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow",
                           "Action": sorted(set(actions) | {MOTO_TRANSACTION_ACTION}),
                           "Resource": "*"}]}))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]


# ---- Flows: each one independent (its own users, applications, tokens) ----

class FlowFailed(Exception):
    pass


def expect(condition, reason):
    if not condition:
        raise FlowFailed(reason)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def invoke(fn, event):
    """(kind, answer) of one invocation; kind is "response" or "error"."""
    kind, answer, _ = fn.api.invoke(event)
    return kind, answer


def authorize(run, user, password):
    kind, answer = invoke(run.fn, v2_event(FORM, basic(user, password)))
    expect(kind == "response", f"invocation {kind}")
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    return answer["statusCode"], headers


def issued(run, user, password=PASSWORD):
    status, headers = authorize(run, user, password)
    expect(status == 302 and "#access_token=" in headers.get("location", ""), str(status))
    return headers["location"].split("access_token=", 1)[1].split("&", 1)[0]


def flow_login(run):
    user = unique("login")
    run.admin.put_user(user)
    token = issued(run, user)
    stored = run.admin.token(token[:22])
    expect(stored and stored["secret_sha256"]["B"] == hashlib.sha256(token[22:].encode()).digest(),
           "the token handed out is not stored")


def flow_login_twice(run):
    """A second login right after a first: the first gave its name up (the failed-logins
    item deleted), so the second is not held back."""
    user = unique("twice")
    run.admin.put_user(user)
    issued(run, user)
    status, _ = authorize(run, user, PASSWORD)
    expect(status == 302, f"second login {status}")


def flow_wrong_password(run):
    user = unique("wrong")
    run.admin.put_user(user)
    status, _ = authorize(run, user, "not the password")
    expect(status == 401, str(status))
    record = run.admin.failed_logins(user)
    expect(record and record.get("failures", {}).get("N") == "1", "no failure counted")


def flow_bcrypt_login(run):
    """A user imported from Quay: the bcrypt hash verifies and is replaced by argon2id in
    the token's transaction (an Update of the user instead of a ConditionCheck)."""
    user = unique("bcrypt")
    run.admin.put_user(user, bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode())
    issued(run, user)
    expect(run.admin.user(user)["password_hash"]["S"].startswith("$argon2"), "not rehashed")


def flow_lost_answer(run):
    """The token write is stored but its answer lost: the SDK's retry meets the stored
    token, which the function reads to hand it out (one record, no orphan)."""
    user = unique("lost")
    run.admin.put_user(user)
    run.gateway.lose("TransactWriteItems")
    try:
        token = issued(run, user)
    finally:
        run.gateway.heal()
    stored = [i["token_id"]["S"] for i in run.admin.tokens_of(user)]
    expect(stored == [token[:22]], f"{len(stored)} tokens stored")


def revoke_event(token):
    event = v2_event("token=" + quote(token, safe="") + "&token_type_hint=access_token", None)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/oauth/revoke"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /oauth/revoke"
    return event


def flow_revoke(run):
    token = run.admin.mint_token(unique("revoke"))
    kind, answer = invoke(run.fn, revoke_event(token))
    expect(kind == "response" and answer["statusCode"] == 200,
           str(answer.get("statusCode") if kind == "response" else kind))
    expect("revoked_at" in run.admin.token(token[:22]), "not revoked")


VERIFIER = "iam-pkce-verifier-" + "v" * 40
CONFIDENTIAL, SECRET = "iam_confidential", "iam-client-secret"


def at_path(event, path):
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST " + path
    return event


def code_of(run, user):
    """A code for `user` (the code's PutItem), with the PKCE challenge of VERIFIER."""
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest())
    form = (FORM + "&response_type=code&code_challenge_method=S256&code_challenge="
            + challenge.rstrip(b"=").decode())
    kind, answer = invoke(run.fn, v2_event(form, basic(user, PASSWORD)))
    expect(kind == "response" and answer["statusCode"] == 302,
           str(answer.get("statusCode") if kind == "response" else kind))
    location = {k.lower(): v for k, v in answer["headers"].items()}["location"]
    return location.split("?code=", 1)[1].split("&", 1)[0]


def exchange(run, code):
    form = (f"grant_type=authorization_code&client_id={CLIENT}&code={code}"
            f"&code_verifier={VERIFIER}&redirect_uri={quote(REDIRECT, safe='')}")
    kind, answer = invoke(run.fn, at_path(v2_event(form, None), "/oauth/access_token"))
    expect(kind == "response", f"invocation {kind}")
    return answer


def flow_code_exchange(run):
    """Quay's code flow: the code written, then exchanged (the application read, the
    code's conditional UpdateItem, the token's transaction)."""
    user = unique("code")
    run.admin.put_user(user)
    answer = exchange(run, code_of(run, user))
    expect(answer["statusCode"] == 200, f"exchange {answer['statusCode']}")


def flow_code_replay(run):
    """A code used twice: invalid_grant (a GetItem tells the replay), and the token of the
    first exchange revoked (an UpdateItem on the tokens table)."""
    user = unique("replay")
    run.admin.put_user(user)
    code = code_of(run, user)
    first = exchange(run, code)
    expect(first["statusCode"] == 200, f"first exchange {first['statusCode']}")
    again = exchange(run, code)
    expect(again["statusCode"] == 400, f"replay {again['statusCode']}")
    token_id = json.loads(first["body"])["access_token"][:22]
    expect("revoked_at" in (run.admin.token(token_id) or {}), "first token not revoked")


def flow_introspect(run):
    """A confidential application asks about a token: one BatchGetItem."""
    run.admin.put_app(CONFIDENTIAL, secret=SECRET)
    token = run.admin.mint_token(unique("intro"))
    event = at_path(v2_event(f"token={token}", basic(CONFIDENTIAL, SECRET)), "/oauth/introspect")
    kind, answer = invoke(run.fn, event)
    expect(kind == "response" and answer["statusCode"] == 200,
           str(answer.get("statusCode") if kind == "response" else kind))
    expect(json.loads(answer["body"]).get("active") is True, "not active")


def authorizer_event(token):
    path = os.path.join(ROOT, "events", "token-authorizer", "http-api-v2", "valid.json")
    with open(path) as f:
        event = json.load(f)
    event["headers"]["authorization"] = "Bearer " + token
    event["identitySource"] = ["Bearer " + token]
    return event


def flow_authorizer_valid(run):
    kind, answer = invoke(run.fn, authorizer_event(run.admin.mint_token(unique("valid"))))
    expect(kind == "response", f"invocation {kind}")
    expect(answer.get("isAuthorized") is True, "denied")


def flow_authorizer_revoked(run):
    token = run.admin.mint_token(unique("revoked"), revoked=True)
    kind, answer = invoke(run.fn, authorizer_event(token))
    expect(kind == "response", f"invocation {kind}")
    expect(answer == {"isAuthorized": False}, str(answer))


def cli(run, *args, stdin=None, env=None):
    out = subprocess.run([ADMIN_CLI, *args], input=stdin, capture_output=True, text=True,
                         env=env or run.env, timeout=60)
    expect(out.returncode == 0, f"exit {out.returncode}")
    return out.stdout


def flow_user_add(run):
    user = unique("add")
    cli(run, "user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")
    expect(run.admin.user(user), "not stored")


def flow_user_import(run):
    user = unique("import")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    out = cli(run, "user", "import-quay", stdin=f"{user},{hashed}\n")
    expect("imported 1," in out and run.admin.user(user)["password_hash"]["S"] == hashed,
           "not imported")


def flow_user_disable(run):
    user = unique("disable")
    run.admin.put_user(user)
    token = run.admin.mint_token(user)
    cli(run, "user", "disable", user)
    expect(run.admin.token(token[:22]).get("user_disabled", {}).get("BOOL") is True,
           "token not marked")


def flow_user_enable(run):
    user = unique("enable")
    run.admin.put_user(user, enabled=False)
    token = run.admin.mint_token(user, user_disabled=True)
    cli(run, "user", "enable", user)
    expect("user_disabled" not in run.admin.token(token[:22]), "token still marked")


def flow_set_password(run):
    user = unique("setpw")
    run.admin.put_user(user)
    cli(run, "user", "set-password", user, "--password-stdin", stdin="another one\n")
    expect(run.admin.user(user)["password_hash"]["S"] != run.admin.argon2_hash, "unchanged")


def flow_set_password_revoke(run):
    user = unique("setpw-revoke")
    run.admin.put_user(user)
    token = run.admin.mint_token(user)
    cli(run, "user", "set-password", user, "--password-stdin", "--revoke-tokens",
        stdin="another one\n")
    expect("revoked_at" in run.admin.token(token[:22]), "token not revoked")


def flow_bcrypt_remaining(run):
    """On a users table of its own: no bcrypt hash remains, so the marker is deleted."""
    table = run.admin.t["bcrypt_users"]
    run.admin.empty_table(table)
    run.admin.ddb.put_item(TableName=table, Item={"username": {"S": ":bcrypt"},
                                                  "max_cost": {"N": "4"}})
    run.admin.put_user(unique("argon"), table=table)
    out = cli(run, "user", "bcrypt-remaining",
              env=dict(run.env, DIRECT_OAUTH_USERS_TABLE=table))
    expect("no bcrypt hashes remain" in out, out.strip())
    marker = run.admin.ddb.get_item(TableName=table, Key={"username": {"S": ":bcrypt"}},
                                    ConsistentRead=True).get("Item")
    expect(marker is None, "marker kept")


def flow_app_add(run):
    client = unique("app_add")
    cli(run, "app", "add", client, "--redirect-uri", REDIRECT)
    expect(run.admin.app(client), "not stored")


def flow_app_update(run):
    client = unique("app_update")
    run.admin.put_app(client)
    cli(run, "app", "update", client, "--name", "after")
    expect(run.admin.app(client)["name"]["S"] == "after", "not updated")


def flow_app_remove(run):
    client = unique("app_remove")
    run.admin.put_app(client)
    cli(run, "app", "remove", client)
    expect(run.admin.app(client) is None, "not removed")


def flow_app_rotate_secret(run):
    client = unique("rot").replace("-", "_")
    run.admin.put_app(client, secret="old-secret")
    out = cli(run, "app", "rotate-secret", client)
    expect("client secret" in out, "no new secret shown")
    stored = run.admin.app(client)["secret_sha256"]["B"]
    expect(stored != hashlib.sha256(b"old-secret").digest(), "secret not replaced")


def flow_app_list(run):
    client = unique("app_list")
    run.admin.put_app(client)
    expect(client in cli(run, "app", "list"), "not listed")


def flow_whitelist_add(run):
    client = unique("wl_add")
    cli(run, "whitelist", "add", client)
    expect(client in run.admin.whitelist(), "not whitelisted")


def flow_whitelist_remove(run):
    client = unique("wl_remove")
    run.admin.set_whitelist(run.admin.whitelist() | {client})
    cli(run, "whitelist", "remove", client)
    expect(client not in run.admin.whitelist(), "still whitelisted")


def flow_whitelist_list(run):
    expect(CLIENT in cli(run, "whitelist", "list").split(), "not listed")


def flow_stack(run):
    """`--stack NAME` instead of the variables: the names from the stack's outputs
    (DescribeStacks), here to list the whitelist."""
    env = {k: v for k, v in run.env.items() if not k.startswith("DIRECT_OAUTH_")}
    listed = cli(run, "--stack", STACK_NAME, "whitelist", "list", env=env)
    expect(CLIENT in listed.split(), "not listed")


def flow_token_list(run):
    user = unique("tlist")
    token = run.admin.mint_token(user)
    expect(token[:22] in cli(run, "token", "list", "--user", user), "not listed")


def flow_token_revoke(run):
    token = run.admin.mint_token(unique("trevoke"))
    cli(run, "token", "revoke", token[:22])
    expect("revoked_at" in run.admin.token(token[:22]), "not revoked")


def flow_token_revoke_user(run):
    user = unique("trevoke-user")
    run.admin.put_user(user)
    token = run.admin.mint_token(user)
    expect("1 token(s) revoked" in cli(run, "token", "revoke", "--user", user), "none revoked")
    expect("revoked_at" in run.admin.token(token[:22]), "not revoked")


def flow_token_verify(run):
    token = run.admin.mint_token(unique("verify"))
    expect(cli(run, "token", "verify", stdin=token + "\n").startswith("valid:"), "not valid")


# (label, template resource, binary or None for the CLI, [(flow name, flow)])
PRINCIPALS = [
    ("authorize-app", "AuthorizeAppRole", AUTHORIZE_APP, [
        ("login", flow_login),
        ("login twice", flow_login_twice),
        ("wrong password", flow_wrong_password),
        ("bcrypt login (rehash)", flow_bcrypt_login),
        ("lost token-write answer", flow_lost_answer),
        ("POST /oauth/revoke", flow_revoke),
        ("code + exchange", flow_code_exchange),
        ("code replayed", flow_code_replay),
        ("POST /oauth/introspect", flow_introspect),
    ]),
    ("token-authorizer", "TokenAuthorizerRole", TOKEN_AUTHORIZER, [
        ("valid token allowed", flow_authorizer_valid),
        ("revoked token denied", flow_authorizer_revoked),
    ]),
    ("direct-oauth-admin", "OperatorPolicy", None, [
        ("user add", flow_user_add),
        ("user import-quay", flow_user_import),
        ("user disable", flow_user_disable),
        ("user enable", flow_user_enable),
        ("user set-password", flow_set_password),
        ("user set-password --revoke-tokens", flow_set_password_revoke),
        ("user bcrypt-remaining", flow_bcrypt_remaining),
        ("app add", flow_app_add),
        ("app update", flow_app_update),
        ("app remove", flow_app_remove),
        ("app list", flow_app_list),
        ("app rotate-secret", flow_app_rotate_secret),
        ("whitelist add", flow_whitelist_add),
        ("whitelist remove", flow_whitelist_remove),
        ("whitelist list", flow_whitelist_list),
        ("--stack NAME whitelist list", flow_stack),
        ("token list", flow_token_list),
        ("token revoke ID", flow_token_revoke),
        ("token revoke --user", flow_token_revoke_user),
        ("token verify", flow_token_verify),
    ]),
]


class Outcome:
    """A flow's result: why it failed (None: it passed), the actions refused meanwhile
    and before it in the same run, and whether the gateway refused some (an item of a
    TransactWriteItems)."""

    def __init__(self, why, refused, earlier, by_gateway):
        self.why, self.refused, self.earlier = why, refused, earlier
        self.by_gateway = by_gateway

    def caused_by(self, action):
        """Whether its failure is the refusal of `action`: refused during the flow, or
        before it in the same process, whose answer it kept (the whitelist's retry pause)."""
        return action in self.refused or (not self.refused and action in self.earlier)

    def __str__(self):
        marks = GATEWAY_MARK if self.by_gateway else ""
        if self.why and not self.refused and self.earlier:
            marks += EARLIER_MARK
        return f"{self.why}{marks}"


class Run:
    """One principal's flows with one set of credentials, its DynamoDB and SSM requests
    through the gateway."""

    def __init__(self, stack, binary, held, tag):
        key, secret = stack.admin.principal(tag, held)
        self.key = key
        self.admin = stack.admin
        self.gateway = stack.gateway
        self.gateway.held[key] = set(held)
        self.env = dict(stack.env, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
                        AWS_ENDPOINT_URL_DYNAMODB=stack.gateway.url,
                        AWS_ENDPOINT_URL_SSM=stack.gateway.url,
                        AWS_ENDPOINT_URL_CLOUDFORMATION=stack.gateway.url)
        self.fn = Function(self.env, binary) if binary else None

    def flows(self, flows):
        """{flow name: Outcome}, the flows run one after the other in the order given."""
        results, earlier = {}, set()
        for name, flow in flows:
            mark = len(self.gateway.seen)
            why = None
            try:
                flow(self)
            except FlowFailed as e:
                why = str(e)
            except Exception as e:  # noqa: BLE001 - any failure of a flow is its failure
                why = f"{type(e).__name__}: {e}"
            seen = self.gateway.since(mark, self.key)
            refused = set().union(*(s.refused for s in seen))
            results[name] = Outcome(why, refused, set(earlier),
                                    any(s.outcome == "denied" for s in seen))
            earlier |= refused
        return results

    def close(self):
        if self.fn:
            self.fn.stop()


# ---- The stack: a moto of our own that enforces IAM ----

class Stack:
    pass


def clean_env(endpoint, names):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "DIRECT_OAUTH_"))}
    env.update(AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true",
               AWS_ENDPOINT_URL=endpoint, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS="3600",
               DIRECT_OAUTH_LOG_LEVEL="info",
               DIRECT_OAUTH_USERS_TABLE=names["users"],
               DIRECT_OAUTH_APPLICATIONS_TABLE=names["applications"],
               DIRECT_OAUTH_TOKENS_TABLE=names["tokens"],
               DIRECT_OAUTH_FAILED_LOGINS_TABLE=names["failed_logins"],
               DIRECT_OAUTH_USER_TOKENS_TABLE=names["user_tokens"],
               DIRECT_OAUTH_CODES_TABLE=names["codes"],
               DIRECT_OAUTH_WHITELIST_PARAMETER=names["parameter"])
    return env


@pytest.fixture(scope="module")
def stack():
    for binary in (ADMIN_CLI, AUTHORIZE_APP, TOKEN_AUTHORIZER):
        assert os.path.exists(binary), f"{binary} is missing: cargo build --bins"
    moto, port = local_moto.start(env={"INITIAL_NO_AUTH_ACTION_COUNT": str(NO_AUTH_ACTIONS)})
    gateway = Gateway(port)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        tag = "iam-" + uuid.uuid4().hex[:6]
        names = {t: f"{tag}-{t.replace('_', '-')}" for t in
                 ("users", "applications", "tokens", "failed_logins", "user_tokens",
                  "codes", "bcrypt_users")}
        names["parameter"] = f"/{tag}/client-whitelist"
        env = clean_env(endpoint, names)
        # Free actions: the stack and its demo data, as the admin CLI makes them, and an
        # IAM user that may do anything, for the setup that follows.
        setup = dict(env, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")

        def free(*args, stdin=None):
            subprocess.run([ADMIN_CLI, *args], input=stdin, env=setup, capture_output=True,
                           text=True, check=True, timeout=60)

        free("init")
        free("app", "add", CLIENT, "--redirect-uri", REDIRECT)
        free("whitelist", "add", CLIENT)
        free("user", "add", "iam-template", "--password-stdin", stdin=PASSWORD + "\n")
        unsigned = Admin(endpoint, "testing", "testing", names)
        unsigned.ddb.create_table(
            TableName=names["bcrypt_users"], BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "username", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "username", "KeyType": "HASH"}])
        argon2_hash = unsigned.user("iam-template")["password_hash"]["S"]
        unsigned.iam.create_user(UserName="iam-admin")
        unsigned.iam.put_user_policy(UserName="iam-admin", PolicyName="all",
                                     PolicyDocument=json.dumps({
                                         "Version": "2012-10-17",
                                         "Statement": [{"Effect": "Allow", "Action": "*",
                                                        "Resource": "*"}]}))
        key = unsigned.iam.create_access_key(UserName="iam-admin")["AccessKey"]
        spent = burn_free_actions(port, NO_AUTH_ACTIONS)

        s = Stack()
        s.admin = Admin(endpoint, key["AccessKeyId"], key["SecretAccessKey"], names)
        outputs = {"UsersTableName": "users", "ApplicationsTableName": "applications",
                   "TokensTableName": "tokens", "FailedLoginsTableName": "failed_logins",
                   "UserTokensTableName": "user_tokens", "WhitelistParameterName": "parameter"}
        template = {"Resources": {"Marker": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": f"/{tag}/marker", "Type": "String", "Value": "x"}}},
            "Outputs": {o: {"Value": names[n]} for o, n in outputs.items()}}
        boto3.client("cloudformation", endpoint_url=endpoint, region_name=REGION,
                     aws_access_key_id=key["AccessKeyId"],
                     aws_secret_access_key=key["SecretAccessKey"]).create_stack(
            StackName=STACK_NAME, TemplateBody=json.dumps(template))
        s.admin.argon2_hash = argon2_hash
        s.gateway, s.env, s.endpoint = gateway, env, endpoint
        s.setup_actions = NO_AUTH_ACTIONS - spent
        s.burned = spent
        yield s
    finally:
        gateway.close()
        os.killpg(moto.pid, signal.SIGKILL)
        moto.wait()


def signed_list_tables(endpoint, key, secret):
    """DynamoDB ListTables signed with `key`: (HTTP status, body). moto refuses in XML,
    which boto3's DynamoDB client cannot read, hence by hand."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    request = AWSRequest(method="POST", url=endpoint + "/", data=b"{}", headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.ListTables"})
    SigV4Auth(Credentials(key, secret), "dynamodb", REGION).add_auth(request)
    port = int(endpoint.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/", body=b"{}", headers=dict(request.headers.items()))
    resp = conn.getresponse()
    answer = resp.status, resp.read().decode()
    conn.close()
    return answer


def test_enforcement_is_on(stack):
    """Without this the other test would prove nothing: an unknown key, a user without a
    policy and a user without the action are refused; the admin is not."""
    admin = stack.admin.ddb._request_signer._credentials
    assert signed_list_tables(stack.endpoint, admin.access_key, admin.secret_key)[0] == 200
    for actions in ([], ["dynamodb:GetItem"]):
        status, body = signed_list_tables(stack.endpoint,
                                          *stack.admin.principal("probe", actions))
        assert status == 403 and "not authorized to perform: dynamodb:ListTables" in body, body
    status, body = signed_list_tables(stack.endpoint, "AKIAUNKNOWNKEY0000001", "x")
    assert status == 403 and "security token included in the request is invalid" in body, body


def test_each_role_holds_exactly_what_its_flows_need(stack):
    started = time.monotonic()
    rows, not_exercised, problems = [], [], []
    for label, resource, binary, flows in PRINCIPALS:
        actions = granted(resource)
        for action, conditions in sorted(actions.items()):
            if action in NOT_EXERCISED:
                not_exercised.append((label, action, conditions, NOT_EXERCISED[action]))
            else:
                # An action granted only under a condition must be exercised under it.
                assert not conditions, (f"{resource} grants {action} under {conditions}: "
                                        "exercise it here or say in NOT_EXERCISED why not")
        exercised = sorted(a for a in actions if a not in NOT_EXERCISED)

        def run_with(held, tag):
            run = Run(stack, binary, held, tag)
            try:
                return run.flows(flows)
            finally:
                run.close()

        every = run_with(exercised, "all")
        for flow, outcome in every.items():
            if outcome.why or outcome.refused:
                problems.append(f"{label} with every action of {resource}: {flow} "
                                f"{outcome.why or 'passed'}, refused {outcome.refused or '-'}")
        without = {}
        for action in exercised:
            results = run_with([a for a in exercised if a != action], "minus")
            without[action] = {f: o for f, o in results.items() if o.why}
            if not without[action]:
                problems.append(f"{label}: {action} is spare (every flow passes without it)")
            for flow, outcome in results.items():
                # A failure is the removal's doing, and nothing else was refused.
                if outcome.why and not outcome.caused_by(action):
                    problems.append(f"{label} without {action}: {flow} failed ({outcome.why}) "
                                    f"but the refusals were {outcome.refused or 'none'}")
                if outcome.refused - {action}:
                    problems.append(f"{label} without {action}: {flow} was refused "
                                    f"{outcome.refused - {action}}")
        rows.append((label, resource, exercised, every, without))
    table = render(rows, not_exercised, stack, time.monotonic() - started)
    os.makedirs(os.path.dirname(TABLE_OUT), exist_ok=True)
    with open(TABLE_OUT, "w") as f:
        f.write(table)
    print("\n" + table)
    assert not problems, "\n".join(problems)


def render(rows, not_exercised, stack, seconds):
    out = ["| Function or command | Actions held (Resource \"*\") | Flows passed "
           "with all of them | Without | Flows that fail |",
           "|---|---|---|---|---|"]
    for label, resource, exercised, every, without in rows:
        passed = [f for f, o in every.items() if not o.why]
        first = True
        for action in exercised:
            failing = "; ".join(f"{f} ({o})" for f, o in without[action].items()) or \
                "**none: spare**"
            if first:
                out.append(f"| {label} ({resource}) | {', '.join(exercised)} | "
                           f"{len(passed)}/{len(every)}: {'; '.join(passed)} | "
                           f"{action} | {failing} |")
                first = False
            else:
                out.append(f"| | | | {action} | {failing} |")
    out += ["",
            "In every failing flow the removed action was refused (checked). "
            "¹ The token write, a TransactWriteItems, was refused by the test's gateway, which "
            "checks each item's action (PutItem, UpdateItem, ConditionCheckItem) as AWS does; "
            "moto checks a `dynamodb:TransactWriteItems` action instead, which IAM does not "
            "have and every user here holds for that reason. Every other refusal is moto's. "
            "² Nothing was refused during this flow: the function answered from the refusal "
            "of an earlier flow in the same process (a failed whitelist read is not retried "
            "for a second).",
            "",
            "Not exercised:",
            "",
            "| Function or command | Action | Granted under | Why |",
            "|---|---|---|---|"]
    for label, action, conditions, why in not_exercised:
        under = ", ".join(sorted(conditions)) or "always"
        out.append(f"| {label} | {action} | {under} | {why} |")
    out += ["",
            f"moto {moto_version()} with INITIAL_NO_AUTH_ACTION_COUNT={NO_AUTH_ACTIONS}: "
            f"{stack.setup_actions} unauthenticated actions of setup, {stack.burned} spent "
            f"with an unknown key until moto refused it; {seconds:.0f} s for the flows.",
            ""]
    return "\n".join(out)


def moto_version():
    from importlib.metadata import version
    return version("moto")
