"""What template.yaml grants each principal, read one way for every IAM check: SAM's own
translator and the template's Conditions decided per deployment (deploy_model.Deployment,
with test values for the account, region and stack), each principal's statements with
their intrinsics resolved.

One reading, for both ways the tests verify least privilege: IAM by evaluation (the
recorded calls judged against these statements: tests/e2e/test_zz_iam_by_evaluation.py,
iam_eval.py, iam_decide.py) and IAM by enforcement (IAM users holding these actions
against a moto that checks IAM: tests/e2e/test_iam.py, `granted`). The enforcement test
once read template.yaml itself, walking each Fn::If by hand with the condition's name (a
second CloudFormation reader); it now reads the deployments CloudFormation would make,
which also sees what SAM adds, managed policies and conditional resources. Each principal's
actions and which of them a condition gates came out the same both ways.

- The functions: the AWS::Serverless::Function whose BuildProperties.Binary is the
  principal's binary (authorize-app, token-authorizer); its Role, and everything that role
  holds (inline policies, managed policies of the stack or deploy_checks.MANAGED, an
  AWS::IAM::Policy naming it).
- The admin CLI: OperatorPolicy, which operators attach (the template says so).
- Each entry's ARN: its stack output (`UsersTableName: !Ref UsersTable` names the table
  whose Arn it is; WhitelistParameterName the parameter by name; WhitelistKmsKeyArn the
  key), so it follows the same output `direct-oauth-admin --stack` reads.
"""

import functools

import iam_decide
import iam_eval
from deploy_checks import MANAGED, POLICY_NAMES
from deploy_model import (
    ACCOUNT,
    REGION,
    STACK,
    Deployment,
    combinations,
    condition_parameters,
    read_template,
)

CLI_POLICY = "OperatorPolicy"


def deployment(source=None):
    """(SAM template, Deployment) with every condition parameter at its default."""
    template = read_template(source)
    combo = {name: values[0] for name, values in condition_parameters(template).items()}
    return template, Deployment(template, combo, POLICY_NAMES)


def _function_of_binary(template, binary):
    for lid, r in template["Resources"].items():
        built = ((r.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        if r["Type"] == "AWS::Serverless::Function" and built == binary:
            return lid
    raise AssertionError(f"no function of template.yaml is built from the binary {binary}")


def _role_of(dep, function):
    arn = dep.ev.value(dep.resources[function]["Properties"]["Role"])
    for lid, r in dep.resources.items():
        if r["Type"] == "AWS::IAM::Role" and dep.ev.getatt(lid, "Arn") == arn:
            return lid
    raise AssertionError(f"{function}'s role {arn} is not a role of the stack")


def _documents_of_role(dep, role):
    """(label, document) of everything the role holds."""
    props = dep.resources[role]["Properties"]
    for policy in props.get("Policies", []):
        yield f"{role}/{policy['PolicyName']}", policy["PolicyDocument"]
    managed = {
        dep.ev.ref(lid): lid
        for lid, r in dep.resources.items()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    }
    for arn in (dep.ev.value(a) for a in props.get("ManagedPolicyArns", [])):
        if arn in managed:
            yield managed[arn], dep.resources[managed[arn]]["Properties"]["PolicyDocument"]
        elif arn in MANAGED:
            yield arn.rsplit("/", 1)[1], {"Statement": MANAGED[arn]}
        else:
            raise AssertionError(f"{role} attaches {arn}, whose statements are not known")
    for lid, r in dep.resources.items():
        p = r.get("Properties") or {}
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and dep.ev.ref(role) in [
            dep.ev.value(x) for x in p.get("Roles", [])
        ]:
            yield lid, p["PolicyDocument"]


def policies(template, dep):
    """{principal: [iam_eval.Statement]} with every intrinsic resolved; and {principal:
    what holds its statements}."""
    found, holders = {}, {}
    for principal in (iam_eval.AUTHORIZE_APP, iam_eval.TOKEN_AUTHORIZER):
        role = _role_of(dep, _function_of_binary(template, principal))
        holders[principal] = role
        found[principal] = [
            s
            for label, doc in _documents_of_role(dep, role)
            for s in iam_decide.statements(label, dep.ev.value(doc))
        ]
    holders[iam_eval.CLI] = CLI_POLICY
    found[iam_eval.CLI] = iam_decide.statements(
        CLI_POLICY, dep.ev.value(dep.resources[CLI_POLICY]["Properties"]["PolicyDocument"])
    )
    return found, holders


def arns(dep, entries):
    """{role: the template's ARN} for the entries whose output this deployment has."""
    outputs = dep.transformed.get("Outputs", {})
    found = {}
    for e in entries:
        out = outputs.get(e["output"])
        if out is None or ("Condition" in out and not dep.conditions[out["Condition"]]):
            continue
        node = out["Value"]
        if e["kind"] == "table":
            assert isinstance(node, dict) and set(node) == {"Ref"}, (e["output"], node)
            found[e["role"]] = dep.ev.getatt(node["Ref"], "Arn")
        elif e["kind"] == "parameter":
            name = str(dep.ev.value(node))
            found[e["role"]] = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter" + (
                name if name.startswith("/") else "/" + name
            )
        else:
            found[e["role"]] = str(dep.ev.value(node))
    return found


def shown(dep, table_arns):
    """Short names for the report: each table and log group by its logical id, the
    parameter by its output, the stack by its name."""
    names = {f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/": f"stack {STACK}/"}
    for lid, r in dep.resources.items():
        if r["Type"] in ("AWS::DynamoDB::Table", "AWS::Logs::LogGroup"):
            names[dep.ev.getatt(lid, "Arn").removesuffix(":*")] = lid
    parameters = {
        str(dep.ev.value(r["Properties"]["Name"])): lid
        for lid, r in dep.resources.items()
        if r["Type"] == "AWS::SSM::Parameter"
    }
    for role, arn in table_arns.items():
        name = arn.split(":parameter", 1)[1] if ":ssm:" in arn else None
        names.setdefault(arn, parameters.get(name, role))
    return names


def evaluation(lines, entries, source=None):
    """(iam_eval.Evaluation of the recorded `lines`, {principal: holder}) for template.yaml,
    or the template text `source`."""
    assert (iam_eval.ACCOUNT, iam_eval.REGION) == (ACCOUNT, REGION)
    template, dep = deployment(source)
    found, holders = policies(template, dep)
    by_role = arns(dep, entries)
    names = iam_eval.Names(entries, by_role, STACK)
    return iam_eval.Evaluation(lines, found, names, shown(dep, by_role)), holders


def _documents_of(dep, holder):
    """(label, document) of a role's policies, or of a managed policy's document."""
    if dep.resources[holder]["Type"] == "AWS::IAM::Role":
        yield from _documents_of_role(dep, holder)
    else:
        yield holder, dep.resources[holder]["Properties"]["PolicyDocument"]


@functools.cache
def _every_deployment():
    """The deployments of every combination, made once (SAM's translator takes most of a
    second's tenth each)."""
    template = read_template()
    return [Deployment(template, combo, POLICY_NAMES) for combo in combinations(template)]


@functools.cache
def granted(holder):
    """action -> the template's Conditions it is granted under (empty: in every deployment),
    for a role or managed policy of template.yaml, over deploy_model.combinations: the
    Conditions true in every deployment that grants it and not in all of them, less those
    another of them implies (UseCognito, not also UseDirectory; those the combinations set
    together, as a directory and its network, are all named); or, when no Condition is
    common to those deployments, how many of them grant it. Every statement must be an
    Allow: the tests' IAM users hold these actions and nothing else."""
    deployments = _every_deployment()
    by_action = {}
    for dep in deployments:
        actions = set()
        for label, document in _documents_of(dep, holder):
            for s in iam_decide.statements(label, dep.ev.value(document)):
                assert s.effect == "Allow" and s.not_actions is None, s
                actions.update(s.actions)
        for action in actions:
            by_action.setdefault(action, []).append(dep)
    holds = {
        c: {i for i, d in enumerate(deployments) if d.conditions[c]}
        for c in deployments[0].conditions
    }
    found = {}
    for action, deps in by_action.items():
        if len(deps) == len(deployments):
            found[action] = set()
            continue
        common = {c for c in holds if all(d.conditions[c] for d in deps)}
        common -= {c for c in common if len(holds[c]) == len(deployments)}
        implied = {c for c in common if any(holds[o] < holds[c] for o in common)}
        found[action] = (common - implied) or {f"{len(deps)} of {len(deployments)} deployments"}
    return found
