"""What a deployment (deploy_model.Deployment) lets in: every door to a Lambda function (an
HTTP or REST API's route or authorizer, a function URL) with the AWS::Lambda::Permission
that opens it, and the problems found, by kind:

- invoke: a route or authorizer whose function no permission lets API Gateway invoke for it
  (API Gateway then answers 500);
- url: a public function URL without both permissions a new URL needs;
- reserved: a public function URL on a function with no reserved concurrency;
- star: an action granted on Resource "*" other than the few that take no resource;
- exposure: a permission or trust policy that lets in more than its door (anyone invoking
  the function directly, an API of any account, a role anyone may assume)."""

import re
from dataclasses import dataclass, field

from deploy_model import ACCOUNT, REGION
from iam_decide import wildcard

APIGATEWAY = "apigateway.amazonaws.com"
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
INVOKE = ("lambda:InvokeFunction", "lambda:*", "*")

# Actions IAM authorizes only on Resource "*" (they name no resource): the only ones a
# statement may grant on "*". X-Ray's are what active tracing and its SDKs call; EC2's are
# what Lambda calls to attach a function to a VPC (AWSLambdaVPCAccessExecutionRole grants
# them on "*": the interfaces it makes have no ARN until they exist).
STAR_ONLY = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
        "cloudwatch:PutMetricData",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
)

# AWS managed policies a role may attach, with their statements as AWS publishes them, so
# that they are checked like the template's own; any other managed ARN is a problem.
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
}
POLICY_NAMES = {arn.rsplit("/", 1)[1]: arn for arn in MANAGED}


@dataclass
class Door:
    function: str
    who: str
    principal: str
    arns: list = field(default_factory=list)


@dataclass
class Permission:
    logical_id: str
    function: str
    action: str
    principal: str
    source_arn: str = None
    source_account: str = None
    url_auth_type: str = None
    via_url: bool = False


def _list(value):
    return value if isinstance(value, list) else [value]


def execute_api(api_id, *tail):
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/" + "/".join(tail)


def _route_arn(api_id, stage, method, path):
    if path.strip("/") == "$default":
        return execute_api(api_id, stage, "$default")
    concrete = re.sub(r"\{[^}]*\+\}", "a/b", path)
    concrete = re.sub(r"\{[^}]*\}", "x", concrete)
    return execute_api(api_id, stage, method, concrete.lstrip("/"))


class Examination:
    def __init__(self, deployment):
        self.dep, self.ev, self.res = deployment, deployment.ev, deployment.resources
        self.problems = {k: [] for k in ("invoke", "url", "reserved", "star", "exposure")}
        self.rows = []
        self.permissions = [
            self._permission(lid, r["Properties"]) for lid, r in self._of("AWS::Lambda::Permission")
        ]
        self.doors = list(self._doors())
        self._check_doors()
        self._check_urls()
        self._check_exposure()
        self._check_iam()

    def _of(self, *kinds):
        return [(lid, r) for lid, r in self.res.items() if r["Type"] in kinds]

    def function(self, value):
        """The logical id of the stack's function a name or ARN (maybe qualified) names."""
        text = str(self.ev.value(value))
        for lid, _ in self._of("AWS::Lambda::Function"):
            for form in (self.ev.function_name(lid), self.ev.function_arn(lid)):
                if text == form or text.startswith(form + ":"):
                    return lid
        return None

    def integrated(self, uri):
        text = str(self.ev.value(uri))
        found = re.search(r":lambda:path/[^/]+/functions/(.+)/invocations$", text)
        return self.function(found.group(1) if found else text)

    def _permission(self, lid, p):
        value = self.ev.value
        return Permission(
            lid,
            self.function(p["FunctionName"]),
            value(p["Action"]),
            str(value(p["Principal"])),
            value(p["SourceArn"]) if "SourceArn" in p else None,
            value(p["SourceAccount"]) if "SourceAccount" in p else None,
            p.get("FunctionUrlAuthType"),
            str(value(p.get("InvokedViaFunctionUrl", False))).lower() == "true",
        )

    # --- the doors --------------------------------------------------------------------------
    def _stages(self, api_id, kinds, key):
        return [
            str(self.ev.value(r["Properties"]["StageName"]))
            for _, r in self._of(*kinds)
            if self.ev.value(r["Properties"].get(key)) == api_id and "StageName" in r["Properties"]
        ]

    def _doors(self):
        for lid, r in self._of("AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi"):
            api_id = self.ev.ref(lid)
            rest = r["Type"] == "AWS::ApiGateway::RestApi"
            if rest:
                stages = self._stages(
                    api_id, ["AWS::ApiGateway::Stage", "AWS::ApiGateway::Deployment"], "RestApiId"
                )
            else:
                stages = self._stages(api_id, ["AWS::ApiGatewayV2::Stage"], "ApiId")
            yield from self._body_doors(lid, api_id, r["Properties"].get("Body") or {}, stages)
            yield from (self._rest_doors if rest else self._http_doors)(lid, api_id, stages)
        for lid, r in self._of("AWS::Lambda::Url"):
            p = r["Properties"]
            yield Door(
                self.function(p["TargetFunctionArn"]),
                f"anyone, through the function URL {lid} (AuthType {p['AuthType']})"
                if p["AuthType"] == "NONE"
                else f"IAM principals, through the function URL {lid} (AuthType AWS_IAM)",
                "*" if p["AuthType"] == "NONE" else "iam",
                [lid],
            )

    def _authorizer_door(self, api_lid, api_id, name, uri, authorizer_id):
        return Door(
            self.integrated(uri),
            f"{APIGATEWAY}: {api_lid} authorizer {name}",
            APIGATEWAY,
            [execute_api(api_id, "authorizers", authorizer_id)],
        )

    def _route_door(self, api_lid, api_id, uri, methods, path, stages, shown_method):
        arns = [_route_arn(api_id, s, m, path) for s in stages for m in methods]
        return Door(
            self.integrated(uri), f"{APIGATEWAY}: {api_lid} {shown_method} {path}", APIGATEWAY, arns
        )

    def _body_doors(self, api_lid, api_id, body, stages):
        schemes = dict(body.get("securityDefinitions") or {})
        schemes.update((body.get("components") or {}).get("securitySchemes") or {})
        for name, scheme in schemes.items():
            authorizer = scheme.get("x-amazon-apigateway-authorizer") or {}
            if "authorizerUri" in authorizer:
                yield self._authorizer_door(
                    api_lid, api_id, name, authorizer["authorizerUri"], f"authz-{api_lid}-{name}"
                )
        for path, item in (body.get("paths") or {}).items():
            for method, op in item.items():
                if method == "x-amazon-apigateway-any-method":
                    methods, shown = METHODS, "ANY"
                elif method.upper() in METHODS:
                    methods, shown = [method.upper()], method.upper()
                else:
                    continue
                integration = op.get("x-amazon-apigateway-integration") or {}
                if str(integration.get("type", "")).lower() in ("aws_proxy", "aws"):
                    yield self._route_door(
                        api_lid, api_id, integration["uri"], methods, path, stages, shown
                    )

    def _http_doors(self, api_lid, api_id, stages):
        def mine(kind):
            return [
                (lid, r["Properties"])
                for lid, r in self._of(kind)
                if self.ev.value(r["Properties"].get("ApiId")) == api_id
            ]

        for lid, p in mine("AWS::ApiGatewayV2::Authorizer"):
            if "AuthorizerUri" in p:
                yield self._authorizer_door(
                    api_lid, api_id, lid, p["AuthorizerUri"], self.ev.ref(lid)
                )
        integrations = {
            self.ev.ref(lid): p
            for lid, p in mine("AWS::ApiGatewayV2::Integration")
            if p.get("IntegrationType") == "AWS_PROXY"
        }
        for _, p in mine("AWS::ApiGatewayV2::Route"):
            target = str(self.ev.value(p.get("Target", ""))).removeprefix("integrations/")
            if target in integrations:
                key = str(self.ev.value(p["RouteKey"]))
                method, _, path = key.partition(" ") if " " in key else ("ANY", "", key)
                methods = METHODS if method == "ANY" else [method]
                yield self._route_door(
                    api_lid,
                    api_id,
                    integrations[target]["IntegrationUri"],
                    methods,
                    path,
                    stages,
                    method,
                )

    def _rest_doors(self, api_lid, api_id, stages):
        parts = {
            self.ev.ref(lid): (
                self.ev.value(r["Properties"]["ParentId"]),
                self.ev.value(r["Properties"]["PathPart"]),
            )
            for lid, r in self._of("AWS::ApiGateway::Resource")
            if self.ev.value(r["Properties"]["RestApiId"]) == api_id
        }

        def path(resource_id):
            if resource_id not in parts:
                return ""
            parent, part = parts[resource_id]
            return f"{path(parent)}/{part}"

        for lid, r in self._of("AWS::ApiGateway::Authorizer"):
            p = r["Properties"]
            if self.ev.value(p.get("RestApiId")) == api_id and "AuthorizerUri" in p:
                yield self._authorizer_door(
                    api_lid, api_id, lid, p["AuthorizerUri"], self.ev.ref(lid)
                )
        for _, r in self._of("AWS::ApiGateway::Method"):
            p = r["Properties"]
            integration = p.get("Integration") or {}
            if self.ev.value(p.get("RestApiId")) != api_id or integration.get("Type") not in (
                "AWS_PROXY",
                "AWS",
            ):
                continue
            method = str(p["HttpMethod"]).upper()
            yield self._route_door(
                api_lid,
                api_id,
                integration["Uri"],
                METHODS if method == "ANY" else [method],
                path(self.ev.value(p["ResourceId"])) or "/",
                stages,
                method,
            )

    # --- the checks -------------------------------------------------------------------------
    def _covering(self, door, arn):
        return [
            p.logical_id
            for p in self.permissions
            if p.function == door.function
            and p.principal == door.principal
            and p.action in INVOKE
            and p.source_arn
            and wildcard(p.source_arn, arn)
            and p.source_account in (None, ACCOUNT)
        ]

    def _check_doors(self):
        for door in self.doors:
            if door.function is None or door.principal != APIGATEWAY:
                continue
            covering, missing = set(), []
            for arn in door.arns:
                found = self._covering(door, arn)
                covering.update(found)
                if not found:
                    missing.append(arn)
            if missing:
                more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
                self.problems["invoke"].append(
                    f"{door.function}: no AWS::Lambda::Permission lets {door.who} invoke it "
                    f"(lambda:InvokeFunction for {APIGATEWAY}, SourceArn covering "
                    f"{missing[0]}{more})"
                )
            self.rows.append((door.function, door.who, ", ".join(sorted(covering)) or "NONE"))

    def _check_urls(self):
        for door in self.doors:
            if door.principal != "*" or door.function is None:
                continue
            mine = [
                p for p in self.permissions if p.function == door.function and p.principal == "*"
            ]
            url = [
                p.logical_id
                for p in mine
                if p.action == "lambda:InvokeFunctionUrl" and p.url_auth_type == "NONE"
            ]
            invoke = [p.logical_id for p in mine if p.action == "lambda:InvokeFunction"]
            for action, found in [
                ("lambda:InvokeFunctionUrl with FunctionUrlAuthType NONE", url),
                ("lambda:InvokeFunction", invoke),
            ]:
                if not found:
                    self.problems["url"].append(
                        f"{door.function}: its function URL {door.arns[0]} is public, but no "
                        f"permission grants {action} to principal *: the URL answers 403"
                    )
            self.rows.append((door.function, door.who, ", ".join(sorted(url + invoke)) or "NONE"))
            reserved = self.res[door.function]["Properties"].get("ReservedConcurrentExecutions")
            if not (str(self.ev.value(reserved)).isdigit() and int(self.ev.value(reserved)) > 0):
                self.problems["reserved"].append(
                    f"{door.function}: its function URL {door.arns[0]} is public (AuthType NONE) "
                    f"and no API throttle sees it, but ReservedConcurrentExecutions is "
                    f"{reserved if reserved is not None else 'not set'}: a flood takes the "
                    "account's whole concurrency"
                )

    def _check_exposure(self):
        api_ids = {
            self.ev.ref(lid)
            for lid, _ in self._of("AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi")
        }
        for p in self.permissions:
            if p.principal == "*" and p.action in INVOKE and not p.via_url:
                self.problems["exposure"].append(
                    f"{p.logical_id}: anyone may call {p.action} on {p.function} directly "
                    "(principal * without InvokedViaFunctionUrl: true)"
                )
            if p.principal == APIGATEWAY:
                arn = p.source_arn or ""
                fields = arn.split(":", 5)
                api = fields[5].split("/", 1)[0] if len(fields) == 6 else ""
                if not arn or fields[3:5] != [REGION, ACCOUNT] or api not in api_ids:
                    self.problems["exposure"].append(
                        f"{p.logical_id}: lets {APIGATEWAY} invoke {p.function} for "
                        f"SourceArn {arn or '(none)'}: not an API of this stack, in its "
                        "region and account"
                    )
            if not any(p.logical_id in row[2].split(", ") for row in self.rows):
                self.rows.append(
                    (
                        p.function,
                        f"{p.principal} ({p.source_arn or 'any source'}), "
                        "for no door of this stack",
                        p.logical_id,
                    )
                )
        for lid, r in self._of("AWS::IAM::Role"):
            for s in _list(r["Properties"]["AssumeRolePolicyDocument"]["Statement"]):
                principal = s.get("Principal", {})
                if not isinstance(principal, dict) or set(principal) != {"Service"}:
                    self.problems["exposure"].append(
                        f"{lid}: its trust policy lets {principal} assume it (a service only)"
                    )

    def documents(self):
        """(where, statements) of every policy a role, user or group of the stack holds."""
        in_stack = {self.ev.ref(lid) for lid, _ in self._of("AWS::IAM::ManagedPolicy")}
        for lid, r in self.res.items():
            p = r.get("Properties") or {}
            if r["Type"] == "AWS::IAM::Role":
                for policy in p.get("Policies", []):
                    yield f"{lid} policy {policy['PolicyName']}", policy["PolicyDocument"]
                for arn in p.get("ManagedPolicyArns", []):
                    arn = self.ev.value(arn)
                    if arn in MANAGED:
                        yield f"{lid} managed {arn.rsplit('/', 1)[1]}", {"Statement": MANAGED[arn]}
                    elif arn not in in_stack:
                        self.problems["star"].append(
                            f"{lid}: attaches {arn}, whose statements this test does not know "
                            "(add them to deploy_checks.MANAGED)"
                        )
            elif r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                yield lid, p["PolicyDocument"]

    def _check_iam(self):
        for where, document in self.documents():
            for s in _list(document["Statement"]):
                if s.get("Effect") != "Allow":
                    continue
                if "NotAction" in s or "NotResource" in s:
                    self.problems["star"].append(
                        f"{where}: an Allow with NotAction or "
                        "NotResource grants what it does not name"
                    )
                    continue
                resources = [str(v) for v in _list(self.ev.value(s["Resource"]))]
                if "*" in resources:
                    wide = sorted(a for a in _list(s["Action"]) if a not in STAR_ONLY)
                    if wide:
                        self.problems["star"].append(
                            f'{where}: grants {", ".join(wide)} on Resource "*"'
                        )
