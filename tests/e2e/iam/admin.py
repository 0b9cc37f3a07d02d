"""The stack's administrator: a key that may do anything (after moto's free actions),
for the data a flow starts from, the checks of what it left, and the test's IAM users."""

import contextlib
import hashlib
import json
import secrets
import time
import uuid

import boto3

from iam.demo import CLIENT, REDIRECT, REGION
from iam.gateway import MOTO_TRANSACTION_ACTION


class Admin:
    """Setup and checks with a key that may do anything (after the free actions)."""

    def __init__(self, endpoint, key, secret, names):
        kw = dict(
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )
        self.ddb = boto3.client("dynamodb", **kw)
        self.ssm = boto3.client("ssm", **kw)
        self.iam = boto3.client("iam", **kw)
        self.t = names
        self.argon2_hash = None

    def put_user(self, name, password_hash=None, enabled=True, table=None):
        self.ddb.put_item(
            TableName=table or self.t["users"],
            Item={
                "username": {"S": name},
                "password_hash": {"S": password_hash or self.argon2_hash},
                "generation": {"N": "0"},
                "enabled": {"BOOL": enabled},
                "superuser": {"BOOL": False},
            },
        )

    def user(self, name):
        return self.ddb.get_item(
            TableName=self.t["users"], Key={"username": {"S": name}}, ConsistentRead=True
        ).get("Item")

    def mint_token(self, username, revoked=False, client_id=CLIENT, jkt=None, name=None):
        """A token stored as the function stores one, issued to `client_id`, for a user
        that exists (put here if it does not: a check reads the user); with a `name`, an
        API token (whose use the authorizer writes down); returns the whole token."""
        with contextlib.suppress(self.ddb.exceptions.ConditionalCheckFailedException):
            self.ddb.put_item(
                TableName=self.t["users"],
                Item={
                    "username": {"S": username},
                    "password_hash": {"S": self.argon2_hash},
                    "generation": {"N": "0"},
                    "enabled": {"BOOL": True},
                    "superuser": {"BOOL": False},
                },
                ConditionExpression="attribute_not_exists(username)",
            )
        token = secrets.token_urlsafe(16)[:22] + secrets.token_urlsafe(32)[:43]
        now = int(time.time())
        item = {
            "token_id": {"S": token[:22]},
            "secret_sha256": {"B": hashlib.sha256(token[22:].encode()).digest()},
            "username": {"S": username},
            "client_id": {"S": client_id},
            "scopes": {"L": [{"S": "repo:read"}]},
            "issued_at": {"N": str(now)},
            "expires_at": {"N": str(now + 3600)},
        }
        if revoked:
            item["revoked_at"] = {"N": str(now)}
        if jkt:  # bound to a DPoP key
            item["dpop_jkt"] = {"S": jkt}
        if name:
            item["name"] = {"S": name}
        # TokenResponse under the application's token epoch, as a login would.
        epoch = (self.app(client_id) or {}).get("token_epoch", {"N": "0"})
        item["client_epoch"] = epoch
        self.ddb.put_item(TableName=self.t["tokens"], Item=item)
        self.ddb.put_item(
            TableName=self.t["user_tokens"],
            Item={
                "username": {"S": username},
                "token_id": {"S": token[:22]},
                "expires_at": {"N": str(now + 3600)},
            },
        )
        return token

    def token(self, token_id):
        return self.ddb.get_item(
            TableName=self.t["tokens"], Key={"token_id": {"S": token_id}}, ConsistentRead=True
        ).get("Item")

    def revoke(self, token_id):
        self.ddb.update_item(
            TableName=self.t["tokens"],
            Key={"token_id": {"S": token_id}},
            UpdateExpression="SET revoked_at = :now",
            ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
        )

    def family(self, family_id):
        """A refresh token family as stored (the refresh-tokens table), or None."""
        return self.ddb.get_item(
            TableName=self.t["refresh_tokens"],
            Key={"family_id": {"S": family_id}},
            ConsistentRead=True,
        ).get("Item")

    def authorized(self, username, client_id):
        """The person's authorization item for the application (user-tokens table), or
        None."""
        return self.ddb.get_item(
            TableName=self.t["user_tokens"],
            Key={"username": {"S": username}, "token_id": {"S": f":authorized:{client_id}"}},
            ConsistentRead=True,
        ).get("Item")

    def tokens_of(self, username):
        items = []
        for page in self.ddb.get_paginator("scan").paginate(
            TableName=self.t["tokens"],
            ConsistentRead=True,
            FilterExpression="username = :u",
            ExpressionAttributeValues={":u": {"S": username}},
        ):
            items += page["Items"]
        return items

    def failed_logins(self, username):
        return self.ddb.get_item(
            TableName=self.t["failed_logins"],
            Key={"username": {"S": username}},
            ConsistentRead=True,
        ).get("Item")

    def put_app(self, client_id, name="before", secret=None, api_token_cap=None):
        item = {
            "client_id": {"S": client_id},
            "name": {"S": name},
            "redirect_uris": {"L": [{"S": REDIRECT}]},
        }
        if api_token_cap:  # the other terms absent: their defaults
            item["api_token_cap"] = {"N": str(api_token_cap)}
        if secret:
            item["secret_sha256"] = {"B": hashlib.sha256(secret.encode()).digest()}
        self.ddb.put_item(TableName=self.t["applications"], Item=item)

    def app(self, client_id):
        return self.ddb.get_item(
            TableName=self.t["applications"],
            Key={"client_id": {"S": client_id}},
            ConsistentRead=True,
        ).get("Item")

    def whitelist(self):
        value = self.ssm.get_parameter(Name=self.t["parameter"])["Parameter"]["Value"]
        return {i for i in value.split(",") if i}

    def set_whitelist(self, ids):
        self.ssm.put_parameter(
            Name=self.t["parameter"],
            Value=",".join(sorted(ids)) or ",",
            Type="StringList",
            Overwrite=True,
        )

    def empty_table(self, table):
        for page in self.ddb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                self.ddb.delete_item(TableName=table, Key={"username": item["username"]})

    def principal(self, label, actions):
        """An IAM user holding exactly `actions` on "*" (and the moto artefact); returns
        its access key and secret."""
        name = f"iam-{label}-{uuid.uuid4().hex[:6]}"
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(
            UserName=name,
            PolicyName="held",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": sorted(set(actions) | {MOTO_TRANSACTION_ACTION}),
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]
