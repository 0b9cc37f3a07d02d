"""template.yaml: cfn-lint (pinned 1.53.3) and `sam validate` pass on it and fail on broken
copies, and the properties the deployment relies on are there."""

import os
import re
import subprocess

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
    return subprocess.run([os.path.join(BIN, "cfn-lint"), path], capture_output=True, text=True,
                          env=ENV)


def sam_validate(path):
    return subprocess.run([os.path.join(BIN, "sam"), "validate", "--region", "us-east-1",
                           "--template-file", path], capture_output=True, text=True, env=ENV,
                          cwd=os.path.dirname(path))


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
    assert fn["Metadata"] == {"BuildMethod": "rust-cargolambda",
                              "BuildProperties": {"Binary": "authorize-app"}}
    assert fn["Properties"]["Handler"] == "bootstrap"
    assert fn["Properties"]["LoggingConfig"]["LogFormat"] == "JSON"
    assert "RetentionInDays" in t["Resources"]["AuthorizeAppLogGroup"]["Properties"]
    event = fn["Properties"]["Events"]["AuthorizeApp"]
    assert event["Type"] == "HttpApi"
    assert event["Properties"]["Path"] == "/oauth/authorizeapp"


def test_every_config_variable_is_wired():
    env = resources()["AuthorizeAppFunction"]["Properties"]["Environment"]["Variables"]
    for name in ["USERS", "APPLICATIONS", "TOKENS", "FAILED_LOGINS", "USER_TOKENS"]:
        assert f"DIRECT_OAUTH_{name}_TABLE" in env
    assert "DIRECT_OAUTH_WHITELIST_PARAMETER" in env


def test_tables_are_on_demand_encrypted_recoverable_with_ttl():
    r = resources()
    for name in ["UsersTable", "ApplicationsTable", "TokensTable", "FailedLoginsTable",
                 "UserTokensTable"]:
        p = r[name]["Properties"]
        assert p["BillingMode"] == "PAY_PER_REQUEST", name
        assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert p["SSESpecification"] == {"SSEEnabled": True}, name
    for name in ["TokensTable", "FailedLoginsTable", "UserTokensTable"]:
        ttl = r[name]["Properties"]["TimeToLiveSpecification"]
        assert ttl == {"AttributeName": "expires_at", "Enabled": True}


def statements():
    role = resources()["AuthorizeAppRole"]["Properties"]
    for policy in role["Policies"]:
        for s in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in s:
                s = s["Fn::If"][1]
            yield s


def test_iam_is_least_privilege():
    allowed = {"logs:CreateLogStream", "logs:PutLogEvents", "dynamodb:BatchGetItem",
               "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
               "dynamodb:GetItem", "dynamodb:ConditionCheckItem",
               "ssm:GetParameter", "kms:Decrypt"}
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


def test_kms_decrypt_only_for_a_secure_string():
    kms = [s for s in statements() if s["Action"] == "kms:Decrypt"]
    assert len(kms) == 1
    assert "kms:ViaService" in kms[0]["Condition"]["StringEquals"]
    assert re.search(r"SecureWhitelist", text())
    assert resources()["WhitelistParameter"]["Condition"] == "CreateWhitelistParameter"


def test_outputs_name_the_endpoint_tables_and_parameter():
    outputs = parsed()["Outputs"]
    for name in ["Endpoint", "UsersTableName", "ApplicationsTableName", "TokensTableName", "UserTokensTableName",
                 "FailedLoginsTableName", "WhitelistParameterName"]:
        assert name in outputs


def test_authorizer_reads_one_table_and_guards_the_sample_route():
    r = resources()
    fn = r["TokenAuthorizerFunction"]
    assert fn["Metadata"]["BuildProperties"]["Binary"] == "token-authorizer"
    actions = set()
    for policy in r["TokenAuthorizerRole"]["Properties"]["Policies"]:
        for s in policy["PolicyDocument"]["Statement"]:
            acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            actions.update(acts)
            if "dynamodb:GetItem" in acts:
                assert s["Resource"] == {"Fn::GetAtt": ["TokensTable", "Arn"]}
    assert actions == {"dynamodb:GetItem", "logs:CreateLogStream", "logs:PutLogEvents"}
    auth = r["HttpApi"]["Properties"]["Auth"]["Authorizers"]["TokenAuthorizer"]
    assert auth["AuthorizerPayloadFormatVersion"] == "2.0"
    assert auth["EnableSimpleResponses"] is True
    assert auth["Identity"]["ReauthorizeEvery"] == 0, "no caching: revocation is immediate"
    route = r["WhoAmIFunction"]["Properties"]["Events"]["WhoAmI"]["Properties"]
    assert route["Auth"]["Authorizer"] == "TokenAuthorizer"
    revoke = r["AuthorizeAppFunction"]["Properties"]["Events"]["Revoke"]["Properties"]
    assert revoke["Path"] == "/oauth/revoke"
