"""The actions template.yaml grants a role or a managed policy, and the conditions each is
granted under: what the test's IAM users hold."""

import functools
import os

from cfnlint.decode import decode_str

from conftest import ROOT


@functools.cache
def _template():
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template, errors = decode_str(f.read())
    assert not errors, errors
    return template


def _branches(node, conditions=()):
    """(conditions, node) for each value `node` can take: both sides of an Fn::If (the
    false side as "!condition"), nothing for AWS::NoValue."""
    if isinstance(node, dict) and list(node) == ["Fn::If"]:
        condition, yes, no = node["Fn::If"]
        yield from _branches(yes, (*conditions, condition))
        yield from _branches(no, (*conditions, "!" + condition))
    elif isinstance(node, dict) and node == {"Ref": "AWS::NoValue"}:
        return
    else:
        yield conditions, node


def _documents(props):
    """(conditions, policy document) of a role's inline policies or a managed policy."""
    if "PolicyDocument" in props:
        yield (), props["PolicyDocument"]
    for policy in props.get("Policies", []):
        for conditions, p in _branches(policy):
            yield conditions, p["PolicyDocument"]


def granted(resource):
    """action -> the conditions it is granted under (empty: always), from a role's inline
    policies or a managed policy's document."""
    actions = {}
    for conditions, document in _documents(_template()["Resources"][resource]["Properties"]):
        for statement in document["Statement"]:
            for held_under, s in _branches(statement, conditions):
                assert s["Effect"] == "Allow", s
                listed = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                for action in listed:
                    actions.setdefault(action, []).append(set(held_under))
    # Granted always by one statement is granted always, whatever another adds under a
    # condition (a directory's PutItem on the users table beside the codes table's).
    return {a: set() if not all(c) else set().union(*c) for a, c in actions.items()}
