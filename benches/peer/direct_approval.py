"""The bench's Python/boto3 peer of direct approval: what a script doing the same job as
authorize-app would cost, run beside it through the same proxy in the same bench run.

A Lambda function that speaks the Runtime API itself (AWS_LAMBDA_RUNTIME_API, one kept-alive
connection, as AWS's own Python runtime does). At init: the boto3 clients, and the whitelist
read from the same SSM parameter our stack uses. Per request (the Quay example: a form body
with client_id, redirect_uri and scope; the password in a Basic header): GetItem of the user
from our users table, argon2id verification of its PHC hash with argon2-cffi (the C
reference implementation), PutItem of a token item with our token records' attributes, and
a 302 whose Location fragment carries the token as ours does. Two DynamoDB calls a request,
and none of our checks beyond those (no application read, no back-off, no lease): a lower
bound for such a script, not an equal.

Run as `python direct_approval.py` by the bench's local Runtime API (runtime_api.py); it
logs one JSON line per request with its hashing time.
"""

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import sys
import time
import urllib.parse

import boto3
from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

# Our function's defaults (src/resources.rs's local names, src/config's lifetime).
USERS = os.environ.get("DIRECT_OAUTH_USERS_TABLE", "direct-oauth-users")
TOKENS = os.environ.get("DIRECT_OAUTH_TOKENS_TABLE", "direct-oauth-tokens")
PARAMETER = os.environ.get("DIRECT_OAUTH_WHITELIST_PARAMETER", "/direct-oauth/client-whitelist")
LIFETIME = int(os.environ.get("DIRECT_OAUTH_TOKEN_LIFETIME_SECONDS", "315576000"))
PREFIX = "/2018-06-01/runtime"


class Peer:
    """What init builds once: the clients and the whitelist."""

    def __init__(self):
        self.ddb = boto3.client("dynamodb")
        ssm = boto3.client("ssm")
        value = ssm.get_parameter(Name=PARAMETER, WithDecryption=True)["Parameter"]["Value"]
        # As src/whitelist parses it: commas and whitespace separate client ids.
        self.whitelist = set(re.split(r"[,\s]+", value)) - {""}
        self.hasher = PasswordHasher()

    def handle(self, event):
        """An HTTP API v2 event -> its answer, and the hashing time (ms)."""
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
        if form.get("client_id") not in self.whitelist or "redirect_uri" not in form:
            return error(400, "invalid_request"), 0.0
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        username, _, password = basic_credentials(headers.get("authorization", ""))
        user = self.ddb.get_item(
            TableName=USERS, Key={"username": {"S": username}}, ConsistentRead=True
        ).get("Item", {})
        started = time.perf_counter()
        good = self.verify(user.get("password_hash", {}).get("S", ""), password)
        hashing_ms = (time.perf_counter() - started) * 1000
        if not good or not user.get("enabled", {}).get("BOOL", False):
            return error(401, "access_denied"), hashing_ms
        token = self.issue(username, form, user)
        location = (
            f"{form['redirect_uri']}#access_token={token}&token_type=Bearer&expires_in={LIFETIME}"
        )
        headers = {"location": location, "cache-control": "no-store", "pragma": "no-cache"}
        return {"statusCode": 302, "headers": headers, "body": ""}, hashing_ms

    def verify(self, stored, password):
        try:
            return self.hasher.verify(stored, password)
        except (Argon2Error, InvalidHashError):
            return False

    def issue(self, username, form, user):
        """PutItem of a token item, as our token records look; returns the token."""
        token_id, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        now = int(time.time())
        scopes = [s for s in re.split(r"[,\s]+", form.get("scope", "")) if s]
        self.ddb.put_item(
            TableName=TOKENS,
            Item={
                "token_id": {"S": token_id},
                "secret_sha256": {"B": hashlib.sha256(secret.encode()).digest()},
                "username": {"S": username},
                "client_id": {"S": form["client_id"]},
                "scopes": {"L": [{"S": s} for s in scopes]},
                "issued_at": {"N": str(now)},
                "expires_at": {"N": str(now + LIFETIME)},
                "user_generation": user.get("generation", {"N": "0"}),
                "client_epoch": {"N": "0"},
            },
            ConditionExpression="attribute_not_exists(token_id)",
        )
        return f"doa_{token_id}{secret}"


def basic_credentials(header):
    """(username, ":", password) of a Basic header; empty strings when there is none."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return "", "", ""
    try:
        return base64.b64decode(value).decode().partition(":")
    except ValueError:
        return "", "", ""


def error(status, code):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"error": code}),
    }


def post(conn, path, body):
    conn.request("POST", PREFIX + path, body=json.dumps(body).encode())
    conn.getresponse().read()


def main():
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
    conn = http.client.HTTPConnection(host, int(port))
    try:
        peer = Peer()
    except Exception as e:
        post(conn, "/init/error", {"errorMessage": str(e), "errorType": type(e).__name__})
        raise
    while True:
        conn.request("GET", PREFIX + "/invocation/next")
        resp = conn.getresponse()
        request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(resp.read())
        started = time.perf_counter()
        try:
            reply, hashing_ms = peer.handle(event)
        except Exception as e:
            post(conn, f"/invocation/{request_id}/error", {"errorMessage": str(e)})
            continue
        line = {
            "event": "request",
            "status": reply["statusCode"],
            "hashing_ms": round(hashing_ms, 3),
            "total_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        print(json.dumps(line), file=sys.stdout, flush=True)
        post(conn, f"/invocation/{request_id}/response", reply)


if __name__ == "__main__":
    main()
