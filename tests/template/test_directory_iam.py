"""What each choice of directory lets the function do, in the deployment SAM's translator
makes of template.yaml: nothing more than the users table needs without one; with LDAP,
reading the bind password's parameter (and no other) and writing users' local records;
with Cognito, AdminInitiateAuth on the pool's ARN only. The e2e runs with a directory are
shown, not judged, by IAM by evaluation (its model is the default deployment): this is
where their statements are checked."""

import pytest

import iam_eval
import iam_policies
from deploy_checks import POLICY_NAMES
from deploy_model import ACCOUNT, REGION, SETTINGS, Deployment, condition_parameters


def grants(directory, principal=iam_eval.AUTHORIZE_APP):
    """{action: set of resources} of the principal's policy (the function's role by
    default) with `directory` chosen."""
    template = iam_policies.read_template()
    combo = {name: values[0] for name, values in condition_parameters(template).items()}
    combo["Directory"] = directory
    dep = Deployment(template, combo, POLICY_NAMES)
    assert not dep.refused, dep.refused
    found, _ = iam_policies.policies(template, dep)
    granted = {}
    for s in found[principal]:
        for action in s.actions:
            granted.setdefault(action, set()).update(s.resources)
    return granted, dep


USERS_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
POOL = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{SETTINGS['CognitoUserPoolId']}"
BIND = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{SETTINGS['LdapBindPasswordParameter']}"


@pytest.mark.parametrize("directory", ["ldap", "cognito"])
def test_a_directory_adds_only_what_it_calls(directory):
    plain, _ = grants("users")
    chosen, dep = grants(directory)
    users = dep.ev.getatt("UsersTable", "Arn")
    added = {a: r - plain.get(a, set()) for a, r in chosen.items()}
    added = {a: r for a, r in added.items() if r}
    # GetItem on the users table every deployment has (the DPoP nonces' secret), so a
    # directory adds the local records' PutItem (and their adoption's UpdateItem, also
    # granted to every deployment).
    expected = {"dynamodb:PutItem": {users}}
    if directory == "ldap":
        expected["ssm:GetParameter"] = {BIND}
    else:
        expected["cognito-idp:AdminInitiateAuth"] = {POOL}
    assert added == expected
    assert users.startswith(USERS_ARN)


def test_without_a_directory_nothing_of_one_is_granted():
    plain, _ = grants("users")
    assert not any(a.startswith("cognito-idp:") for a in plain)
    assert BIND not in plain.get("ssm:GetParameter", set())


def test_a_directory_needs_its_settings_before_anything_is_created():
    template = iam_policies.read_template()
    combo = {name: values[0] for name, values in condition_parameters(template).items()}
    for directory, missing in [
        ("ldap", "LdapBindPasswordParameter"),
        ("cognito", "CognitoUserPoolId"),
    ]:
        settings = dict(SETTINGS, **{missing: ""})
        dep = Deployment(template, dict(combo, Directory=directory, **settings), POLICY_NAMES)
        assert any(missing in r for r in dep.refused), (directory, dep.refused)


@pytest.mark.parametrize("directory", ["ldap", "cognito"])
def test_an_operator_may_run_user_sync_against_the_stack_s_directory_only(directory):
    """OperatorPolicy with a directory: what `user sync` reads of it (the bind password's
    parameter, or the pool's users), on that resource only; nothing of it without one."""
    plain, _ = grants("users", iam_eval.CLI)
    chosen, _ = grants(directory, iam_eval.CLI)
    added = {a: r - plain.get(a, set()) for a, r in chosen.items()}
    added = {a: r for a, r in added.items() if r}
    if directory == "ldap":
        assert added == {"ssm:GetParameter": {BIND}}
    else:
        assert added == {"cognito-idp:ListUsers": {POOL}}
    assert not any(a.startswith("cognito-idp:") for a in plain)
