"""Least privilege, proven by enforcement: each function and the admin CLI run with the
credentials of an IAM user holding exactly the actions of its role in template.yaml (read
from the template, Resource "*"), against a moto of its own that checks IAM
(iam/stack.py). Every flow passes; and without any one of those actions some flow fails,
so none is spare.

moto checks actions, not resources (every DynamoDB request is checked against Resource
"*"), so the users hold the role's actions on "*": which table an action is needed on is
not proven here, only that the action is. A transaction's items are authorized as AWS
does by a gateway in front of moto (iam/gateway.py).

With all of its actions a principal must pass every flow and be refused nothing (one
test per principal). Without one, some flow must fail, and every failure must come from
the refusal of that action (one test per principal and action, read from the template).

The table of the results is printed and written to .local/iam-table.md when the module's
tests are done.
"""

import pytest

from iam.principals import PRINCIPALS
from iam.stack import enforcing_stack, signed_list_tables
from iam.table import Findings

# One test per principal, and one per principal and action it holds, from template.yaml.
EACH_PRINCIPAL = [pytest.param(p, id=p.label) for p in PRINCIPALS]
EACH_ACTION = [
    pytest.param(p, action, id=f"{p.label}-{action}") for p in PRINCIPALS for action in p.exercised
]


@pytest.fixture(scope="module")
def stack():
    with enforcing_stack() as started:
        yield started


@pytest.fixture(scope="module")
def findings(stack):
    found = Findings()
    yield found
    found.publish(PRINCIPALS, stack)


def test_enforcement_is_on(stack):
    """Without this the other tests would prove nothing: an unknown key, a user without a
    policy and a user without the action are refused; the admin is not."""
    admin = stack.admin.ddb._request_signer._credentials
    assert signed_list_tables(stack.endpoint, admin.access_key, admin.secret_key)[0] == 200
    for actions in ([], ["dynamodb:GetItem"]):
        status, body = signed_list_tables(stack.endpoint, *stack.admin.principal("probe", actions))
        assert status == 403 and "not authorized to perform: dynamodb:ListTables" in body, body
    status, body = signed_list_tables(stack.endpoint, "AKIAUNKNOWNKEY0000001", "x")
    assert status == 403 and "security token included in the request is invalid" in body, body


@pytest.mark.parametrize("principal", EACH_PRINCIPAL)
def test_every_flow_passes_with_all_its_actions(stack, findings, principal):
    """With all of its actions the principal passes every flow and is refused nothing."""
    # An action granted only under a condition must be exercised under it.
    assert not principal.conditional(), "\n".join(
        f"{principal.resource} grants {action} under {conditions}: exercise it here or say "
        "in NOT_EXERCISED why not"
        for action, conditions in principal.conditional().items()
    )
    every = principal.run(stack, principal.exercised, "all")
    findings.every[principal.label] = every
    problems = [
        f"{principal} with every action of {principal.resource}: {flow} "
        f"{outcome.why or 'passed'}, refused {outcome.refused or '-'}"
        for flow, outcome in every.items()
        if outcome.why or outcome.refused
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("principal", "action"), EACH_ACTION)
def test_some_flow_fails_without(stack, findings, principal, action):
    """Without this action some flow fails (it is not spare), and each failure comes from
    the refusal of that action, with nothing else refused."""
    results = principal.run(stack, [a for a in principal.exercised if a != action], "minus")
    failing = {flow: outcome for flow, outcome in results.items() if outcome.why}
    findings.without[principal.label, action] = failing
    problems = [] if failing else [f"{principal}: {action} is spare (every flow passes without it)"]
    for flow, outcome in results.items():
        # A failure is the removal's doing, and nothing else was refused.
        if outcome.why and not outcome.caused_by(action):
            problems.append(
                f"{principal} without {action}: {flow} failed ({outcome.why}) "
                f"but the refusals were {outcome.refused or 'none'}"
            )
        if outcome.refused - {action}:
            problems.append(
                f"{principal} without {action}: {flow} was refused {outcome.refused - {action}}"
            )
    assert not problems, "\n".join(problems)
