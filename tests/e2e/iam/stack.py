"""A moto of the test's own that enforces IAM, and the stack in it: the tables and the
whitelist parameter as the admin CLI makes them, a CloudFormation stack whose outputs name
them (for `--stack NAME`), an administrator's key, and the gateway.

moto enforces IAM after INITIAL_NO_AUTH_ACTION_COUNT unauthenticated actions: the setup
spends some of them, and the rest are spent with an unknown key until moto refuses it."""

import contextlib
import http.client
import json
import os
import signal
import subprocess
import time
import uuid

import boto3

import local_moto
from conftest import ROOT, resources
from iam.admin import Admin
from iam.demo import CLIENT, DEVICE_CLIENT, PASSWORD, REDIRECT, REFRESHING, REGION
from iam.gateway import Gateway

ADMIN_CLI = os.path.join(ROOT, "target", "debug", "direct-oauth-admin")
AUTHORIZE_APP = os.path.join(ROOT, "target", "debug", "authorize-app")
TOKEN_AUTHORIZER = os.path.join(ROOT, "target", "debug", "token-authorizer")

# Unauthenticated actions moto serves before it checks IAM: an upper bound of what the
# setup needs (about 25: tables, demo data, the admin IAM user). What the setup leaves of
# it is spent with requests signed by an unknown key until moto refuses one, which is
# also the proof that enforcement is on.
NO_AUTH_ACTIONS = 200


# A stack in moto whose outputs name the test's tables and parameter, as template.yaml's do:
# src/resources.rs's list (`direct-oauth-admin env`), never typed out here.
def tables_of_the_list():
    return [r for r in resources() if r["kind"] == "table"]


def stack_outputs():
    outputs = {t["output"]: t["role"] for t in tables_of_the_list()}
    outputs["WhitelistParameterName"] = "parameter"
    return outputs


STACK_NAME = "iam-stack"


class Stack:
    """What the flows run against: `admin` (an Admin), `gateway`, `env` (the functions'
    and the CLI's environment, without credentials), `endpoint` (moto), and how many free
    actions the setup took (`setup_actions`) and were left to spend (`burned`)."""

    def __init__(self, admin, gateway, env, endpoint, burned):
        self.admin, self.gateway, self.env, self.endpoint = admin, gateway, env, endpoint
        self.setup_actions = NO_AUTH_ACTIONS - burned
        self.burned = burned


def table_names(tag):
    roles = [t["role"] for t in tables_of_the_list()] + ["bcrypt_users"]
    names = {role: f"{tag}-{role.replace('_', '-')}" for role in roles}
    names["parameter"] = f"/{tag}/client-whitelist"
    return names


def clean_env(endpoint, names):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DIRECT_OAUTH_"))}
    env.update(
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=endpoint,
        DIRECT_OAUTH_WHITELIST_CACHE_SECONDS="3600",
        DIRECT_OAUTH_LOG_LEVEL="info",
        DIRECT_OAUTH_WHITELIST_PARAMETER=names["parameter"],
    )
    env.update({t["variable"]: names[t["role"]] for t in tables_of_the_list()})
    return env


def provision_free(env, endpoint, names):
    """With free actions: the stack and its demo data, as the admin CLI makes them, and an
    IAM user that may do anything, for the setup that follows. Returns the template
    user's argon2id hash and that user's access key."""
    setup = dict(env, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")

    def free(*args, stdin=None):
        subprocess.run(
            [ADMIN_CLI, *args],
            input=stdin,
            env=setup,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )

    free("init")
    free("app", "add", CLIENT, "--redirect-uri", REDIRECT)
    free("whitelist", "add", CLIENT)
    free("app", "add", REFRESHING, "--redirect-uri", REDIRECT, "--refresh-tokens")
    free("whitelist", "add", REFRESHING)
    free("app", "add", DEVICE_CLIENT, "--redirect-uri", REDIRECT, "--device-grant")
    free("user", "add", "iam-template", "--password-stdin", stdin=PASSWORD + "\n")
    unsigned = Admin(endpoint, "testing", "testing", names)
    unsigned.ddb.create_table(
        TableName=names["bcrypt_users"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "username", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "username", "KeyType": "HASH"}],
    )
    argon2_hash = unsigned.user("iam-template")["password_hash"]["S"]
    unsigned.iam.create_user(UserName="iam-admin")
    unsigned.iam.put_user_policy(
        UserName="iam-admin",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    return argon2_hash, unsigned.iam.create_access_key(UserName="iam-admin")["AccessKey"]


def create_outputs_stack(endpoint, key, tag, names):
    """The CloudFormation stack `--stack STACK_NAME` reads the names from."""
    template = {
        "Resources": {
            "Marker": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": f"/{tag}/marker", "Type": "String", "Value": "x"},
            }
        },
        "Outputs": {o: {"Value": names[n]} for o, n in stack_outputs().items()},
    }
    boto3.client(
        "cloudformation",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    ).create_stack(StackName=STACK_NAME, TemplateBody=json.dumps(template))


def _unknown_key_list_tables(port):
    """(HTTP status, body) of a DynamoDB ListTables signed by a key moto does not know."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "POST",
        "/",
        body=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNKEY0000000/"
            f"{time.strftime('%Y%m%d', time.gmtime())}/{REGION}/dynamodb/"
            "aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        },
    )
    resp = conn.getresponse()
    answer = resp.status, resp.read().decode()
    conn.close()
    return answer


def burn_free_actions(port, limit):
    """Sends DynamoDB ListTables signed by a key moto does not know until moto refuses
    one: the free actions are spent and every later request is checked. Returns how many
    were spent."""
    for spent in range(limit + 1):
        status, answer = _unknown_key_list_tables(port)
        if status != 200:
            assert status == 403 and "security token" in answer.lower(), answer
            return spent
    raise AssertionError(
        f"moto still answered an unknown key after {limit} requests: IAM is not enforced"
    )


def signed_list_tables(endpoint, key, secret):
    """DynamoDB ListTables signed with `key`: (HTTP status, body). moto refuses in XML,
    which boto3's DynamoDB client cannot read, hence by hand."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
        },
    )
    SigV4Auth(Credentials(key, secret), "dynamodb", REGION).add_auth(request)
    port = int(endpoint.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/", body=b"{}", headers=dict(request.headers.items()))
    resp = conn.getresponse()
    answer = resp.status, resp.read().decode()
    conn.close()
    return answer


@contextlib.contextmanager
def enforcing_stack():
    """Starts the moto, provisions the stack, spends the free actions; yields a Stack and
    stops moto and the gateway when done."""
    for binary in (ADMIN_CLI, AUTHORIZE_APP, TOKEN_AUTHORIZER):
        assert os.path.exists(binary), f"{binary} is missing: cargo build --bins"
    moto, port = local_moto.start(env={"INITIAL_NO_AUTH_ACTION_COUNT": str(NO_AUTH_ACTIONS)})
    gateway = Gateway(port)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        tag = "iam-" + uuid.uuid4().hex[:6]
        names = table_names(tag)
        env = clean_env(endpoint, names)
        argon2_hash, key = provision_free(env, endpoint, names)
        burned = burn_free_actions(port, NO_AUTH_ACTIONS)
        admin = Admin(endpoint, key["AccessKeyId"], key["SecretAccessKey"], names)
        admin.argon2_hash = argon2_hash
        create_outputs_stack(endpoint, key, tag, names)
        yield Stack(admin, gateway, env, endpoint, burned)
    finally:
        gateway.close()
        os.killpg(moto.pid, signal.SIGKILL)
        moto.wait()
