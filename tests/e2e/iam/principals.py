"""Who runs which flows with which template resource's actions: each function with its
role, the admin CLI with OperatorPolicy; and the actions these flows cannot make
necessary."""

from iam.cli_flows import CLI_FLOWS
from iam.function_flows import AUTHORIZE_APP_FLOWS, TOKEN_AUTHORIZER_FLOWS
from iam.runs import Run
from iam.stack import AUTHORIZE_APP, TOKEN_AUTHORIZER
from iam_policies import granted

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
    # Granted only with Directory=cognito: tests/e2e/test_directories.py's Cognito runs
    # make the call, and tests/template/test_directory_iam.py checks the grant's resource.
    "cognito-idp:AdminInitiateAuth": "granted only with Directory=cognito; the flows here "
    "run the default deployment, whose users are the table's",
    # OperatorPolicy's, for user sync with Directory=cognito (tests/e2e/test_identity.py
    # runs it against moto's pools; test_directory_iam.py checks the grant's resource).
    "cognito-idp:ListUsers": "granted only with Directory=cognito, for user sync; the flows "
    "here run the default deployment, which has no directory",
}
# What Lambda calls to attach a function to a VPC (VpcSubnetIds), not the function's code.
NOT_EXERCISED.update(
    {
        action: "Lambda's own calls to attach the function to a VPC's "
        "subnets, not its code's; no Lambda service here"
        for action in (
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        )
    }
)


class Principal:
    """A function (its binary) or the admin CLI (no binary), the template resource whose
    actions it holds, read from template.yaml, and its [(flow name, flow)]."""

    def __init__(self, label, resource, binary, flows):
        self.label, self.resource, self.binary, self.flows = label, resource, binary, flows
        self.granted = granted(resource)
        self.exercised = sorted(a for a in self.granted if a not in NOT_EXERCISED)

    def __str__(self):
        return self.label

    def conditional(self):
        """The exercised actions granted only under a condition: {action: conditions}."""
        return {a: self.granted[a] for a in self.exercised if self.granted[a]}

    def not_exercised(self):
        """[(action, conditions, why)] of the actions no flow here can need."""
        return [
            (a, c, NOT_EXERCISED[a]) for a, c in sorted(self.granted.items()) if a in NOT_EXERCISED
        ]

    def run(self, stack, held, tag):
        """{flow name: Outcome} of every flow, run as a fresh IAM user holding `held`."""
        run = Run(stack, self.binary, held, tag)
        try:
            return run.flows(self.flows)
        finally:
            run.close()


PRINCIPALS = [
    Principal("authorize-app", "AuthorizeAppRole", AUTHORIZE_APP, AUTHORIZE_APP_FLOWS),
    Principal("token-authorizer", "TokenAuthorizerRole", TOKEN_AUTHORIZER, TOKEN_AUTHORIZER_FLOWS),
    Principal("direct-oauth-admin", "OperatorPolicy", None, CLI_FLOWS),
]
