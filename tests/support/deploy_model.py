"""template.yaml as CloudFormation would deploy it, for one set of parameter values: SAM's
own translator (samtranslator, pinned with aws-sam-cli in .venv) turns it into plain
CloudFormation offline, then the Conditions and Rules are decided for those values, the
resources whose condition is false dropped and every Fn::If inside the others resolved.
`Evaluator` gives the intrinsics that remain (Ref, Fn::GetAtt, Fn::Sub, ...) concrete test
values, so that ARNs can be compared as strings."""

import copy
import itertools
import logging
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "template.yaml")

REGION, ACCOUNT, PARTITION, STACK = "us-east-1", "123456789012", "aws", "direct-oauth-test"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": PARTITION,
    "AWS::StackName": STACK,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/id",
}

# The value other than its default that each parameter a condition reads takes (those with
# AllowedValues take each allowed value instead). A condition on a parameter missing here
# fails the test until it is given one.
SAMPLES = {
    "WhitelistKmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890",
    "WhitelistParameterName": "/custom/client-whitelist",
    "Scopes": "repo:read user:read",
    "ReservedConcurrency": "10",
    "AlarmEmail": "ops@example.com",
    "VpcSubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
    "VpcRouteTableIds": "rtb-0123456789abcdef0",
    "UserSyncSchedule": "rate(1 hour)",
}

# Parameters whose conditions only rename things, fill an environment variable or add alarm
# actions (test_deployment.py checks that this stays so). They are flipped together, on the
# combinations of the others with an odd number of non-defaults, so each of their values
# meets each value of every other parameter; all other condition parameters: full product.
JOINT = ("WhitelistParameterName", "Scopes", "AlarmEmail")

# Parameters walked in step with each other rather than multiplied: the i-th combination
# of the others meets the i-th value of each (modulo its count), so every value of these
# meets every value of every other parameter, at a third of the full product's cost. The
# directory and its network go together: LDAP is tried inside a VPC with a DynamoDB
# endpoint, Cognito and the users table outside one; the scheduled user sync (which needs a
# directory) with each.
IN_STEP = ("Directory", "VpcSubnetIds", "VpcRouteTableIds", "UserSyncSchedule")

# What a chosen directory's Rules require, given to every combination (the values matter
# only where the directory reads them).
SETTINGS = {
    "LdapUrl": "ldaps://ldap.example.org:636",
    "LdapBindDn": "cn=direct-oauth,ou=services,dc=example,dc=org",
    "LdapBindPasswordParameter": "/direct-oauth/ldap-bind-password",
    "LdapUserBase": "ou=people,dc=example,dc=org",
    "LdapGroupBase": "ou=groups,dc=example,dc=org",
    "CognitoUserPoolId": f"{REGION}_AbCdEfGhI",
    "CognitoClientId": "1example23456789",
    "VpcSecurityGroupIds": "sg-0123456789abcdef0",
    "VpcId": "vpc-0123456789abcdef0",
}


class _PolicyNames:
    """The managed-policy map SAM asks IAM for (by name, for a function's Policies): only
    the AWS managed policies deploy_checks.MANAGED knows, so no call leaves the machine."""

    def __init__(self, names):
        self.names = names

    def load(self):
        return dict(self.names)


def _offline():
    for name, value in [
        ("AWS_REGION", REGION),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]:
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)
    # Each translation leaves its unpublished metrics, with a warning when collected.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)


def read_template(source=None):
    """The SAM template as parsed data, with an S3 CodeUri where a local path was: the
    translator, like `sam deploy` after its upload, needs one."""
    from samtranslator.yaml_helper import yaml_parse

    if source is None:
        with open(TEMPLATE) as f:
            source = f.read()
    template = yaml_parse(source)
    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = "s3://bucket/key"
    for resource in template["Resources"].values():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function" and "InlineCode" not in props:
            props["CodeUri"] = "s3://bucket/key"
    return template


def translate(template, params, policy_names):
    """What CloudFormation's AWS::Serverless-2016-10-31 transform makes of `template` with
    these parameter values."""
    _offline()
    from samtranslator.translator.transform import transform

    return transform(copy.deepcopy(template), dict(params), _PolicyNames(policy_names))


def _refs(node):
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            yield node["Ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def condition_parameters(template):
    """Each parameter a condition reads, with the values it is tried with (default first)."""
    declared = template.get("Parameters", {})
    found = {}
    read = set(_refs(template.get("Conditions", {})))
    for name in [n for n in declared if n in read]:
        spec = declared[name]
        default = str(spec.get("Default", ""))
        if "AllowedValues" in spec:
            others = [str(v) for v in spec["AllowedValues"] if str(v) != default]
        elif name in SAMPLES:
            others = [SAMPLES[name]]
        else:
            raise AssertionError(
                f"parameter {name} drives a condition: give it a value in deploy_model.SAMPLES"
            )
        found[name] = [default, *others]
    return found


def combinations(template):
    """The parameter values to deploy with, one {name: value} per combination, naming every
    parameter a condition reads."""
    tried = condition_parameters(template)
    full = [n for n in tried if n not in JOINT and n not in IN_STEP]
    joint = [n for n in tried if n in JOINT]
    in_step = [n for n in tried if n in IN_STEP]
    steps = max((len(tried[n]) for n in in_step), default=1)
    for values in itertools.product(*(tried[n] for n in full)):
        for step in range(steps):
            combo = dict(zip(full, values, strict=True))
            odd = sum(v != tried[n][0] for n, v in combo.items()) % 2
            for n in joint:
                combo[n] = tried[n][-1] if odd else tried[n][0]
            for n in in_step:
                combo[n] = tried[n][step % len(tried[n])]
            yield combo


def label(combo, template):
    """The combination by its non-default values, e.g. `EnableFunctionUrl=true`; the joint
    parameters as one `+names` (all set) when they differ."""
    tried = condition_parameters(template)
    parts = [
        f"{name}={value if len(value) <= 12 else '<set>'}"
        for name, value in combo.items()
        if name in tried and value != tried[name][0] and name not in JOINT
    ]
    if any(combo.get(n, tried[n][0]) != tried[n][0] for n in JOINT if n in tried):
        parts.append("+" + ",".join(n for n in JOINT if n in tried) + "=<set>")
    return " ".join(parts) or "(defaults)"


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Evaluator:
    """Concrete values for one deployment: the parameters' values, the pseudo parameters
    above, and for each resource an id or ARN derived from its logical id."""

    def __init__(self, template, params, conditions=None, resources=None):
        declared = template.get("Parameters", {})
        self.params = {n: _text(p.get("Default", "")) for n, p in declared.items()}
        self.params.update({n: _text(v) for n, v in params.items()})
        self.params.update(PSEUDO)
        self.conditions = conditions or {}
        self.resources = resources if resources is not None else template.get("Resources", {})

    # --- ids and ARNs -----------------------------------------------------------------------
    def function_name(self, logical_id):
        return f"{STACK}-{logical_id}"

    def function_arn(self, logical_id):
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name(logical_id)}"

    def ref(self, name):
        if name in self.params:
            return self.params[name]
        kind = self.resources.get(name, {}).get("Type", "")
        if kind == "AWS::Lambda::Function":
            return self.function_name(name)
        if kind in ("AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi"):
            return f"{name.lower()}id"
        if kind in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"):
            return _text(self.resources[name]["Properties"].get("StageName", name))
        if kind in ("AWS::ApiGateway::Authorizer", "AWS::ApiGatewayV2::Authorizer"):
            return f"authz-{name}"
        if kind == "AWS::IAM::ManagedPolicy":
            return f"arn:aws:iam::{ACCOUNT}:policy/{STACK}-{name}"
        return f"{name}-ref"

    def getatt(self, name, attribute):
        kind = self.resources.get(name, {}).get("Type", "")
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return self.function_arn(name)
        if attribute == "RootResourceId":
            return f"{name}-root"
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{STACK}-{name}"
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{STACK}-{name}:*"
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:aws:iam::{ACCOUNT}:role/{STACK}-{name}"
        if kind == "AWS::Lambda::Url" and attribute == "FunctionUrl":
            return f"https://{name.lower()}.lambda-url.{REGION}.on.aws/"
        return f"arn:aws:test:{REGION}:{ACCOUNT}:{name}/{attribute}"

    # --- intrinsics -------------------------------------------------------------------------
    def condition(self, name):
        if name not in self.conditions:
            raise AssertionError(f"no condition {name}")
        return self.conditions[name]

    def truth(self, node):
        """A condition expression (Conditions, Rules, Fn::If's first argument)."""
        if isinstance(node, str):
            return self.condition(node)
        ((fn, args),) = node.items()
        if fn == "Condition":
            return self.condition(args)
        if fn == "Fn::Equals":
            left, right = (self.value(a) for a in args)
            return _text(left) == _text(right)
        if fn == "Fn::Not":
            return not self.truth(args[0])
        if fn == "Fn::And":
            return all(self.truth(a) for a in args)
        if fn == "Fn::Or":
            return any(self.truth(a) for a in args)
        if fn == "Fn::Contains":
            return _text(self.value(args[1])) in [_text(v) for v in self.value(args[0])]
        raise AssertionError(f"cannot evaluate {fn} in a condition or rule")

    def value(self, node):
        """A property's value with its intrinsics evaluated (Fn::If already resolved)."""
        if isinstance(node, list):
            return [self.value(v) for v in node]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith(("Fn::", "Ref")):
            return {k: self.value(v) for k, v in node.items()}
        ((fn, args),) = node.items()
        if fn == "Ref":
            return self.ref(args)
        if fn == "Fn::GetAtt":
            name, attribute = args.split(".", 1) if isinstance(args, str) else args
            return self.getatt(name, attribute)
        if fn == "Fn::Sub":
            return self.sub(*(args if isinstance(args, list) else [args, {}]))
        if fn == "Fn::Join":
            return _text(self.value(args[0])).join(_text(v) for v in self.value(args[1]))
        if fn == "Fn::Select":
            return self.value(args[1])[int(self.value(args[0]))]
        if fn == "Fn::Split":
            return _text(self.value(args[1])).split(_text(self.value(args[0])))
        if fn == "Fn::ImportValue":
            return f"import:{self.value(args)}"
        if fn == "Fn::If":
            return self.value(args[1] if self.truth(args[0]) else args[2])
        if fn in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self.truth(node)
        return {fn: self.value(args)}

    def sub(self, text, variables):
        values = {k: _text(self.value(v)) for k, v in variables.items()}

        def one(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return values[name]
            if "." in name and name.split(".", 1)[0] not in self.params:
                return _text(self.getatt(*name.split(".", 1)))
            return _text(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)


def _resolved(node, ev):
    """`node` with each Fn::If replaced by the branch its condition picks, AWS::NoValue
    removed from mappings and lists."""
    if isinstance(node, list):
        out = [_resolved(v, ev) for v in node]
        return [v for v in out if v is not _NOVALUE]
    if not isinstance(node, dict):
        return node
    if node == {"Ref": "AWS::NoValue"}:
        return _NOVALUE
    if set(node) == {"Fn::If"}:
        condition, yes, no = node["Fn::If"]
        return _resolved(yes if ev.truth(condition) else no, ev)
    out = {k: _resolved(v, ev) for k, v in node.items()}
    return {k: v for k, v in out.items() if v is not _NOVALUE}


_NOVALUE = object()


class Deployment:
    """One combination: the transformed template, the Rules it fails (a stack with these
    values is refused before anything is created), and the resources CloudFormation would
    create, with their Fn::If resolved."""

    def __init__(self, template, combo, policy_names):
        self.combo = combo
        self.label = label(combo, template)
        params = {**SETTINGS, **combo}
        self.transformed = translate(template, params, policy_names)
        ev = Evaluator(self.transformed, params)
        expressions = self.transformed.get("Conditions", {})
        ev.conditions = {name: _Lazy(name, expressions, ev) for name in expressions}
        self.conditions = {name: bool(lazy) for name, lazy in ev.conditions.items()}
        ev.conditions = self.conditions
        self.refused = []
        for name, rule in self.transformed.get("Rules", {}).items():
            if "RuleCondition" in rule and not ev.truth(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []):
                if not ev.truth(assertion["Assert"]):
                    self.refused.append(f"{name}: {assertion.get('AssertDescription', '')}")
        self.resources = {}
        for logical_id, resource in self.transformed["Resources"].items():
            if "Condition" in resource and not self.conditions[resource["Condition"]]:
                continue
            self.resources[logical_id] = _resolved(resource, ev)
        self.ev = Evaluator(self.transformed, params, self.conditions, self.resources)


class _Lazy:
    """A condition evaluated on first use, so that conditions may name each other."""

    def __init__(self, name, expressions, ev):
        self.name, self.expressions, self.ev, self.seen = name, expressions, ev, None

    def __bool__(self):
        if self.seen is None:
            self.seen = self.ev.truth(self.expressions[self.name])
        return self.seen
