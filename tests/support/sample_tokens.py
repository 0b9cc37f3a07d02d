#!/usr/bin/env python3
"""Writes the records of the sample tokens used by events/token-authorizer/ into the
local stack's tokens table (valid, expired, revoked; the "unknown" one stays unknown).
Local stacks only: these tokens are public."""

import hashlib
import os
import sys
import time

import boto3

from gen_events import BOUND_TOKEN, SAMPLE_DPOP_JKT, SAMPLE_TOKENS


def write(table=None, username="username", client_id="some_client_id"):
    table = table or os.environ.get("DIRECT_OAUTH_TOKENS_TABLE", "direct-oauth-tokens")
    ddb = boto3.client("dynamodb")
    # Issued under the application's token epoch (random at `app add`), as a login would.
    apps = os.environ.get("DIRECT_OAUTH_APPLICATIONS_TABLE", "direct-oauth-applications")
    app = ddb.get_item(
        TableName=apps, Key={"client_id": {"S": client_id}}, ConsistentRead=True
    ).get("Item", {})
    epoch = app.get("token_epoch", {"N": "0"})
    now = int(time.time())
    for name in ("valid", "expired", "revoked"):
        token = SAMPLE_TOKENS[name]
        item = {
            "token_id": {"S": token[:22]},
            "secret_sha256": {"B": hashlib.sha256(token[22:].encode()).digest()},
            "username": {"S": username},
            "client_id": {"S": client_id},
            "scopes": {"L": [{"S": "repo:read"}, {"S": "org:admin"}]},
            "issued_at": {"N": str(now - 3600)},
            "expires_at": {"N": str(now - 60 if name == "expired" else now + 315576000)},
            "client_epoch": epoch,
        }
        if name == "revoked":
            item["revoked_at"] = {"N": str(now - 30)}
        ddb.put_item(TableName=table, Item=item)
    bound = BOUND_TOKEN
    ddb.put_item(
        TableName=table,
        Item={
            "token_id": {"S": bound[:22]},
            "secret_sha256": {"B": hashlib.sha256(bound[22:].encode()).digest()},
            "username": {"S": username},
            "client_id": {"S": client_id},
            "scopes": {"L": [{"S": "repo:read"}]},
            "issued_at": {"N": str(now - 3600)},
            "expires_at": {"N": str(now + 3600)},
            "client_epoch": epoch,
            "dpop_jkt": {"S": SAMPLE_DPOP_JKT},
        },
    )


if __name__ == "__main__":
    write()
    print("sample tokens written: valid, expired, revoked, DPoP-bound", file=sys.stderr)
