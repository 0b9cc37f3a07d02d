"""IAM by evaluation, the evaluator itself (tests/support/iam_decide.py, tests/support/iam_eval.py,
iam_policies.py): IAM's matching and conditions, how a recorded call becomes the requests
IAM authorizes, how local names map to the template's resources, and, on template.yaml
itself, that a recording of what each principal does is allowed with every statement
used, while a wrong table ARN planted in a copy of the template, or a statement no call
uses, is reported. Pure Python: no stack, no AWS."""

import functools
import json

import pytest

import iam_decide
import iam_eval
import iam_policies
from iam_decide import Statement, condition_holds, decide, wildcard
from iam_eval import AUTHORIZE_APP, CLI, TOKEN_AUTHORIZER, Ask, Names, asks, principal_of
from test_resources import listed, template_text

T = "arn:aws:dynamodb:us-east-1:123456789012:table/"


def allow(action, resource, condition=None, effect="Allow", label="s"):
    return Statement.of(
        label,
        {
            "Effect": effect,
            "Action": action,
            "Resource": resource,
            **({"Condition": condition} if condition else {}),
        },
    )


# --- IAM's matching ---------------------------------------------------------------------------
def test_wildcards_match_as_iam_does():
    assert wildcard("dynamodb:*", "dynamodb:GetItem")
    assert wildcard(T + "x/index/*", T + "x/index/by-username")
    assert not wildcard(T + "x/index/*", T + "x")
    assert wildcard(T + "u?ers", T + "users") and not wildcard(T + "u?ers", T + "uusers")
    assert not wildcard(T + "Users", T + "users"), "resources are case-sensitive"
    assert decide([allow("DynamoDB:getitem", T + "t")], "dynamodb:GetItem", T + "t").allowed


def test_an_explicit_deny_wins_and_not_action_not_resource_are_complements():
    policy = [
        allow("dynamodb:*", "*", label="all"),
        allow("dynamodb:DeleteItem", T + "t", effect="Deny", label="no"),
    ]
    d = decide(policy, "dynamodb:DeleteItem", T + "t")
    assert d.allowed is False and d.denied_by == ["no"] and d.by == ["all"]
    assert decide(policy, "dynamodb:DeleteItem", T + "other").allowed
    na = Statement.of(
        "na", {"Effect": "Allow", "NotAction": "dynamodb:Scan", "NotResource": T + "a"}
    )
    assert na.action_matches("dynamodb:GetItem") and not na.action_matches("dynamodb:Scan")
    assert na.resource_matches(T + "b") and not na.resource_matches(T + "a")
    assert decide([], "dynamodb:GetItem", T + "t").allowed is False


def test_conditions_it_can_evaluate():
    via = {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}}
    assert condition_holds(via, (("kms:ViaService", "ssm.us-east-1.amazonaws.com"),))
    assert not condition_holds(via, ()), "a key absent from the request does not match"
    assert condition_holds({"StringEqualsIfExists": via["StringEquals"]}, ())
    assert condition_holds({"StringNotEquals": {"kms:ViaService": "x"}}, ())
    assert condition_holds({"Null": {"dynamodb:Select": "true"}}, ())
    assert not condition_holds({"Null": {"dynamodb:Select": "false"}}, ())
    assert condition_holds(
        {"StringLike": {"aws:RequestedRegion": "us-*"}}, (("aws:RequestedRegion", "us-east-1"),)
    )
    assert condition_holds({"ForAllValues:StringEquals": {"dynamodb:Select": ["COUNT"]}}, ())


def test_attribute_names_are_a_multivalued_key_recorded_for_one_table_s_requests():
    only = {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["token_id", "last_used_at"]}}
    named = (("dynamodb:Attributes", ("last_used_at", "token_id")),)
    assert condition_holds(only, named)
    assert not condition_holds(only, (("dynamodb:Attributes", ("revoked_at", "token_id")),))
    assert condition_holds(only, (("dynamodb:Attributes", ()),)), "none named: IAM's rule"
    assert not condition_holds(
        {"ForAnyValue:StringEquals": {"dynamodb:Attributes": ["x"]}}, (("dynamodb:Attributes", ()),)
    )
    # A transaction's or a batch's items carry no names in the record: unknown, not absent
    # (AWS always has the item's key among them).
    with pytest.raises(iam_decide.Unevaluable, match="not recorded"):
        condition_holds(only, ())


def test_a_condition_it_cannot_evaluate_is_unknown_never_allowed():
    leading = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:userid}"]}}
    with pytest.raises(iam_decide.Unevaluable, match="dynamodb:LeadingKeys"):
        condition_holds(leading, ())
    d = decide([allow("dynamodb:GetItem", T + "t", leading)], "dynamodb:GetItem", T + "t")
    assert d.allowed is None and "dynamodb:LeadingKeys" in d.unknown[0]
    both = [allow("dynamodb:GetItem", T + "t", leading), allow("dynamodb:GetItem", T + "t")]
    assert decide(both, "dynamodb:GetItem", T + "t").allowed


# --- from a recorded call to the requests IAM authorizes ---------------------------------------
def rec(op, service="dynamodb", who=AUTHORIZE_APP, error=None, **request):
    caller = (
        {"exe": who}
        if who in iam_eval.PRINCIPALS
        else {"exe": who.split()[0], "argv": who.split()[1:]}
    )
    return {
        "service": service,
        "op": op,
        "region": "us-east-1",
        "sdk": "aws-sdk-rust",
        "caller": caller,
        "request": request,
        "status": 400 if error else 200,
        "error": error,
    }


def test_a_transaction_is_authorized_item_by_item_and_a_batch_table_by_table():
    tx = rec(
        "TransactWriteItems",
        TransactItems=[
            ["Put", "a-tokens"],
            ["Put", "a-user-tokens"],
            ["ConditionCheck", "a-users"],
        ],
    )
    assert [(a.action, a.name) for a in asks(tx)] == [
        ("dynamodb:PutItem", "a-tokens"),
        ("dynamodb:PutItem", "a-user-tokens"),
        ("dynamodb:ConditionCheckItem", "a-users"),
    ]
    got = asks(rec("TransactGetItems", TransactItems=[["Get", "a-tokens"]]))
    assert [(a.action, a.name) for a in got] == [("dynamodb:GetItem", "a-tokens")]
    batch = asks(rec("BatchGetItem", RequestItems=["a-applications", "a-users"]))
    assert [(a.action, a.name) for a in batch] == [
        ("dynamodb:BatchGetItem", "a-applications"),
        ("dynamodb:BatchGetItem", "a-users"),
    ]
    (q,) = asks(rec("Query", TableName="a-tokens", IndexName="by-username", Select="COUNT"))
    assert (q.kind, q.index, dict(q.context)["dynamodb:Select"]) == (
        "index",
        "by-username",
        "COUNT",
    )
    assert asks(rec("ListTables"))[0].kind == "any"
    assert asks(rec("GetCallerIdentity", service="sts")) == []


def test_ssm_and_the_kms_calls_ssm_makes_for_the_caller():
    (get,) = asks(rec("GetParameter", "ssm", Name="/p/client-whitelist"))
    assert (get.action, get.kind, get.name) == (
        "ssm:GetParameter",
        "parameter",
        "/p/client-whitelist",
    )
    keys = {}
    put = asks(rec("PutParameter", "ssm", Name="/s", Type="SecureString", KeyId="k1"), keys)
    assert [(a.action, a.name) for a in put] == [("ssm:PutParameter", "/s"), ("kms:Encrypt", "k1")]
    assert ("kms:ViaService", "ssm.us-east-1.amazonaws.com") in put[1].context
    read = dict(
        rec("GetParameter", "ssm", Name="/s", WithDecryption=True), parameter_type=["SecureString"]
    )
    assert [(a.action, a.name) for a in asks(read, keys)][1] == ("kms:Decrypt", "k1")
    (stack,) = asks(rec("DescribeStacks", "cloudformation", who=CLI, StackName="st"))
    assert (stack.action, stack.kind) == ("cloudformation:DescribeStacks", "stack")


def test_who_made_a_call():
    assert principal_of(rec("GetItem")) == AUTHORIZE_APP
    assert principal_of(rec("GetItem", who="direct-oauth-admin --stack init user add x")) == CLI
    assert principal_of(rec("GetItem", who="direct-oauth-admin user add init")) == CLI
    assert (
        principal_of(rec("CreateTable", who="direct-oauth-admin --output json init"))
        == iam_eval.CLI_INIT
    )
    relayed = {
        "service": "dynamodb",
        "op": "GetItem",
        "sdk": "aws-sdk-rust",
        "caller": {"exe": "python3.12"},
        "app": TOKEN_AUTHORIZER,
    }
    assert principal_of(relayed) == TOKEN_AUTHORIZER
    assert principal_of(dict(relayed, app=None)) == iam_eval.UNATTRIBUTED
    assert principal_of(dict(relayed, app=None, sdk="Boto3")) == iam_eval.HARNESS
    assert principal_of(dict(relayed, app=None, sdk=None)) == iam_eval.HARNESS
    assert (
        principal_of(dict(relayed, app=None, caller={"exe": "it-0123456789abcdef"}))
        == iam_eval.CARGO_TEST
    )


# --- local names to the template's ------------------------------------------------------------
@functools.cache
def entries():
    return listed()


@functools.cache
def default():
    return iam_policies.deployment()


def names():
    return Names(entries(), iam_policies.arns(default()[1], entries()), "direct-oauth-test")


def test_local_names_map_to_the_template_by_role():
    n = names()
    stack = "arn:aws:dynamodb:us-east-1:123456789012:table/direct-oauth-test-"
    for local, table in [
        ("direct-oauth-users", "UsersTable"),
        ("conc-1a2b3c4d-user-tokens", "UserTokensTable"),
        ("direct-oauth-tokens", "TokensTable"),
        ("iam-0a1b2c-bcrypt-users", "UsersTable"),
        ("fl-9f8e-failed-logins", "FailedLoginsTable"),
        ("direct-oauth-refresh-tokens", "RefreshTokensTable"),
        ("rt-5e6f-refresh-tokens", "RefreshTokensTable"),
    ]:
        assert n.arn(Ask("dynamodb:GetItem", "table", local)) == (
            stack + table,
            n.role("table", local),
        ), local
    index = n.arn(Ask("dynamodb:Query", "index", "x-tokens", "by-username"))[0]
    assert index == stack + "TokensTable/index/by-username"
    parameter = "arn:aws:ssm:us-east-1:123456789012:parameter/direct-oauth-test/client-whitelist"
    assert n.arn(Ask("ssm:GetParameter", "parameter", "/stack-1a/client-whitelist"))[0] == parameter
    other = n.arn(Ask("dynamodb:GetItem", "table", "moto-check-1"))
    assert other == ("arn:aws:dynamodb:us-east-1:123456789012:table/moto-check-1", None)
    found = n.arn(Ask("cloudformation:DescribeStacks", "stack", "stack-1a"))
    assert found[0].startswith(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/direct-oauth-test/"
    )
    refused = n.arn(Ask("cloudformation:DescribeStacks", "stack", "stack-1a"), "AccessDenied")
    assert refused == found, "refused here, still the stack"
    missing = n.arn(Ask("cloudformation:DescribeStacks", "stack", "no-such-1"), "ValidationError")
    assert "stack/no-such-1/" in missing[0] and missing[1] is None
    assert n.arn(Ask("kms:Decrypt", "key", "k1"))[1] is None, "the default stack has no key"


# --- on template.yaml -------------------------------------------------------------------------
def last_use(**request):
    """The authorizer's write of an API token's last use, as the record holds it."""
    fields = dict(TableName="direct-oauth-tokens", Attributes=["last_used_at", "token_id"])
    return rec("UpdateItem", who=TOKEN_AUTHORIZER, **dict(fields, **request))


def refresh_calls(who=AUTHORIZE_APP):
    """A refresh token family's calls: its start or rotation (the access token's
    transaction with the family's conditional Put and its entry), a refresh's read of it,
    and a reuse's revocation (the family's UpdateItem, then its access tokens')."""
    return [
        rec(
            "TransactWriteItems",
            who=who,
            TransactItems=[
                ["Put", "direct-oauth-tokens"],
                ["Put", "direct-oauth-user-tokens"],
                ["ConditionCheck", "direct-oauth-users"],
                ["Put", "direct-oauth-refresh-tokens"],
                ["Put", "direct-oauth-user-tokens"],
            ],
        ),
        rec("GetItem", who=who, TableName="direct-oauth-refresh-tokens"),
        rec("UpdateItem", who=who, TableName="direct-oauth-refresh-tokens", ReturnValues="ALL_NEW"),
        rec("UpdateItem", who=who, TableName="direct-oauth-tokens"),
    ]


def what_each_principal_does():
    """A recording of what the e2e suite makes each principal do (tests/e2e/test_zz_iam_
    by_evaluation.py checks the real one)."""
    a, cli = AUTHORIZE_APP, CLI
    return [
        rec("BatchGetItem", RequestItems=["direct-oauth-applications", "direct-oauth-users"]),
        rec("BatchGetItem", RequestItems=["direct-oauth-applications", "direct-oauth-tokens"]),
        rec(
            "TransactWriteItems",
            TransactItems=[
                ["Put", "direct-oauth-tokens"],
                ["Put", "direct-oauth-user-tokens"],
                ["Update", "direct-oauth-users"],
            ],
        ),
        rec("TransactWriteItems", TransactItems=[["ConditionCheck", "conc-1-users"]]),
        *[rec(op, TableName="direct-oauth-codes") for op in ("PutItem", "UpdateItem", "GetItem")],
        *[rec(op, TableName="direct-oauth-dpop-proofs") for op in ("PutItem", "GetItem")],
        # The pages' sessions: sign-in, a page, a use, sign-out.
        *[
            rec(op, TableName="direct-oauth-sessions")
            for op in ("PutItem", "GetItem", "UpdateItem", "DeleteItem")
        ],
        # The DPoP nonces' secret (a marker item of the users table).
        rec("GetItem", TableName="direct-oauth-users"),
        # A person's authorized applications (consent, API tokens) beside their token
        # entries, and the applications the Tokens page lists.
        *[
            rec(op, TableName="direct-oauth-user-tokens")
            for op in ("GetItem", "UpdateItem", "DeleteItem", "Query")
        ],
        rec("Scan", TableName="direct-oauth-applications"),
        *[rec(op, TableName="direct-oauth-tokens") for op in ("GetItem", "UpdateItem")],
        rec("UpdateItem", TableName="direct-oauth-failed-logins"),
        *refresh_calls(),
        rec("GetParameter", "ssm", who=a, Name="/direct-oauth/client-whitelist"),
        rec("GetItem", who=TOKEN_AUTHORIZER, TableName="direct-oauth-tokens"),
        rec(
            "BatchGetItem",
            who=TOKEN_AUTHORIZER,
            RequestItems=["direct-oauth-users", "direct-oauth-applications"],
        ),
        # A DPoP proof's jti, spent.
        rec("PutItem", who=TOKEN_AUTHORIZER, TableName="direct-oauth-dpop-proofs"),
        # An API token's last use.
        last_use(),
        rec("DescribeStacks", "cloudformation", who=cli, StackName="stack-1"),
        *[
            rec(op, who=cli, TableName="direct-oauth-users")
            for op in ("PutItem", "GetItem", "UpdateItem", "Scan", "DeleteItem")
        ],
        *[
            rec(op, who=cli, TableName="direct-oauth-applications")
            for op in ("PutItem", "GetItem", "DeleteItem", "Scan", "UpdateItem")
        ],
        *[rec(op, who=cli, TableName="direct-oauth-tokens") for op in ("GetItem", "UpdateItem")],
        rec(
            "BatchGetItem",
            who=cli,
            RequestItems=["direct-oauth-users", "direct-oauth-applications"],
        ),
        rec("Query", who=cli, TableName="direct-oauth-tokens", IndexName="by-username"),
        rec("Query", who=cli, TableName="direct-oauth-user-tokens"),
        # token create: the person's authorization item, then the token's transaction; at
        # the application's cap, the counted tokens.
        rec("GetItem", who=cli, TableName="direct-oauth-user-tokens"),
        rec(
            "TransactWriteItems",
            who=cli,
            TransactItems=[
                ["Put", "direct-oauth-tokens"],
                ["Put", "direct-oauth-user-tokens"],
                ["ConditionCheck", "direct-oauth-users"],
                ["Update", "direct-oauth-user-tokens"],
            ],
        ),
        rec("BatchGetItem", who=cli, RequestItems=["direct-oauth-tokens"]),
        *[
            rec(op, "ssm", who=cli, Name="/direct-oauth/client-whitelist")
            for op in ("GetParameter", "PutParameter")
        ],
        rec("CreateTable", who="direct-oauth-admin init", TableName="direct-oauth-users"),
        dict(rec("Scan", TableName="direct-oauth-users"), sdk="Boto3", caller=None),
    ]


def evaluate(lines, source=None):
    return iam_policies.evaluation(lines, entries(), source)[0]


def test_what_each_principal_does_is_allowed_with_every_statement_used():
    ev = evaluate(what_each_principal_does())
    assert not ev.denied() and not ev.unknown(), ev.markdown("x")
    assert {p: [s.label for s in ev.unused(p)] for p in ev.policies} == {
        AUTHORIZE_APP: [],
        TOKEN_AUTHORIZER: [],
        CLI: [],
    }
    text = ev.markdown("IAM by evaluation")
    assert (
        "| token-authorizer | 5 requests (5 distinct) in 4 calls | 5 (1 Lambda's own) | none |"
        in text
    ), text
    assert iam_eval.CLI_INIT in text and iam_eval.HARNESS in text, "counted, not evaluated"


def plant(old, new):
    text = template_text()
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_a_role_naming_the_wrong_table_is_found():
    source = plant(
        "Action: dynamodb:GetItem\n                Resource: !GetAtt TokensTable.Arn",
        "Action: dynamodb:GetItem\n                Resource: !GetAtt UsersTable.Arn",
    )
    ev = evaluate(what_each_principal_does(), source)
    (denied,) = ev.denied()
    assert (denied.principal, denied.action, denied.arn) == (
        TOKEN_AUTHORIZER,
        "dynamodb:GetItem",
        T + "direct-oauth-test-TokensTable",
    )
    assert [s.label for s in ev.unused(TOKEN_AUTHORIZER)] == ["TokenAuthorizerRole/tokens[0]"]
    assert (
        "| token-authorizer | dynamodb:GetItem | TokensTable | direct-oauth-tokens | 1 | - | "
        "DENIED (no statement allows it) |" in ev.markdown("x")
    )


def test_the_authorizer_may_write_a_token_s_last_use_and_nothing_else_of_it():
    """The authorizer's UpdateItem on the tokens table is allowed when it names the token's
    key and last_used_at only, and returns nothing; naming another attribute (un-revoking,
    say), asking for the item back, or a record without the names is not allowed."""
    requests = {
        "last use": last_use(),
        "revoked_at too": last_use(Attributes=["last_used_at", "revoked_at", "token_id"]),
        "item asked back": last_use(ReturnValues="ALL_NEW"),
        "nothing back, said": last_use(ReturnValues="NONE"),
        "names unrecorded": rec("UpdateItem", who=TOKEN_AUTHORIZER, TableName="x-tokens"),
    }
    verdicts = {
        name: [c.decision.allowed for c in evaluate([line]).calls.values()]
        for name, line in requests.items()
    }
    assert verdicts == {
        "last use": [True],
        "revoked_at too": [False],
        "item asked back": [False],
        "nothing back, said": [True],
        "names unrecorded": [None],
    }
    # The function's role reads no names: its rows keep one per action and resource.
    both = [rec("GetItem", TableName="direct-oauth-tokens", Attributes=[n]) for n in "ab"]
    assert len(evaluate(both).calls) == 1


def test_a_mutated_resolved_policy_is_found():
    """The same without a template: the resolved OperatorPolicy's index statement moved to
    the table itself, which Query on an index does not match."""
    ev = evaluate(what_each_principal_does())
    index = next(s for s in ev.policies[CLI] if s.resources[0].endswith("/index/*"))
    index.resources = [index.resources[0].removesuffix("/index/*")]
    again = iam_eval.Evaluation(what_each_principal_does(), ev.policies, ev.names)
    assert [(c.action, c.arn) for c in again.denied()] == [
        ("dynamodb:Query", T + "direct-oauth-test-TokensTable/index/by-username")
    ]


def test_a_statement_no_call_uses_is_reported_but_lambdas_own_are_not():
    lines = [
        line
        for line in what_each_principal_does()
        if (line["request"].get("TableName") != "direct-oauth-failed-logins")
    ]
    ev = evaluate(lines)
    assert [s.label for s in ev.unused(AUTHORIZE_APP)] == ["AuthorizeAppRole/data[9]"]
    assert "AuthorizeAppRole/logs[0]" not in [s.label for s in ev.unused(AUTHORIZE_APP)]
    spare = {(s.label, a) for s, a, _ in ev.unused_grants(CLI)}
    assert spare == set(), spare
    fewer = [
        line
        for line in what_each_principal_does()
        if (line["caller"] or {}).get("exe") != CLI or line["op"] != "Scan"
    ]
    spare = {(s.label, a) for s, a, _ in evaluate(fewer).unused_grants(CLI)}
    assert spare == {("OperatorPolicy[1]", "dynamodb:Scan"), ("OperatorPolicy[2]", "dynamodb:Scan")}


def test_the_refresh_tokens_table_is_the_function_s_alone_and_no_family_is_deleted():
    """By evaluation on the deployed names: the function's family calls are allowed (and
    without them its refresh statement is unused); deleting, scanning or querying families
    is not; the token authorizer, which never reads a family, and the operators may do
    nothing there."""
    family = "direct-oauth-refresh-tokens"
    allowed = evaluate(refresh_calls())
    assert not allowed.denied() and not allowed.unknown(), allowed.markdown("x")
    without = [line for line in what_each_principal_does() if family not in json.dumps(line)]
    assert [s.label for s in evaluate(without).unused(AUTHORIZE_APP)] == [
        "AuthorizeAppRole/data[6]"
    ]
    refused = [
        *[rec(op, TableName=family) for op in ("DeleteItem", "Scan", "Query")],
        rec("BatchGetItem", RequestItems=[family]),
        rec("TransactWriteItems", TransactItems=[["Delete", family]]),
        *[
            rec(op, who=TOKEN_AUTHORIZER, TableName=family)
            for op in ("GetItem", "PutItem", "UpdateItem")
        ],
        rec("BatchGetItem", who=TOKEN_AUTHORIZER, RequestItems=[family]),
        *[rec(op, who=CLI, TableName=family) for op in ("GetItem", "UpdateItem", "Scan")],
    ]
    ev = evaluate(refused)
    assert not ev.unknown(), ev.markdown("x")
    denied = sorted((c.principal, c.action) for c in ev.denied())
    assert denied == sorted(
        [
            (AUTHORIZE_APP, "dynamodb:BatchGetItem"),
            (AUTHORIZE_APP, "dynamodb:DeleteItem"),
            (AUTHORIZE_APP, "dynamodb:Query"),
            (AUTHORIZE_APP, "dynamodb:Scan"),
            (TOKEN_AUTHORIZER, "dynamodb:BatchGetItem"),
            (TOKEN_AUTHORIZER, "dynamodb:GetItem"),
            (TOKEN_AUTHORIZER, "dynamodb:PutItem"),
            (TOKEN_AUTHORIZER, "dynamodb:UpdateItem"),
            (CLI, "dynamodb:GetItem"),
            (CLI, "dynamodb:Scan"),
            (CLI, "dynamodb:UpdateItem"),
        ]
    ), ev.markdown("x")
    assert all(c.arn == T + "direct-oauth-test-RefreshTokensTable" for c in ev.denied())


def test_a_call_on_a_foreign_resource_that_failed_here_too_is_harmless():
    missing = rec(
        "DescribeStacks", "cloudformation", who=CLI, error="ValidationError", StackName="no-such-1"
    )
    ev = evaluate([*what_each_principal_does(), missing])
    assert not ev.denied() and [c.arn.split("/")[1] for c in ev.harmless()] == ["no-such-1"]
    found_elsewhere = rec("GetItem", who=CLI, TableName="someone-elses")
    assert [c.arn for c in evaluate([found_elsewhere]).denied()] == [T + "someone-elses"]
