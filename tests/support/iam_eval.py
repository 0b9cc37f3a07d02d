"""IAM by evaluation: the AWS calls a run recorded (tests/support/call_log.py) against the policies
of the principals that made them, as IAM would judge them on a deployed stack, resources
and conditions included; moto only checks actions.

- Who: `principal_of` names the caller of each recorded call: a function (authorize-app,
  token-authorizer) or the admin CLI, from the calling process (or the `app/NAME` of its
  User-Agent through a relay). The CLI's `init` (local stacks only: it creates tables,
  which OperatorPolicy does not allow), the tests' own boto3 and cargo test binaries are
  no principal of the template and are only counted.
- What: `asks` turns a call into the requests IAM authorizes: one per item table of a
  transaction (PutItem, UpdateItem, DeleteItem, ConditionCheckItem; GetItem for
  TransactGetItems), one per table of a BatchGetItem or BatchWriteItem, the index of a
  Query or Scan on one, and the KMS call SSM makes with the caller's permissions for a
  SecureString; with the condition keys the record holds (a request on one table: its
  attribute names, dynamodb:Attributes).
- Where: `Names` maps a local name to the template's resource by role. Each entry of the
  project's list (src/resources.rs, as `direct-oauth-admin env --output json` prints it)
  has a local name, `direct-oauth<suffix>` (`direct-oauth-users`, `/direct-oauth/client-
  whitelist`): a local table or parameter whose name ends with an entry's suffix (the
  longest that fits: `-user-tokens` before `-tokens`) is that entry's resource, so the
  tests' own tables (`conc-1a2b3c4d-users`) map like the stack's. A stack that DescribeStacks
  names stands for the template's stack, unless it does not exist. Anything else keeps
  its own name and ARN.
- How: tests/support/iam_decide.py is IAM's evaluation of one identity's statements for one
  request. `Evaluation` judges every request of every principal, and tells which
  statements no request used; `Evaluation.markdown` is the report.
"""

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from iam_decide import Decision, decide, keys_read, wildcard

ACCOUNT, REGION = "123456789012", "us-east-1"
PROJECT = "direct-oauth"

AUTHORIZE_APP, TOKEN_AUTHORIZER, CLI = "authorize-app", "token-authorizer", "direct-oauth-admin"
PRINCIPALS = (AUTHORIZE_APP, TOKEN_AUTHORIZER, CLI)
CLI_INIT = "direct-oauth-admin init (local stacks only)"
HARNESS = "the tests themselves (boto3, or requests of their own)"
CARGO_TEST = "cargo test binaries"
UNATTRIBUTED = "unattributed (a Rust SDK call whose process was not found)"
# The function run with a directory (tests/e2e/test_directories.py names it so in its
# User-Agent): its calls are shown but not judged here, since the default deployment has
# no directory; tests/template/test_template.py checks the directory's statements in the
# deployments that choose one.
DIRECTORY_RUNS = ("authorize-app-ldap", "authorize-app-cognito")

# Calls a function's role allows that its code never makes: Lambda delivers the logs, and
# its X-Ray daemon the traces. A statement granting only these is not expected to be used.
LAMBDA_OWN = {
    "logs:CreateLogStream": "Lambda delivers the function's logs",
    "logs:PutLogEvents": "Lambda delivers the function's logs",
    "xray:PutTraceSegments": "Lambda's X-Ray daemon (EnableTracing)",
    "xray:PutTelemetryRecords": "Lambda's X-Ray daemon (EnableTracing)",
}

# An error meaning the named resource does not exist: a call on a name that is not the
# stack's, refused by IAM on AWS, also failed here, so nothing depends on it succeeding.
NOT_FOUND = {
    ("dynamodb", "ResourceNotFoundException"),
    ("ssm", "ParameterNotFound"),
    ("cloudformation", "ValidationError"),
    ("kms", "NotFoundException"),
}

_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
# Operations IAM authorizes on "*" (they name no resource), and ones it does not check.
_STAR = {
    "ListTables",
    "DescribeLimits",
    "DescribeEndpoints",
    "DescribeParameters",
    "ListStacks",
    "CreateKey",
    "ListKeys",
    "ListAliases",
}
_UNCHECKED = {("sts", "GetCallerIdentity")}
_DEFAULT_SSM_KEY = "alias/aws/ssm"


# --- who ------------------------------------------------------------------------------------
def cli_command(argv):
    """The admin CLI's command: its first argument that is neither an option nor the value
    of --stack or --output."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--stack", "--output"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def principal_of(line):
    caller = line.get("caller") or {}
    exe = caller.get("exe")
    name = exe if exe in PRINCIPALS else line.get("app") if line.get("app") in PRINCIPALS else None
    if name == CLI and cli_command(caller.get("argv") or []) == "init":
        return CLI_INIT
    if line.get("app") in DIRECTORY_RUNS:
        return line["app"] + " (a directory's deployment; not judged here)"
    if name:
        return name
    if line.get("sdk") != "aws-sdk-rust":
        return HARNESS
    if exe and re.fullmatch(r".+-[0-9a-f]{16}", exe):
        return CARGO_TEST
    return UNATTRIBUTED


# --- what -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ask:
    """One request IAM authorizes: an action on a resource of some kind, named locally."""

    action: str
    kind: str  # table, index, parameter, stack, key, any
    name: str
    index: str = None
    context: tuple = ()  # ((condition key, value), ...)


def asks(line, keys=None):
    """The requests IAM authorizes for one recorded call. `keys` (parameter name -> KMS
    key) carries what PutParameters named from one call to the next."""
    keys = {} if keys is None else keys
    service, op, req = line.get("service"), line.get("op"), line.get("request") or {}
    if not service or not op or (service, op) in _UNCHECKED:
        return []
    base = (("aws:RequestedRegion", line.get("region") or REGION),)
    action = f"{service}:{op}"
    if op in _STAR:
        return [Ask(action, "any", "*", context=base)]
    if service == "dynamodb":
        if op in ("TransactWriteItems", "TransactGetItems"):
            return [
                Ask(f"dynamodb:{_TRANSACT[kind]}", "table", table, context=base)
                for kind, table in req.get("TransactItems", [])
            ]
        if op in ("BatchGetItem", "BatchWriteItem"):
            return [Ask(action, "table", t, context=base) for t in req.get("RequestItems", [])]
        context = base + tuple(
            (f"dynamodb:{k}", req[k])
            for k in ("Select", "ReturnValues", "ReturnConsumedCapacity")
            if k in req
        )
        if "Attributes" in req:
            context += (("dynamodb:Attributes", tuple(req["Attributes"])),)
        if req.get("IndexName"):
            return [Ask(action, "index", req.get("TableName"), req["IndexName"], context)]
        return [Ask(action, "table", req.get("TableName"), context=context)]
    if service == "ssm":
        names = req.get("Names") or [req.get("Name") or req.get("Path")]
        found = [Ask(action, "parameter", n, context=base) for n in names if n]
        via = (*base, ("kms:ViaService", f"ssm.{line.get('region') or REGION}.amazonaws.com"))
        if op == "PutParameter" and req.get("Name"):
            if req.get("Type") == "SecureString" or req.get("KeyId"):
                keys[req["Name"]] = req.get("KeyId") or _DEFAULT_SSM_KEY
            if req.get("Type") == "SecureString":
                found.append(Ask("kms:Encrypt", "key", keys[req["Name"]], context=via))
        if "SecureString" in (line.get("parameter_type") or []) and req.get("WithDecryption"):
            found += [
                Ask("kms:Decrypt", "key", keys.get(n, _DEFAULT_SSM_KEY), context=via)
                for n in names
                if n
            ]
        return found
    if service == "cloudformation":
        stack = req.get("StackName")
        return [
            Ask(action, "stack", stack, context=base)
            if stack
            else Ask(action, "any", "*", context=base)
        ]
    if service == "kms":
        return [Ask(action, "key", req.get("KeyId") or "*", context=base)]
    return [Ask(action, "any", "*", context=base)]


# --- where ----------------------------------------------------------------------------------
def suffix(local_name):
    """What follows the project's name in a local name: `-users`, `/client-whitelist`."""
    if PROJECT not in local_name:
        raise ValueError(f"local name {local_name!r} does not contain {PROJECT!r}")
    return local_name.split(PROJECT, 1)[1]


class Names:
    """Local names to the template's ARNs. `entries`: the project's list (role, kind,
    local_name); `arns`: {role: the template's ARN for it}; `stack`: the template's stack
    name."""

    KINDS = {"table": "table", "index": "table", "parameter": "parameter", "key": "kms_key"}

    def __init__(self, entries, arns, stack, account=ACCOUNT, region=REGION):
        self.arns, self.stack, self.account, self.region = arns, stack, account, region
        self.suffixes = sorted(
            (
                (suffix(e["local_name"]), e["role"], e["kind"])
                for e in entries
                if e.get("local_name")
            ),
            key=lambda s: -len(s[0]),
        )
        self.key_role = next((e["role"] for e in entries if e["kind"] == "kms_key"), None)

    def role(self, kind, name):
        if kind == "key":
            return self.key_role if self.key_role in self.arns else None
        wanted = self.KINDS.get(kind)
        for end, role, entry_kind in self.suffixes:
            if entry_kind == wanted and name.endswith(end):
                return role if role in self.arns else None
        return None

    def foreign(self, kind, name, index=None):
        arn = f"arn:aws:%s:{self.region}:{self.account}:%s"
        if kind in ("table", "index"):
            table = arn % ("dynamodb", f"table/{name}")
            return table + (f"/index/{index}" if kind == "index" else "")
        if kind == "parameter":
            return arn % ("ssm", "parameter" + (name if name.startswith("/") else "/" + name))
        if kind == "stack":
            return arn % ("cloudformation", f"stack/{name}/00000000-0000-0000-0000-000000000000")
        if kind == "key":
            if name.startswith("arn:"):
                return name
            return arn % ("kms", name if name.startswith("alias/") else f"key/{name}")
        return "*"

    def arn(self, ask, failed=None):
        """(ARN, role or None): the template's resource for what the call named locally."""
        if ask.kind == "any":
            return "*", None
        if ask.kind == "stack":
            # Any stack the CLI is pointed at stands for the template's, unless it is not
            # there at all (DescribeStacks answers ValidationError "... does not exist").
            if failed == "ValidationError":
                return self.foreign("stack", ask.name), None
            return self.foreign("stack", self.stack), "stack"
        role = self.role(ask.kind, ask.name or "")
        if role is None:
            return self.foreign(ask.kind, ask.name or "?", ask.index), None
        arn = self.arns[role]
        return (arn + f"/index/{ask.index}" if ask.kind == "index" else arn), role


# --- the whole record -----------------------------------------------------------------------
def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass
class Call:
    """Every recorded request of one principal for one action on one template resource."""

    principal: str
    action: str
    arn: str
    role: str
    decision: Decision
    context: tuple = ()
    count: int = 0
    failed: Counter = field(default_factory=Counter)  # (service, error) -> n
    names: set = field(default_factory=set)

    def harmless(self):
        """Refused, but on a resource not of the stack that did not exist here either."""
        return (
            self.role is None
            and self.decision.allowed is False
            and sum(self.failed.values()) == self.count
            and all(f in NOT_FOUND for f in self.failed)
        )


class Evaluation:
    """The recorded calls of `lines` judged against `policies` ({principal: [Statement]})
    with `names`; `shown` ({ARN pattern: short name}) only shortens the report."""

    def __init__(self, lines, policies, names, shown=None):
        self.policies, self.names, self.shown = policies, names, shown or {}
        self.calls = {}
        self.others = defaultdict(Counter)
        self.lines = Counter()
        keys = {}
        # A request's attribute names differ from one code path to the next: kept only for
        # a principal some of whose statements read them, so elsewhere one action on one
        # resource stays one row of the report.
        reads_attributes = {
            p: "dynamodb:attributes" in keys_read(policy) for p, policy in policies.items()
        }
        for line in lines:
            principal = principal_of(line)
            self.lines[principal] += 1
            found = asks(line, keys)
            if principal not in policies:
                for ask in found:
                    self.others[principal][ask.action] += 1
                continue
            error = line.get("error")
            for ask in found:
                if not reads_attributes[principal]:
                    ask = replace(
                        ask, context=tuple(c for c in ask.context if c[0] != "dynamodb:Attributes")
                    )
                arn, role = names.arn(ask, error)
                key = (principal, ask.action, arn, ask.context)
                call = self.calls.get(key)
                if call is None:
                    call = self.calls[key] = Call(
                        principal,
                        ask.action,
                        arn,
                        role,
                        decide(policies[principal], ask.action, arn, ask.context),
                        ask.context,
                    )
                call.count += 1
                call.names.add(ask.name if ask.kind != "index" else f"{ask.name}/{ask.index}")
                if error:
                    call.failed[line.get("service"), error] += 1

    # -- verdicts --
    def denied(self):
        return [c for c in self.calls.values() if c.decision.allowed is False and not c.harmless()]

    def unknown(self):
        return [c for c in self.calls.values() if c.decision.allowed is None]

    def harmless(self):
        return [c for c in self.calls.values() if c.harmless()]

    def used(self):
        return {label for c in self.calls.values() for label in c.decision.by}

    def lambda_own(self, s):
        return bool(s.actions) and all(a in LAMBDA_OWN for a in s.actions)

    def unused(self, principal):
        used = self.used()
        return [
            s
            for s in self.policies[principal]
            if s.effect == "Allow" and s.label not in used and not self.lambda_own(s)
        ]

    def unused_grants(self, principal):
        """(statement, action, resource) of used statements that no allowed call needed."""
        allowed = [
            c for c in self.calls.values() if c.principal == principal and c.decision.allowed
        ]
        used, found = self.used(), []
        for s in self.policies[principal]:
            if s.effect != "Allow" or self.lambda_own(s) or s.label not in used:
                continue
            for a in s.actions:
                for r in s.resources:
                    if not any(
                        wildcard(a, c.action, True)
                        and wildcard(r, c.arn)
                        and s.label in c.decision.by
                        for c in allowed
                    ):
                        found.append((s, a, r))
        return found

    # -- the report --
    def short(self, arn):
        for full, name in sorted(self.shown.items(), key=lambda kv: -len(kv[0])):
            if arn.startswith(full):
                return name + arn[len(full) :]
        return arn

    def describe(self, s):
        resources = ", ".join(self.short(r) for r in (s.resources or ["NotResource"]))
        actions = ", ".join(s.actions) if s.not_actions is None else "NotAction"
        more = f" if {json.dumps(s.condition)}" if s.condition else ""
        return f"{s.label}: {actions} on {resources}{more}"

    def summary_rows(self):
        rows = []
        for p in self.policies:
            mine = [c for c in self.calls.values() if c.principal == p]
            allows = [s for s in self.policies[p] if s.effect == "Allow"]
            own = [s for s in allows if self.lambda_own(s)]
            unused = self.unused(p)
            rows.append(
                (
                    p,
                    f"{sum(c.count for c in mine)} requests ({len(mine)} distinct)"
                    f" in {self.lines[p]} calls",
                    f"{len(allows)}" + (f" ({len(own)} Lambda's own)" if own else ""),
                    "; ".join(s.label for s in unused) or "none",
                )
            )
        return rows

    def markdown(self, title):
        out = [
            f"# {title}",
            "",
            "| principal | calls seen | statements | unused statements |",
            "|---|---|---|---|",
        ]
        out += [f"| {' | '.join(row)} |" for row in self.summary_rows()]
        out += [
            "",
            "## Each request, with the statement that allows it",
            "",
            "| principal | action | resource | local names | requests | failed here | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in sorted(self.calls.values(), key=lambda c: (c.principal, c.action, c.arn)):
            names = sorted(c.names)
            shown = ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")
            failed = ", ".join(f"{e} x{n}" for (_, e), n in sorted(c.failed.items())) or "-"
            verdict = (
                "allowed by " + ", ".join(c.decision.by)
                if c.decision.allowed
                else "refused, harmlessly (not the stack's; not found here either)"
                if c.harmless()
                else "UNKNOWN: " + "; ".join(c.decision.unknown)
                if c.decision.allowed is None
                else "DENIED by " + ", ".join(c.decision.denied_by)
                if c.decision.denied_by
                else "DENIED (no statement allows it)"
            )
            keys = "".join(f" ({k}={v})" for k, v in c.context if k != "aws:RequestedRegion")
            out.append(
                f"| {c.principal} | {c.action} | {self.short(c.arn)}{keys} | {shown} | "
                f"{c.count} | {failed} | {verdict} |"
            )
        out += [
            "",
            "## The statements",
            "",
            "| principal | statement | requests it allowed |",
            "|---|---|---|",
        ]
        for p, policy in self.policies.items():
            for s in policy:
                n = sum(c.count for c in self.calls.values() if s.label in c.decision.by)
                note = (
                    f" (not made by the code: {LAMBDA_OWN[s.actions[0]]})"
                    if self.lambda_own(s)
                    else ""
                )
                out.append(f"| {p} | {self.describe(s)} | {n or 'UNUSED'}{note} |")
        spare = [(p, g) for p in self.policies for g in self.unused_grants(p)]
        if spare:
            out += [
                "",
                "## Grants of used statements that no request needed",
                "",
                "| principal | statement | action | resource |",
                "|---|---|---|---|",
            ]
            out += [f"| {p} | {s.label} | {a} | {self.short(r)} |" for p, (s, a, r) in spare]
        out += [
            "",
            "## Callers that are no principal of the template (not evaluated)",
            "",
            "| caller | calls | requests by action |",
            "|---|---|---|",
        ]
        for who, actions in sorted(self.others.items()):
            top = ", ".join(f"{a} x{n}" for a, n in actions.most_common(8))
            more = f" (+{len(actions) - 8} more)" if len(actions) > 8 else ""
            out.append(f"| {who} | {self.lines[who]} | {top}{more} |")
        return "\n".join(out) + "\n"
