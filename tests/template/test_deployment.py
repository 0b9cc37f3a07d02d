"""The deployment model: template.yaml transformed by SAM's own translator, offline, as
CloudFormation's AWS::Serverless-2016-10-31 transform would, for each combination of the
parameters its conditions read (deploy_model.combinations), then checked on the resources
CloudFormation would create (deploy_checks): every API route and authorizer may invoke its
function, a public function URL has both its permissions and a reserved concurrency, no
policy grants a data-plane action on "*", and nothing lets in more than its door.

The table of who may invoke what, in each combination, is printed (with -s) and written to
.local/deployment-table.md."""

import collections
import functools
import os
import time

import pytest

from deploy_checks import POLICY_NAMES, Examination
from deploy_model import JOINT, ROOT, Deployment, combinations, read_template

TABLE = os.path.join(ROOT, ".local", "deployment-table.md")


@functools.cache
def examined():
    """[(deployment, examination or None when the Rules refuse it)], and the seconds taken."""
    start = time.monotonic()
    template = read_template()
    found = []
    for combo in combinations(template):
        dep = Deployment(template, combo, POLICY_NAMES)
        found.append((dep, None if dep.refused else Examination(dep)))
    return found, time.monotonic() - start


def problems(kind):
    """The problems of one kind, each once, with the combinations it is found in."""
    seen = collections.defaultdict(list)
    found, _ = examined()
    for dep, exam in found:
        for text in exam.problems[kind] if exam else []:
            seen[text].append(dep.label)
    total = len(found)
    return "\n".join(
        f"{text}\n    in {len(labels)} of {total} combinations, e.g. {'; '.join(labels[:3])}"
        for text, labels in seen.items()
    )


def _none(kind):
    found = problems(kind)
    if found:
        pytest.fail("\n" + found, pytrace=False)


def table():
    found, seconds = examined()
    deployable = sum(1 for _, exam in found if exam)
    lines = [
        f"# Who may invoke what ({len(found)} combinations, {deployable} deployable; "
        f"translated and checked in {seconds:.1f} s)",
        "",
        "| combination | function | who may invoke it | covering permission |",
        "|---|---|---|---|",
    ]
    for dep, exam in found:
        if exam is None:
            lines.append(
                f"| {dep.label} | - | refused before anything is created: "
                f"{'; '.join(dep.refused)} | - |"
            )
            continue
        for function, who, permission in exam.rows:
            lines.append(f"| {dep.label} | {function} | {who} | {permission} |")
    return "\n".join(lines) + "\n"


def test_the_table_of_doors_is_written():
    text = table()
    os.makedirs(os.path.dirname(TABLE), exist_ok=True)
    with open(TABLE, "w") as f:
        f.write(text)
    print("\n" + text)
    assert "TokenAuthorizerFunction" in text and "FunctionUrl" in text


def test_every_route_and_authorizer_may_invoke_its_function():
    """A function behind an API needs an AWS::Lambda::Permission for apigateway.amazonaws.com
    whose SourceArn covers the route (api/stage/METHOD/path) or the authorizer
    (api/authorizers/id); without it API Gateway answers 500."""
    _none("invoke")


def test_a_public_function_url_has_both_permissions():
    """Since October 2025 a new function URL with AuthType NONE needs lambda:InvokeFunctionUrl
    (FunctionUrlAuthType NONE) and lambda:InvokeFunction, both for principal *."""
    _none("url")


def test_a_public_function_url_is_on_a_function_with_reserved_concurrency():
    """The URL bypasses the HTTP API's throttling: only a reservation caps what a flood
    through it takes. Combinations the template's Rules refuse are never created."""
    _none("reserved")
    found, _ = examined()
    with_url = [dep for dep, exam in found if exam and dep.combo["EnableFunctionUrl"] == "true"]
    assert with_url, "no combination with the function URL on can be deployed"


def test_no_data_plane_action_is_granted_on_every_resource():
    """Every statement of every role and policy, SAM's generated ones and the AWS managed
    policies they attach included, names its resources; only the actions that take none
    (deploy_checks.STAR_ONLY) may be granted on "*"."""
    _none("star")


def test_nothing_lets_in_more_than_its_door():
    """No permission lets anyone invoke a function directly, or an API of another stack or
    account invoke it; no role may be assumed but by a service."""
    _none("exposure")


def test_every_condition_is_deployed_both_ways():
    found, _ = examined()
    seen = collections.defaultdict(set)
    for dep, exam in found:
        if exam:
            for name, value in dep.conditions.items():
                seen[name].add(value)
    template = read_template()
    assert {n: v for n, v in seen.items() if v != {True, False}} == {}
    assert set(seen) == set(template.get("Conditions", {}))


def _reads(expression, conditions):
    """The parameters a condition reads, through the conditions it names."""
    if isinstance(expression, dict):
        if set(expression) == {"Ref"}:
            return {expression["Ref"]}
        if set(expression) == {"Condition"}:
            return _reads(conditions[expression["Condition"]], conditions)
        expression = list(expression.values())
    if isinstance(expression, list):
        return set().union(*(_reads(e, conditions) for e in expression)) if expression else set()
    return set()


def _ifs(node, names, path=()):
    if isinstance(node, dict):
        if "Fn::If" in node and node["Fn::If"][0] in names:
            yield path
        for key, value in node.items():
            yield from _ifs(value, names, (*path, key))
    elif isinstance(node, list):
        for value in node:
            yield from _ifs(value, names, path)


def test_the_parameters_flipped_together_only_rename_or_notify():
    """deploy_model.JOINT's parameters are not tried in every combination: their conditions
    must never decide whether a function, permission, URL, API or IAM resource exists, and
    inside one may only pick a policy's Resource or a function's environment."""
    found, _ = examined()
    transformed = found[0][0].transformed
    conditions = transformed.get("Conditions", {})
    joint = {n for n, e in conditions.items() if _reads(e, conditions) & set(JOINT)}
    wrong = []
    for lid, r in transformed["Resources"].items():
        if not r["Type"].startswith(("AWS::Lambda::", "AWS::ApiGateway", "AWS::IAM::")):
            continue
        if r.get("Condition") in joint:
            wrong.append(f"{lid} exists under {r['Condition']}")
        for path in _ifs(r.get("Properties", {}), joint):
            if "Environment" not in path and "Resource" not in path:
                wrong.append(f"{lid}: {'.'.join(path)} depends on {sorted(joint)}")
    assert not wrong, "move these parameters out of deploy_model.JOINT:\n" + "\n".join(wrong)


def test_the_whole_model_takes_seconds():
    found, seconds = examined()
    assert len(found) >= 64
    assert seconds < 60, f"{len(found)} combinations took {seconds:.1f} s"


def deploy(source, combo):
    dep = Deployment(read_template(source), combo, POLICY_NAMES)
    return dep, (None if dep.refused else Examination(dep))


def test_the_rule_refuses_a_public_url_without_reserved_concurrency():
    assert any(
        "FunctionUrlNeedsReservedConcurrency" in r
        for r in deploy(None, {"EnableFunctionUrl": "true"})[0].refused
    )
    assert not deploy(None, {"EnableFunctionUrl": "true", "ReservedConcurrency": "10"})[0].refused
    assert not deploy(None, {})[0].refused


REST_AUTHORIZER = """
  RestTokenAuthorizer:
    Type: AWS::ApiGateway::Authorizer
    Condition: UseRestApi
    Properties:
      RestApiId: !Ref RestApi
      Name: token
      Type: TOKEN
      IdentitySource: method.request.header.Authorization
      AuthorizerUri: !Sub arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${TokenAuthorizerFunction.Arn}/invocations
"""  # noqa: E501 (template.yaml's lines as they are)
REST_AUTHORIZER_PERMISSION = """
  RestTokenAuthorizerPermission:
    Type: AWS::Lambda::Permission
    Condition: UseRestApi
    Properties:
      FunctionName: !GetAtt TokenAuthorizerFunction.Arn
      Action: lambda:InvokeFunction
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestApi}/authorizers/${RestTokenAuthorizer}
"""  # noqa: E501 (template.yaml's lines as they are)
BEFORE_REST_PERMISSION = "\n  RestInvokePermission:"
URL, REST = {"EnableFunctionUrl": "true", "ReservedConcurrency": "10"}, {"EnableRestApi": "true"}

# name: (replacements in template.yaml's text, parameters, kind, what the problem says)
PLANTED = {
    "the HTTP API authorizer's permission left to SAM's default": (
        [("            EnableFunctionDefaultPermissions: true\n", "")],
        {},
        "invoke",
        "TokenAuthorizerFunction: no AWS::Lambda::Permission lets apigateway.amazonaws.com: "
        "HttpApi authorizer TokenAuthorizer",
    ),
    "a REST authorizer without its permission": (
        [(BEFORE_REST_PERMISSION, REST_AUTHORIZER + BEFORE_REST_PERMISSION)],
        REST,
        "invoke",
        "RestApi authorizer RestTokenAuthorizer",
    ),
    "a REST route's permission for another path": (
        [("${RestApi}/*\n", "${RestApi}/*/*/other\n")],
        REST,
        "invoke",
        "RestApi ANY /oauth/authorizeapp",
    ),
    "the reservation rule never applying": (
        [
            (
                'RuleCondition: !Equals [!Ref EnableFunctionUrl, "true"]',
                'RuleCondition: !Equals [!Ref EnableFunctionUrl, "never"]',
            )
        ],
        {"EnableFunctionUrl": "true"},
        "reserved",
        "ReservedConcurrentExecutions is not set",
    ),
    "the URL without lambda:InvokeFunction": (
        [
            (
                'Action: lambda:InvokeFunction\n      Principal: "*"',
                'Action: lambda:GetFunction\n      Principal: "*"',
            )
        ],
        URL,
        "url",
        "no permission grants lambda:InvokeFunction to principal *",
    ),
    "the URL's invoke permission open to direct calls": (
        [("      InvokedViaFunctionUrl: true\n", "")],
        URL,
        "exposure",
        "anyone may call lambda:InvokeFunction on AuthorizeAppFunction directly",
    ),
    "a table read on every resource": (
        [
            (
                "Action: dynamodb:GetItem\n                Resource: !GetAtt TokensTable.Arn",
                'Action: dynamodb:GetItem\n                Resource: "*"',
            )
        ],
        {},
        "star",
        'TokenAuthorizerRole policy tokens: grants dynamodb:GetItem on Resource "*"',
    ),
    "the sample on SAM's default role": (
        [("      Role: !GetAtt WhoAmIRole.Arn\n", "")],
        {},
        "star",
        "managed AWSLambdaBasicExecutionRole: grants logs:CreateLogGroup",
    ),
    "an API permission without SourceArn": (
        [
            (
                "      SourceArn: !Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                "${AWS::AccountId}:${RestApi}/*\n",
                "",
            )
        ],
        REST,
        "exposure",
        "RestInvokePermission: lets apigateway.amazonaws.com invoke AuthorizeAppFunction "
        "for SourceArn (none)",
    ),
    "a role anyone may assume": (
        [("              Service: lambda.amazonaws.com\n", '              AWS: "*"\n')],
        {},
        "exposure",
        "its trust policy lets {'AWS': '*'} assume it",
    ),
}


def planted(replacements):
    with open(os.path.join(ROOT, "template.yaml")) as f:
        source = f.read()
    for old, new in replacements:
        assert old in source, f"the planted fault no longer applies: {old!r}"
        source = source.replace(old, new, 1)
    return source


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_a_planted_fault_is_seen(name):
    replacements, combo, kind, says = PLANTED[name]
    dep, exam = deploy(planted(replacements), combo)
    assert exam, dep.refused
    assert any(says in text for text in exam.problems[kind]), exam.problems


def test_a_rest_authorizer_with_its_permission_is_covered():
    _dep, exam = deploy(
        planted(
            [
                (
                    BEFORE_REST_PERMISSION,
                    REST_AUTHORIZER + REST_AUTHORIZER_PERMISSION + BEFORE_REST_PERMISSION,
                )
            ]
        ),
        REST,
    )
    assert exam.problems["invoke"] == [] and exam.problems["exposure"] == []
    assert (
        "TokenAuthorizerFunction",
        "apigateway.amazonaws.com: RestApi authorizer RestTokenAuthorizer",
        "RestTokenAuthorizerPermission",
    ) in exam.rows
