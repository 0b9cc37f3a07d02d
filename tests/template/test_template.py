"""template.yaml: cfn-lint (pinned 1.53.3) and `sam validate` pass on it and fail on broken
copies, and the properties the deployment relies on are there."""

import os
import re
import signal
import subprocess
import time

import pytest
from cfnlint.decode import decode_str

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "template.yaml")
BIN = os.path.join(ROOT, ".venv", "bin")
ENV = dict(os.environ, SAM_CLI_TELEMETRY="0")


def text():
    with open(TEMPLATE) as f:
        return f.read()


def parsed(source=None):
    template, errors = decode_str(source or text())
    assert not errors, errors
    return template


def cfn_lint(path):
    return subprocess.run(
        [os.path.join(BIN, "cfn-lint"), path], capture_output=True, text=True, env=ENV
    )


def sam_validate(path):
    return subprocess.run(
        [os.path.join(BIN, "sam"), "validate", "--region", "us-east-1", "--template-file", path],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=os.path.dirname(path),
    )


def test_cfn_lint_passes():
    out = cfn_lint(TEMPLATE)
    assert out.returncode == 0, out.stdout + out.stderr


def test_sam_validate_passes():
    out = sam_validate(TEMPLATE)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "is a valid SAM Template" in out.stdout + out.stderr


BROKEN = {
    "unknown runtime": ("Runtime: provided.al2023", "Runtime: provided.al9999"),
    "reference to nothing": ("!Ref FailedLoginsTable\n", "!Ref NoSuchTable\n"),
    "bad billing mode": ("BillingMode: PAY_PER_REQUEST", "BillingMode: FREE"),
    "event without a path": ("Path: /oauth/authorizeapp", "Pth: /oauth/authorizeapp"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_lint_fails_on_a_broken_copy(name, tmp_path):
    old, new = BROKEN[name]
    source = text()
    assert old in source, f"the breakage {name!r} no longer applies"
    broken = tmp_path / "template.yaml"
    broken.write_text(source.replace(old, new, 1))
    out = cfn_lint(str(broken))
    assert out.returncode != 0, f"cfn-lint passed a template with {name}"


def test_sam_validate_fails_on_a_broken_copy(tmp_path):
    broken = tmp_path / "template.yaml"
    broken.write_text(text().replace("Type: HttpApi", "Type: HttpApiX", 1))
    out = sam_validate(str(broken))
    assert out.returncode != 0, out.stdout


def resources():
    return parsed()["Resources"]


def test_function_is_arm64_al2023_cargo_lambda_with_json_logs():
    t = parsed()
    glob = t["Globals"]["Function"]
    fn = t["Resources"]["AuthorizeAppFunction"]
    assert glob["Runtime"] == "provided.al2023"
    assert glob["Architectures"] == ["arm64"]
    assert isinstance(glob["MemorySize"], int) and isinstance(glob["Timeout"], int)
    assert fn["Metadata"] == {
        "BuildMethod": "rust-cargolambda",
        "BuildProperties": {"Binary": "authorize-app"},
    }
    assert fn["Properties"]["Handler"] == "bootstrap"
    assert glob["LoggingConfig"]["LogFormat"] == "JSON"
    assert glob["LoggingConfig"]["ApplicationLogLevel"] == {"Ref": "LogLevel"}
    assert fn["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": "AuthorizeAppLogGroup"}}
    assert "RetentionInDays" in t["Resources"]["AuthorizeAppLogGroup"]["Properties"]
    event = fn["Properties"]["Events"]["AuthorizeApp"]
    assert event["Type"] == "HttpApi"
    assert event["Properties"]["Path"] == "/oauth/authorizeapp"


def test_every_config_variable_is_wired():
    """The tunables; the tables' and the parameter's variables: test_resources.py."""
    env = resources()["AuthorizeAppFunction"]["Properties"]["Environment"]["Variables"]
    for name in [
        "CODE_LIFETIME_SECONDS",
        "ISSUER",
        "WHITELIST_STALE_SECONDS",
        "DPOP_WINDOW_SECONDS",
        "DPOP_NONCE_SECONDS",
    ]:
        assert f"DIRECT_OAUTH_{name}" in env
    authorizer = resources()["TokenAuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    for name in ["DPOP_PROOFS_TABLE", "DPOP_WINDOW_SECONDS", "API_URL"]:
        assert f"DIRECT_OAUTH_{name}" in authorizer


def test_tables_are_on_demand_encrypted_recoverable_with_ttl():
    r = resources()
    for name in [
        "UsersTable",
        "ApplicationsTable",
        "TokensTable",
        "FailedLoginsTable",
        "UserTokensTable",
        "RefreshTokensTable",
    ]:
        p = r[name]["Properties"]
        assert p["BillingMode"] == "PAY_PER_REQUEST", name
        assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert p["SSESpecification"] == {"SSEEnabled": True}, name
    for name in ["TokensTable", "FailedLoginsTable", "UserTokensTable", "RefreshTokensTable"]:
        ttl = r[name]["Properties"]["TimeToLiveSpecification"]
        assert ttl == {"AttributeName": "expires_at", "Enabled": True}


def test_the_refresh_tokens_table_is_keyed_by_family_and_kept_as_the_tokens_are():
    """One item per family under its id (src/store/dynamodb/refresh.rs), removed by the TTL
    at its absolute end; retained with the stack as the tokens table is, whose access
    tokens it lists (a deleted stack must not take the families and leave the tokens)."""
    r = resources()
    table, tokens = r["RefreshTokensTable"], r["TokensTable"]
    p = table["Properties"]
    assert p["KeySchema"] == [{"AttributeName": "family_id", "KeyType": "HASH"}]
    assert p["AttributeDefinitions"] == [{"AttributeName": "family_id", "AttributeType": "S"}]
    assert "GlobalSecondaryIndexes" not in p and "StreamSpecification" not in p
    for policy in ["DeletionPolicy", "UpdateReplacePolicy"]:
        assert table[policy] == tokens[policy] == "Retain", policy


def refresh_grants(statements_of):
    """The DynamoDB actions that `statements_of` grant on the refresh-tokens table, or on a
    wildcard that would match it."""
    found = set()
    for s in statements_of:
        named = str(s.get("Resource"))
        if "RefreshTokensTable" in named or named in ("*", "['*']"):
            acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            found.update(a for a in acts if a.startswith("dynamodb:"))
    return found


def test_only_the_function_reaches_the_refresh_tokens_table_and_deletes_no_family():
    """The function reads a family, writes it in the token's transaction (a conditional
    Put) and revokes it (UpdateItem): those three actions, nothing that deletes, scans or
    queries one. The authorizer never reads families (a refresh token is not an access
    token): neither its role nor its environment names the table; nor do the sample's,
    user sync's or the operators' (token revoke --user and --client end families through
    the user's and the application's epochs, which every refresh reads)."""
    r = resources()
    every = [
        s for condition in (None, "UseDirectory", "InVpc") for s in statements(condition=condition)
    ]
    assert refresh_grants(every) == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    for role in ["TokenAuthorizerRole", "WhoAmIRole", "UserSyncRole"]:
        held = [s for c in (None, "UseTracing", "InVpc") for s in statements(role, condition=c)]
        assert refresh_grants(held) == set(), role
    operator = r["OperatorPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert refresh_grants(s["Fn::If"][1] if "Fn::If" in s else s for s in operator) == set()
    for name, fn in r.items():
        if fn["Type"] != "AWS::Serverless::Function" or name == "AuthorizeAppFunction":
            continue
        variables = fn["Properties"].get("Environment", {}).get("Variables", {})
        assert "DIRECT_OAUTH_REFRESH_TOKENS_TABLE" not in variables, name


def policies(role):
    """A role's inline policies, each with the condition it holds under (or None)."""
    for policy in resources()[role]["Properties"]["Policies"]:
        if "Fn::If" in policy:
            yield policy["Fn::If"][0], policy["Fn::If"][1]
        else:
            yield None, policy


def statements(role="AuthorizeAppRole", condition=None):
    for held_under, policy in policies(role):
        if held_under != condition:
            continue
        for s in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in s:
                s = s["Fn::If"][1]
            yield s


def test_iam_is_least_privilege():
    allowed = {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:ConditionCheckItem",
        # The pages' sessions end with a delete (sign-out), and a person's authorization
        # item when they end the application's access (the user-tokens table).
        "dynamodb:DeleteItem",
        # The person's pages: their authorized applications and token entries (the
        # user-tokens table), and the registered applications (the applications table).
        "dynamodb:Query",
        "dynamodb:Scan",
        "ssm:GetParameter",
        "kms:Decrypt",
    }
    seen = set()
    for s in statements():
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        seen.update(actions)
        assert s["Effect"] == "Allow"
        assert "*" not in str(s["Resource"]).replace(":*", ""), s
        assert not any("*" in a for a in actions), s
    assert seen == allowed
    # No managed policies: the function's role holds only the statements above.
    assert "ManagedPolicyArns" not in resources()["AuthorizeAppRole"]["Properties"]


def test_tracing_is_a_parameter_and_grants_only_xray_writes():
    for role in ["AuthorizeAppRole", "TokenAuthorizerRole"]:
        xray = list(statements(role, condition="UseTracing"))
        assert len(xray) == 1, role
        assert sorted(xray[0]["Action"]) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    assert parsed()["Globals"]["Function"]["Tracing"] == {
        "Fn::If": ["UseTracing", "Active", "PassThrough"]
    }


def test_kms_decrypt_only_for_a_secure_string():
    kms = [s for s in statements() if s["Action"] == "kms:Decrypt"]
    assert len(kms) == 1
    assert "kms:ViaService" in kms[0]["Condition"]["StringEquals"]
    assert re.search(r"SecureWhitelist", text())
    assert resources()["WhitelistParameter"]["Condition"] == "CreateWhitelistParameter"


def test_outputs_name_the_endpoints():
    """The tables' and the parameter's outputs: test_resources.py."""
    outputs = parsed()["Outputs"]
    for name in ["Endpoint", "RevokeEndpoint", "TokenEndpoint", "DiscoveryEndpoint"]:
        assert name in outputs


def test_authorizer_reads_tokens_and_users_and_guards_the_sample_route():
    r = resources()
    fn = r["TokenAuthorizerFunction"]
    assert fn["Metadata"]["BuildProperties"]["Binary"] == "token-authorizer"
    actions, read = set(), set()
    for s in statements("TokenAuthorizerRole"):
        acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        actions.update(acts)
        if any(a.startswith("dynamodb:") for a in acts):
            named = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            read |= {(a, r["Fn::GetAtt"][0]) for a in acts for r in named}
    # DPoP: a proof's jti is spent in the proofs' own table (and read back after a lost
    # answer); the authorizer can write no code. An API token's last use is its one write
    # on the tokens table. A token is read with its user and application in one
    # BatchGetItem; one issued before tokens named them, alone first (GetItem).
    assert read == {
        ("dynamodb:GetItem", "TokensTable"),
        ("dynamodb:BatchGetItem", "TokensTable"),
        ("dynamodb:UpdateItem", "TokensTable"),
        ("dynamodb:BatchGetItem", "UsersTable"),
        ("dynamodb:BatchGetItem", "ApplicationsTable"),
        ("dynamodb:PutItem", "DpopProofsTable"),
        ("dynamodb:GetItem", "DpopProofsTable"),
    }
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    # That write may name last_used_at and the token's key, nothing else of a token (its
    # revocation, expiry, scopes, owner), and return nothing.
    (use,) = [s for s in statements("TokenAuthorizerRole") if "dynamodb:UpdateItem" in s["Action"]]
    assert use["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["token_id", "last_used_at"]},
        "StringEqualsIfExists": {"dynamodb:ReturnValues": "NONE"},
    }
    auth = r["HttpApi"]["Properties"]["Auth"]["Authorizers"]["TokenAuthorizer"]
    assert auth["AuthorizerPayloadFormatVersion"] == "2.0"
    assert auth["EnableSimpleResponses"] is True
    assert auth["Identity"]["ReauthorizeEvery"] == 0, "no caching: revocation is immediate"
    route = r["WhoAmIFunction"]["Properties"]["Events"]["WhoAmI"]["Properties"]
    assert route["Auth"]["Authorizer"] == "TokenAuthorizer"
    revoke = r["AuthorizeAppFunction"]["Properties"]["Events"]["Revoke"]["Properties"]
    assert revoke["Path"] == "/oauth/revoke"


def test_names_are_stack_scoped_and_redeploy_never_meets_a_leftover():
    r = resources()
    assert parsed()["Parameters"]["WhitelistParameterName"]["Default"] == ""
    assert "${AWS::StackName}" in str(r["WhitelistParameter"]["Properties"]["Name"])
    for group in ["AuthorizeAppLogGroup", "TokenAuthorizerLogGroup"]:
        # Retained for the audit lines, under generated names: a redeploy makes new ones.
        assert "LogGroupName" not in r[group]["Properties"], group
    for name, res in r.items():
        props = res.get("Properties") or {}
        for key in ["TableName", "FunctionName", "LogGroupName", "RoleName", "TopicName"]:
            if res["Type"] != "AWS::Lambda::Permission":
                assert key not in props, (name, key)


def test_a_function_url_is_granted_both_actions_new_urls_need():
    r = resources()
    url = r["FunctionUrlPermission"]["Properties"]
    invoke = r["FunctionUrlInvokePermission"]["Properties"]
    assert (url["Action"], url["FunctionUrlAuthType"]) == ("lambda:InvokeFunctionUrl", "NONE")
    assert (invoke["Action"], invoke["InvokedViaFunctionUrl"]) == ("lambda:InvokeFunction", True)
    for name in ["FunctionUrlPermission", "FunctionUrlInvokePermission"]:
        assert r[name]["Condition"] == "UseFunctionUrl"


def test_the_api_is_throttled_and_concurrency_can_be_reserved():
    r = resources()
    route = r["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert route == {
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
    }
    stage = r["RestStage"]["Properties"]["MethodSettings"][0]
    assert stage["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    reserved = r["AuthorizeAppFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved["Fn::If"][0] == "HasReservedConcurrency"


def test_the_sample_is_optional_and_the_authorizer_is_exported():
    r, outputs = resources(), parsed()["Outputs"]
    assert r["WhoAmIFunction"]["Condition"] == "UseSample"
    assert outputs["ProtectedSampleEndpoint"]["Condition"] == "UseSample"
    assert outputs["AuthorizerFunctionArn"]["Export"]["Name"] == {
        "Fn::Sub": "${AWS::StackName}-AuthorizerArn"
    }
    assert outputs["HttpApiId"]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-HttpApiId"}


def test_alarms_cover_errors_throttles_5xx_and_login_spikes():
    r = resources()
    alarms = {n: a["Properties"] for n, a in r.items() if a["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {(a.get("Namespace"), a.get("MetricName")) for a in alarms.values()}
    assert {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/ApiGateway", "5xx"),
        ("DirectOAuth", "Status401"),
        ("DirectOAuth", "Status429"),
    } <= watched
    assert any("ThrottledRequests" in str(a.get("Metrics")) for a in alarms.values())
    for name, a in alarms.items():
        assert a["AlarmActions"] == {
            "Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]
        }, name
    assert r["AlarmTopic"]["Condition"] == "HasAlarmEmail"


def test_every_parameter_reaches_a_resource():
    t = text()
    for name in parsed()["Parameters"]:
        uses = len(re.findall(r"(!Ref |Ref: |\$\{)" + name + r"\b", t))
        assert uses >= 1, name


def test_sam_build_starts_without_a_prompt_with_stdin_closed(tmp_path):
    """samconfig.toml turns on the beta feature SAM's rust-cargolambda builds need; without
    it `sam build` stops at a y/N prompt (and, with stdin closed, aborts). The build is
    stopped as soon as cargo-lambda is called: only the absence of a prompt is checked."""
    out = tmp_path / "sam.log"
    with open(out, "w") as log:
        proc = subprocess.Popen(
            [
                os.path.join(BIN, "sam"),
                "build",
                "--config-env",
                "default",
                "--build-dir",
                str(tmp_path / "build"),
                "--cache-dir",
                str(tmp_path / "cache"),
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(ENV, PATH=BIN + os.pathsep + ENV.get("PATH", "")),
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if "Running RustCargoLambdaBuilder" in out.read_text():
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    seen = out.read_text()
    assert "y/N" not in seen and "Aborted" not in seen, seen
    assert "Experimental features are enabled" in seen, "samconfig.toml turns on beta features"
    assert "Running RustCargoLambdaBuilder" in seen, seen


def test_the_operator_policy_names_actions_and_resources():
    """OperatorPolicy: direct-oauth-admin's actions on this stack's own resources, never a
    wildcard action or resource (tests/e2e/test_iam.py shows each action is needed)."""
    r, outputs = resources(), parsed()["Outputs"]
    policy = r["OperatorPolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert "ManagedPolicyName" not in policy["Properties"], "a generated, stack-scoped name"
    actions = set()
    for s in policy["Properties"]["PolicyDocument"]["Statement"]:
        if "Fn::If" in s:
            assert s["Fn::If"][0] in ("SecureWhitelist", "UseLdap", "UseCognito"), s
            s = s["Fn::If"][1]
        acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        actions.update(acts)
        assert s["Effect"] == "Allow"
        assert not any("*" in a for a in acts), s
        resource = str(s["Resource"])
        assert resource != "*" and "'*'" not in resource, s
        # Only ARN tails may end in a wildcard: a stack's id, a table's indexes.
        assert "*" not in resource.replace("/*", ""), s
        if any(a.startswith("kms:") for a in acts):
            assert "kms:ViaService" in s["Condition"]["StringEquals"], s
    assert "dynamodb:CreateTable" not in actions, "init is for local stacks only"
    assert {"cloudformation:DescribeStacks", "dynamodb:Query", "ssm:PutParameter"} <= actions
    assert outputs["OperatorPolicyArn"]["Value"] == {"Ref": "OperatorPolicy"}


def rest_path(r, resource_id):
    """The path of a REST API resource (a Ref to it, or the API's root)."""
    if "Ref" not in resource_id:
        return ""
    p = r[resource_id["Ref"]]["Properties"]
    return rest_path(r, p["ParentId"]) + "/" + p["PathPart"]


def test_every_endpoint_has_a_route_on_each_front_door():
    r = resources()
    paths = {
        e["Properties"]["Path"] for e in r["AuthorizeAppFunction"]["Properties"]["Events"].values()
    }
    assert paths == {
        "/oauth/authorizeapp",
        "/oauth/revoke",
        "/oauth/access_token",
        "/oauth/token",
        "/oauth/introspect",
        "/.well-known/oauth-authorization-server",
        "/oauth/authorize",
        "/oauth/signin",
        "/oauth/signout",
        "/oauth/tokens",
        "/oauth/tokens/revoke",
        "/oauth/applications",
        "/oauth/applications/revoke",
        "/oauth/device_authorization",
        "/oauth/device",
    }
    rest = {
        rest_path(r, {"Ref": lid})
        for lid, res in r.items()
        if res["Type"] == "AWS::ApiGateway::Resource"
    }
    assert paths <= rest
    # The stage's deployment is made after every method, or it may miss the newest.
    (deployment,) = [res for res in r.values() if res["Type"] == "AWS::ApiGateway::Deployment"]
    methods = {lid for lid, res in r.items() if res["Type"] == "AWS::ApiGateway::Method"}
    assert set(deployment["DependsOn"]) == methods
    codes = r["CodesTable"]["Properties"]
    assert codes["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert codes["KeySchema"] == [{"AttributeName": "code_sha256", "KeyType": "HASH"}]
    proofs = r["DpopProofsTable"]["Properties"]
    assert proofs["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert proofs["KeySchema"] == [{"AttributeName": "replay_key", "KeyType": "HASH"}]


def test_every_directory_variable_is_wired():
    """The directory's variables, as src/config/directory.rs lists them, each set by the
    template (from the parameter of the same idea)."""
    with open(os.path.join(ROOT, "src", "config", "directory.rs")) as f:
        listed = re.findall(r'\("(DIRECT_OAUTH_[A-Z_]+)",', f.read())
    assert len(listed) >= 15, listed
    env = resources()["AuthorizeAppFunction"]["Properties"]["Environment"]["Variables"]
    assert sorted(set(listed) - set(env)) == []


def test_the_scheduled_user_sync_follows_the_function_s_directory_and_writes_only_users():
    """UserSyncFunction (with a directory and a UserSyncSchedule): the same directory
    variables as the function, a schedule, and a role that reads and updates the users
    table and nothing else of the data, plus the directory's one read."""
    r = resources()
    fn = r["UserSyncFunction"]
    assert fn["Condition"] == "SyncUsers"
    assert fn["Metadata"]["BuildProperties"]["Binary"] == "user-sync"
    sync_env = fn["Properties"]["Environment"]["Variables"]
    main_env = r["AuthorizeAppFunction"]["Properties"]["Environment"]["Variables"]
    directory = {
        k: v
        for k, v in main_env.items()
        if k.startswith(("DIRECT_OAUTH_LDAP_", "DIRECT_OAUTH_COGNITO_"))
        or k == "DIRECT_OAUTH_DIRECTORY"
    }
    assert len(directory) >= 15
    for name, value in directory.items():
        assert sync_env.get(name) == value, name
    assert sync_env["DIRECT_OAUTH_USERS_TABLE"] == {"Ref": "UsersTable"}
    event = fn["Properties"]["Events"]["Schedule"]
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == {"Ref": "UserSyncSchedule"}
    data = [
        s
        for s in statements("UserSyncRole")
        if any(
            a.startswith("dynamodb:")
            for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        )
    ]
    assert data == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:Scan", "dynamodb:UpdateItem"],
            "Resource": {"Fn::GetAtt": ["UsersTable", "Arn"]},
        }
    ]
